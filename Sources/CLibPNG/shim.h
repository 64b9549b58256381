// Debian: libpng-dev (libpng 1.6). Only CKilnShims calls libpng; see its header for why.
#include <png.h>
