;
$U ŞèÖGÎÑ-By1‹áuµS/ÖBÎbë×¸(i_ƒÃ‡attestation.jsonµ9
$U ßúˆ.YzŒûï&
–NÒé^öÕÔPÕî˜òh÷Å…ÿinference.pngû°
