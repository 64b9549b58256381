// Debian: libjpeg-dev (libjpeg-turbo, libjpeg62 API). jpeglib.h needs stdio.h first.
#include <stdio.h>
#include <jpeglib.h>
