\
$p âÎ™	R9Zádİb|Ùû˜şò£¸ck3a"KqòÁ“d031337-0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed²ß
