/*
 * Timeouts as openais 0.80 programs pass them: every call that takes an
 * SaTimeT timeout (saClmClusterNodeGet, saCkptCheckpointOpen,
 * saCkptCheckpointSynchronize, saEvtChannelOpen) works with timeout 0,
 * which means "no limit" as in the classic library; a positive timeout
 * still gives SA_AIS_ERR_TIMEOUT when the executive does not answer in
 * time. The executive is made not to answer by stopping it (SIGSTOP; its
 * pid is read from $COROSYNC_RUN_DIR/aisexec.pid).
 *
 *   timeouts           (run by c-tests/classic/run.sh through with-exec.sh)
 *
 * Prints "timeouts: N passed, N failed"; exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saCkpt.h>
#include <corosync/saClm.h>
#include <corosync/saEvt.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

#define MILLISECOND ((SaTimeT)SA_TIME_ONE_MILLISECOND)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_name(SaNameT *n, const char *s)
{
    memset(n, 0, sizeof *n);
    n->length = (SaUint16T)strlen(s);
    memcpy(n->value, s, n->length);
}

static pid_t exec_pid(void)
{
    char path[4096];
    const char *dir = getenv("COROSYNC_RUN_DIR");
    FILE *f;
    long pid = 0;

    snprintf(path, sizeof path, "%s/aisexec.pid", dir ? dir : "/var/run/ais");
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid > 1 ? (pid_t)pid : 0;
}

/* Continues the stopped executive after `ms`, from a child process (the
 * caller is blocked in a call meanwhile). Returns the child, or -1. */
static pid_t continue_later(pid_t exec, int ms)
{
    pid_t child = fork();
    if (child == 0) {
        struct timespec t;
        t.tv_sec = ms / 1000;
        t.tv_nsec = (long)(ms % 1000) * 1000000L;
        nanosleep(&t, NULL);
        kill(exec, SIGCONT);
        _exit(0);
    }
    return child;
}

/* The whole classic CKPT sequence with timeout 0, as ckpt-wr / ckpt-rd do. */
static void ckpt_with_zero(SaCkptHandleT lib)
{
    SaNameT name;
    SaCkptCheckpointCreationAttributesT attrs;
    SaCkptSectionCreationAttributesT section;
    SaCkptSectionIdT id;
    SaCkptIOVectorElementT w, r;
    SaCkptCheckpointHandleT h, ro;
    SaUint32T bad = 0;
    char data[] = "written with timeout 0";
    char buf[64];

    set_name(&name, "classic-timeout-zero");
    memset(&attrs, 0, sizeof attrs);
    attrs.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    attrs.checkpointSize = 400;
    attrs.retentionDuration = 0;
    attrs.maxSections = 2;
    attrs.maxSectionSize = 200;
    attrs.maxSectionIdSize = 16;
    CHECK_RC(saCkptCheckpointOpen(lib, &name, &attrs,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_READ |
                                      SA_CKPT_CHECKPOINT_WRITE,
                                  0, &h),
             SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &name, NULL, SA_CKPT_CHECKPOINT_READ, 0, &ro), SA_AIS_OK);

    id.id = (SaUint8T *)"s";
    id.idLen = 1;
    section.sectionId = &id;
    section.expirationTime = SA_TIME_END;
    CHECK_RC(saCkptSectionCreate(h, &section, NULL, 0), SA_AIS_OK);

    memset(&w, 0, sizeof w);
    w.sectionId = id;
    w.dataBuffer = data;
    w.dataSize = sizeof data;
    CHECK_RC(saCkptCheckpointWrite(h, &w, 1, &bad), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointSynchronize(h, 0), SA_AIS_ERR_BAD_OPERATION); /* not collocated */

    memset(&r, 0, sizeof r);
    memset(buf, 0, sizeof buf);
    r.sectionId = id;
    r.dataBuffer = buf;
    r.dataSize = sizeof buf;
    CHECK_RC(saCkptCheckpointRead(ro, &r, 1, &bad), SA_AIS_OK);
    CHECK(r.readSize == sizeof data && memcmp(buf, data, sizeof data) == 0);

    CHECK_RC(saCkptCheckpointUnlink(lib, &name), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(ro), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
}

int main(void)
{
    SaVersionT v;
    SaClmHandleT clm;
    SaClmClusterNodeT node;
    SaCkptHandleT ckpt;
    SaCkptCheckpointHandleT h;
    SaEvtHandleT evt;
    SaEvtChannelHandleT ch;
    SaNameT name;
    SaCkptCheckpointCreationAttributesT attrs;
    pid_t exec, child;
    double start, took;
    int i, zero_ok = 0;

    v.releaseCode = 'B';
    v.majorVersion = 1;
    v.minorVersion = 1;
    CHECK_RC(saClmInitialize(&clm, NULL, &v), SA_AIS_OK);
    v.majorVersion = 1;
    v.minorVersion = 1;
    CHECK_RC(saCkptInitialize(&ckpt, NULL, &v), SA_AIS_OK);
    v.majorVersion = 1;
    v.minorVersion = 1;
    CHECK_RC(saEvtInitialize(&evt, NULL, &v), SA_AIS_OK);

    /* Timeout 0, many times: a deadline of "now" would fail some. */
    for (i = 0; i < 200; i++)
        zero_ok += saClmClusterNodeGet(clm, SA_CLM_LOCAL_NODE_ID, 0, &node) == SA_AIS_OK;
    CHECK(zero_ok == 200);
    if (zero_ok != 200)
        fprintf(stderr, "timeouts: saClmClusterNodeGet with timeout 0: %d of 200 OK\n", zero_ok);

    ckpt_with_zero(ckpt);

    set_name(&name, "classic-timeout-zero");
    CHECK_RC(saEvtChannelOpen(evt, &name, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_SUBSCRIBER, 0, &ch),
             SA_AIS_OK);
    CHECK_RC(saEvtChannelClose(ch), SA_AIS_OK);

    /* A checkpoint to open and synchronize while the executive is stopped. */
    set_name(&name, "classic-timeout-held");
    memset(&attrs, 0, sizeof attrs);
    attrs.creationFlags = SA_CKPT_WR_ACTIVE_REPLICA | SA_CKPT_CHECKPOINT_COLLOCATED;
    attrs.checkpointSize = 100;
    attrs.maxSections = 1;
    attrs.maxSectionSize = 100;
    attrs.maxSectionIdSize = 8;
    CHECK_RC(saCkptCheckpointOpen(ckpt, &name, &attrs,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE, 0, &h),
             SA_AIS_OK);
    CHECK_RC(saCkptActiveReplicaSet(h), SA_AIS_OK);

    exec = exec_pid();
    CHECK(exec > 0);
    if (exec > 0 && kill(exec, SIGSTOP) == 0) {
        /* Positive timeouts are honoured. */
        start = now_s();
        CHECK_RC(saClmClusterNodeGet(clm, SA_CLM_LOCAL_NODE_ID, 200 * MILLISECOND, &node),
                 SA_AIS_ERR_TIMEOUT);
        CHECK_RC(saCkptCheckpointOpen(ckpt, &name, NULL, SA_CKPT_CHECKPOINT_READ,
                                      200 * MILLISECOND, &h),
                 SA_AIS_ERR_TIMEOUT);
        CHECK_RC(saCkptCheckpointSynchronize(h, 200 * MILLISECOND), SA_AIS_ERR_TIMEOUT);
        CHECK_RC(saEvtChannelOpen(evt, &name, SA_EVT_CHANNEL_PUBLISHER, 200 * MILLISECOND, &ch),
                 SA_AIS_ERR_TIMEOUT);
        took = now_s() - start;
        CHECK(took >= 0.75 && took < 5.0);

        /* Timeout 0 waits for as long as it takes: here until the
         * executive is continued, 500 ms later. */
        child = continue_later(exec, 500);
        CHECK(child > 0);
        start = now_s();
        CHECK_RC(saClmClusterNodeGet(clm, SA_CLM_LOCAL_NODE_ID, 0, &node), SA_AIS_OK);
        took = now_s() - start;
        CHECK(took >= 0.4);
        if (child > 0)
            waitpid(child, NULL, 0);
        kill(exec, SIGCONT);

        /* Stopped again: synchronize and open wait too. */
        CHECK(kill(exec, SIGSTOP) == 0);
        child = continue_later(exec, 300);
        CHECK_RC(saCkptCheckpointSynchronize(h, 0), SA_AIS_OK);
        if (child > 0)
            waitpid(child, NULL, 0);
        CHECK(kill(exec, SIGSTOP) == 0);
        child = continue_later(exec, 300);
        CHECK_RC(saEvtChannelOpen(evt, &name, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER, 0,
                                  &ch),
                 SA_AIS_OK);
        if (child > 0)
            waitpid(child, NULL, 0);
        kill(exec, SIGCONT);
        CHECK_RC(saEvtChannelClose(ch), SA_AIS_OK);
    }

    CHECK_RC(saCkptCheckpointUnlink(ckpt, &name), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saEvtFinalize(evt), SA_AIS_OK);
    CHECK_RC(saCkptFinalize(ckpt), SA_AIS_OK);
    CHECK_RC(saClmFinalize(clm), SA_AIS_OK);
    return check_summary("timeouts");
}
