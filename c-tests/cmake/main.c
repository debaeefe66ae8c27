/* Built by c-tests/cmake/run.sh through find_package(Ais) and Ais::SaCkpt;
 * the classic include style (the target adds <includedir>/corosync). */
#include <saAis.h>
#include <stdio.h>

int main(void)
{
    SaVersionT version = { 'B', 1, 1 };
    SaAisErrorT rc = SA_AIS_OK;

    if (rc != 1 || version.majorVersion != 1) {
        fprintf(stderr, "unexpected saAis.h values\n");
        return 1;
    }
    printf("cmake test program: ok\n");
    return 0;
}
