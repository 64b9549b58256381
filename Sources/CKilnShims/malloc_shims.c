// Kiln — Apache-2.0. See LICENSE.
// glibc's mallopt is a macro-heavy C API that Swift's Glibc module does not bring in.

#include "CKilnShims.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int CKilnShims_limit_malloc_arenas(int arenas) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, arenas) == 1 ? 1 : 0;
#else
    (void)arenas;
    return 0;
#endif
}
