/* Built by c-tests/pkgconfig/run.sh with nothing but the flags of
 * `pkg-config --cflags --libs libSaCkpt` from a staged install: the header
 * must be found, and the program must load the staged libSaCkpt.so.2. */
#define _GNU_SOURCE
#include <corosync/saAis.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

static int found;

static int find_ckpt(struct dl_phdr_info *info, size_t size, void *prefix)
{
    (void)size;
    if (strstr(info->dlpi_name, "/libSaCkpt.so.2") &&
        strncmp(info->dlpi_name, prefix, strlen(prefix)) == 0) {
        printf("loaded %s\n", info->dlpi_name);
        found = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    SaVersionT version = { 'B', 1, 1 };
    SaNameT name;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <stage-dir>\n", argv[0]);
        return 2;
    }
    memset(&name, 0, sizeof(name));
    name.length = 4;
    memcpy(name.value, "ckpt", 4);
    if (SA_AIS_OK != 1 || sizeof(name.value) != SA_MAX_NAME_LENGTH ||
        version.releaseCode != 'B') {
        fprintf(stderr, "unexpected saAis.h values\n");
        return 1;
    }
    dl_iterate_phdr(find_ckpt, argv[1]);
    if (!found) {
        fprintf(stderr, "libSaCkpt.so.2 was not loaded from %s\n", argv[1]);
        return 1;
    }
    printf("pkg-config test program: ok\n");
    return 0;
}
