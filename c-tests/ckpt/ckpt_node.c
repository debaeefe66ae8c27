/*
 * A small checkpoint client for the multi-node tests (c-tests/ckpt/cluster.sh).
 * Uses only <corosync/saCkpt.h> and -lSaCkpt; talks to the executive of
 * $COROSYNC_RUN_DIR. Every call is retried while it answers TRY_AGAIN
 * (executive syncing), for up to 20 s.
 *
 *   ckpt_node put NAME SECTION VALUE   create checkpoint/section if needed, overwrite
 *   ckpt_node get NAME SECTION         print the section's value (or NOT_EXIST)
 *   ckpt_node dump NAME                print every section as id=value, in id order
 *   ckpt_node count NAME               write 1, 2, 3, ... to section "counter" until
 *                                      a write fails; print "acked N" after each
 *   ckpt_node hammer NAME TAG N        N writes to section TAG (values TAG-1..TAG-N)
 *
 * Exit status 0 on success, 1 on an unexpected error (printed).
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saCkpt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Retries `call` while it is TRY_AGAIN, up to 20 s. */
#define RETRY(rc, call)                                                                            \
    do {                                                                                           \
        double until_ = now_s() + 20;                                                              \
        while (((rc) = (call)) == SA_AIS_ERR_TRY_AGAIN && now_s() < until_)                        \
            sleep_ms(50);                                                                          \
    } while (0)

static SaNameT name_of(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static SaCkptSectionIdT sid(const char *s)
{
    SaCkptSectionIdT id;
    id.idLen = (SaUint16T)strlen(s);
    id.id = (SaUint8T *)s;
    return id;
}

static int die(const char *what, SaAisErrorT rc)
{
    fprintf(stderr, "ckpt_node: %s: error %d\n", what, (int)rc);
    return 1;
}

static SaCkptHandleT lib;

static SaAisErrorT open_ckpt(const char *name, int create, SaCkptCheckpointHandleT *h)
{
    SaNameT n = name_of(name);
    SaCkptCheckpointCreationAttributesT a;
    SaAisErrorT rc;
    a.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    a.checkpointSize = 64 * 1024;
    a.retentionDuration = 3600 * SECOND;
    a.maxSections = 64;
    a.maxSectionSize = 1024;
    a.maxSectionIdSize = 32;
    RETRY(rc, saCkptCheckpointOpen(lib, &n, create ? &a : NULL,
                                   SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE |
                                       (create ? SA_CKPT_CHECKPOINT_CREATE : 0),
                                   5 * SECOND, h));
    return rc;
}

static SaAisErrorT ensure_section(SaCkptCheckpointHandleT h, const char *id)
{
    SaCkptSectionIdT s = sid(id);
    SaCkptSectionCreationAttributesT ca;
    SaAisErrorT rc;
    ca.sectionId = &s;
    ca.expirationTime = SA_TIME_END;
    RETRY(rc, saCkptSectionCreate(h, &ca, "", 0));
    return rc == SA_AIS_ERR_EXIST ? SA_AIS_OK : rc;
}

static SaAisErrorT put(SaCkptCheckpointHandleT h, const char *id, const char *value)
{
    SaCkptSectionIdT s = sid(id);
    SaAisErrorT rc;
    RETRY(rc, saCkptSectionOverwrite(h, &s, value, strlen(value)));
    return rc;
}

int main(int argc, char **argv)
{
    SaVersionT v = { 'B', 1, 1 };
    SaCkptCheckpointHandleT h;
    SaAisErrorT rc;
    const char *cmd = argc > 2 ? argv[1] : "";

    RETRY(rc, saCkptInitialize(&lib, NULL, &v));
    if (rc != SA_AIS_OK)
        return die("saCkptInitialize", rc);

    if (strcmp(cmd, "put") == 0 && argc == 5) {
        if ((rc = open_ckpt(argv[2], 1, &h)) != SA_AIS_OK)
            return die("open", rc);
        if ((rc = ensure_section(h, argv[3])) != SA_AIS_OK)
            return die("section create", rc);
        if ((rc = put(h, argv[3], argv[4])) != SA_AIS_OK)
            return die("overwrite", rc);
    } else if (strcmp(cmd, "get") == 0 && argc == 4) {
        SaCkptIOVectorElementT e;
        SaUint32T bad;
        if ((rc = open_ckpt(argv[2], 0, &h)) != SA_AIS_OK) {
            if (rc == SA_AIS_ERR_NOT_EXIST) {
                printf("NOT_EXIST\n");
                return 0;
            }
            return die("open", rc);
        }
        memset(&e, 0, sizeof e);
        e.sectionId = sid(argv[3]);
        RETRY(rc, saCkptCheckpointRead(h, &e, 1, &bad));
        if (rc == SA_AIS_ERR_NOT_EXIST) {
            printf("NOT_EXIST\n");
            return 0;
        }
        if (rc != SA_AIS_OK)
            return die("read", rc);
        printf("%.*s\n", (int)e.readSize, (const char *)e.dataBuffer);
        free(e.dataBuffer);
    } else if (strcmp(cmd, "dump") == 0 && argc == 3) {
        SaCkptSectionIterationHandleT it;
        SaCkptSectionDescriptorT d;
        if ((rc = open_ckpt(argv[2], 0, &h)) != SA_AIS_OK)
            return die("open", rc);
        RETRY(rc, saCkptSectionIterationInitialize(h, SA_CKPT_SECTIONS_ANY, 0, &it));
        if (rc != SA_AIS_OK)
            return die("iteration", rc);
        while ((rc = saCkptSectionIterationNext(it, &d)) == SA_AIS_OK) {
            SaCkptIOVectorElementT e;
            SaUint32T bad;
            memset(&e, 0, sizeof e);
            e.sectionId = d.sectionId;
            RETRY(rc, saCkptCheckpointRead(h, &e, 1, &bad));
            if (rc != SA_AIS_OK)
                return die("read", rc);
            printf("%.*s=%.*s\n", (int)d.sectionId.idLen, (const char *)d.sectionId.id,
                   (int)e.readSize, (const char *)e.dataBuffer);
            free(e.dataBuffer);
        }
        if (rc != SA_AIS_ERR_NO_SECTIONS)
            return die("iteration next", rc);
        saCkptSectionIterationFinalize(it);
    } else if (strcmp(cmd, "count") == 0 && argc == 3) {
        unsigned long i;
        char value[32];
        if ((rc = open_ckpt(argv[2], 1, &h)) != SA_AIS_OK)
            return die("open", rc);
        if ((rc = ensure_section(h, "counter")) != SA_AIS_OK)
            return die("section create", rc);
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (i = 1;; i++) {
            SaCkptIOVectorElementT e;
            SaUint32T bad;
            int len = snprintf(value, sizeof value, "%lu", i);
            memset(&e, 0, sizeof e);
            e.sectionId = sid("counter");
            e.dataBuffer = value;
            e.dataSize = (SaSizeT)len + 1; /* with the NUL: a shorter value overwrites all */
            rc = saCkptCheckpointWrite(h, &e, 1, &bad);
            if (rc != SA_AIS_OK) {
                printf("stopped at %lu: error %d\n", i, (int)rc);
                return 0;
            }
            printf("acked %lu\n", i);
        }
    } else if (strcmp(cmd, "hammer") == 0 && argc == 5) {
        long i, n = atol(argv[4]);
        char value[64];
        if ((rc = open_ckpt(argv[2], 1, &h)) != SA_AIS_OK)
            return die("open", rc);
        if ((rc = ensure_section(h, argv[3])) != SA_AIS_OK)
            return die("section create", rc);
        for (i = 1; i <= n; i++) {
            snprintf(value, sizeof value, "%s-%ld", argv[3], i);
            if ((rc = put(h, argv[3], value)) != SA_AIS_OK)
                return die("overwrite", rc);
        }
    } else {
        fprintf(stderr, "usage: ckpt_node put|get|dump|count|hammer ...\n");
        return 2;
    }
    saCkptFinalize(lib);
    return 0;
}
