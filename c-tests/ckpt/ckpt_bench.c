/*
 * Checkpoint write throughput: saCkptCheckpointWrite of one section, for
 * section sizes from 100 B to 64 KiB, one synchronous writer (each write
 * returns once it is applied in order on every node). Also reads.
 * Uses only <corosync/saCkpt.h> and -lSaCkpt.
 *
 *   ckpt_bench [seconds-per-size]     (default 1; COROSYNC_RUN_DIR selects
 *                                      the executive)
 *
 * Prints one line per size: writes/s, MB/s, reads/s.
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saCkpt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const SaSizeT sizes[] = { 100, 1024, 4096, 16384, 65536 };
    double per_size = argc > 1 ? atof(argv[1]) : 1.0;
    SaVersionT v = { 'B', 1, 1 };
    SaCkptHandleT lib;
    SaCkptCheckpointHandleT h;
    SaNameT name;
    SaCkptCheckpointCreationAttributesT a;
    SaCkptSectionIdT id;
    SaAisErrorT rc;
    char *buf = malloc(65536);
    size_t i;

    if (!buf || (rc = saCkptInitialize(&lib, NULL, &v)) != SA_AIS_OK) {
        fprintf(stderr, "ckpt_bench: initialize failed\n");
        return 1;
    }
    memset(buf, 'x', 65536);
    memset(&name, 0, sizeof name);
    name.length = (SaUint16T)snprintf((char *)name.value, sizeof name.value, "bench-%ld",
                                      (long)time(NULL));
    a.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    a.checkpointSize = 65536;
    a.retentionDuration = 0;
    a.maxSections = 1;
    a.maxSectionSize = 65536;
    a.maxSectionIdSize = 8;
    rc = saCkptCheckpointOpen(lib, &name, &a,
                              SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE |
                                  SA_CKPT_CHECKPOINT_READ,
                              10 * SECOND, &h);
    if (rc != SA_AIS_OK) {
        fprintf(stderr, "ckpt_bench: open failed: %d\n", (int)rc);
        return 1;
    }
    id.idLen = 0;
    id.id = NULL;
    printf("%8s %10s %8s %10s\n", "size", "writes/s", "MB/s", "reads/s");
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        SaCkptIOVectorElementT e;
        SaUint32T bad;
        long writes = 0, reads = 0;
        double t0 = now_s(), t1, t2;
        memset(&e, 0, sizeof e);
        e.sectionId = id;
        e.dataBuffer = buf;
        e.dataSize = sizes[i];
        while ((t1 = now_s()) - t0 < per_size) {
            if ((rc = saCkptCheckpointWrite(h, &e, 1, &bad)) != SA_AIS_OK) {
                fprintf(stderr, "ckpt_bench: write failed: %d\n", (int)rc);
                return 1;
            }
            writes++;
        }
        while ((t2 = now_s()) - t1 < per_size / 2) {
            if ((rc = saCkptCheckpointRead(h, &e, 1, &bad)) != SA_AIS_OK) {
                fprintf(stderr, "ckpt_bench: read failed: %d\n", (int)rc);
                return 1;
            }
            reads++;
        }
        printf("%8lu %10.0f %8.2f %10.0f\n", (unsigned long)sizes[i], writes / (t1 - t0),
               writes * (double)sizes[i] / (t1 - t0) / 1e6, reads / (t2 - t1));
    }
    saCkptCheckpointClose(h);
    saCkptCheckpointUnlink(lib, &name);
    saCkptFinalize(lib);
    free(buf);
    return 0;
}
