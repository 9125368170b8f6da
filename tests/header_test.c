/* header_test.c — the public header compiles alone, as C99 and as C++ (twin). */
#include "marsreplay.h"
#include "marsreplay.h" /* include guard */

int main(void)
{
    /* the header and the library agree on the version */
    return mr_version() == (unsigned)MR_VERSION ? 0 : 1;
}
