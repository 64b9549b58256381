;
$U ¢ˆGJİg„¾IkK³.0éX:^VÏ‡ßĞC:e+Üattestation.json¸9
$U ¬Éff»Ã!ß¶c=¬ä±©Xä5çïnOÌ‡4rAB­inference.png¤
