/*
 * The counter service of the AMF demo and benchmark: an SA-aware component
 * (started by clc.sh) that keeps its count in a checkpoint. While ACTIVE it
 * adds one every 100 ms and writes the count to the checkpoint
 * "amf-counter" (written to every replica before the write returns); when
 * it is made ACTIVE it first reads the checkpoint and counts on from there.
 * STANDBY, it only answers. Uses <corosync/saAmf.h>, <corosync/saCkpt.h>,
 * -lSaAmf -lSaCkpt. One line per event is appended to $AMF_LOG:
 *
 *   <ns since epoch> <pid> <component> REGISTERED
 *   <ns> <pid> <component> CSISET <ACTIVE|STANDBY> flags=<f> peer=<comp>
 *   <ns> <pid> <component> RESUMED <count read from the checkpoint>
 *   <ns> <pid> <component> WROTE <count>       (after the write returned OK)
 *   <ns> <pid> <component> HEALTHCHECK <key>
 *   <ns> <pid> <component> RESPONSE <error> after <n> retries   (not at once OK)
 *
 * It exits when its executive's connection breaks, so a killed executive
 * takes its components with it as a dead node would.
 *
 *   amf_counter          the component
 *   amf_counter show     print the checkpointed count (any client)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/saAmf.h>
#include <corosync/saCkpt.h>

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)
#define TICK_MS 100

static SaAmfHandleT amf;
static SaCkptHandleT ckpt_lib;
static SaCkptCheckpointHandleT ckpt;
static SaNameT me;
static FILE *out;
static int active;
static long count;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void note(const char *fmt, ...)
{
    va_list ap;
    fprintf(out, "%lld %d %.*s ", now_ns(), (int)getpid(), (int)me.length, (const char *)me.value);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

/* Opens (creating if need be) the one-section checkpoint of the count. */
static SaAisErrorT open_checkpoint(void)
{
    SaVersionT v = {'B', 1, 1};
    SaNameT n;
    SaCkptCheckpointCreationAttributesT a;
    SaAisErrorT rc;
    int tries;

    for (tries = 0; (rc = saCkptInitialize(&ckpt_lib, NULL, &v)) == SA_AIS_ERR_TRY_AGAIN && tries < 200; tries++)
        sleep_ms(20);
    if (rc != SA_AIS_OK)
        return rc;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen("amf-counter");
    memcpy(n.value, "amf-counter", n.length);
    memset(&a, 0, sizeof a);
    a.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    a.checkpointSize = 32;
    a.retentionDuration = 3600 * SECOND;
    a.maxSections = 1;
    a.maxSectionSize = 32;
    for (tries = 0; tries < 200; tries++) {
        rc = saCkptCheckpointOpen(ckpt_lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE,
                                  5 * SECOND, &ckpt);
        if (rc != SA_AIS_ERR_TRY_AGAIN)
            return rc;
        sleep_ms(20);
    }
    return rc;
}

/* The checkpointed count (0 when never written), -1 when unreadable. */
static long read_count(void)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    char buf[32];
    SaAisErrorT rc;
    int tries;

    for (tries = 0; tries < 100; tries++) {
        memset(&e, 0, sizeof e);
        memset(buf, 0, sizeof buf);
        e.dataBuffer = buf;
        e.dataSize = sizeof buf - 1;
        rc = saCkptCheckpointRead(ckpt, &e, 1, &bad);
        if (rc == SA_AIS_OK)
            return e.readSize ? atol(buf) : 0;
        if (rc != SA_AIS_ERR_TRY_AGAIN)
            break;
        sleep_ms(20);
    }
    return -1;
}

static SaAisErrorT write_count(long value)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld", value);
    SaAisErrorT rc;
    int tries;

    memset(&e, 0, sizeof e);
    e.dataBuffer = buf;
    e.dataSize = (SaSizeT)len + 1;
    for (tries = 0; (rc = saCkptCheckpointWrite(ckpt, &e, 1, &bad)) == SA_AIS_ERR_TRY_AGAIN && tries < 100; tries++)
        sleep_ms(20);
    return rc;
}

/* saAmfResponse, again while TRY_AGAIN (2 s at most): the executive
 * refuses it while it syncs after a membership change, when a failover's
 * callbacks arrive. */
static void respond(SaInvocationT invocation, SaAisErrorT result)
{
    SaAisErrorT r;
    int tries = 0;
    while ((r = saAmfResponse(amf, invocation, result)) == SA_AIS_ERR_TRY_AGAIN && tries < 100) {
        tries++;
        sleep_ms(20);
    }
    if (r != SA_AIS_OK || tries)
        note("RESPONSE %d after %d retries", (int)r, tries);
}

static void csi_set(SaInvocationT invocation, const SaNameT *comp, SaAmfHAStateT ha, SaAmfCSIDescriptorT *d)
{
    const SaNameT *peer = ha == SA_AMF_HA_STANDBY ? &d->csiStateDescriptor.standbyDescriptor.activeCompName
                                                  : &d->csiStateDescriptor.activeDescriptor.activeCompName;
    (void)comp;
    note("CSISET %s flags=%u peer=%.*s", ha == SA_AMF_HA_ACTIVE ? "ACTIVE" : ha == SA_AMF_HA_STANDBY ? "STANDBY" : "OTHER",
         (unsigned)d->csiFlags, (int)peer->length, (const char *)peer->value);
    if (ha == SA_AMF_HA_ACTIVE && !active) {
        long c = read_count();
        if (c < 0) {
            note("FAILED read of the checkpoint");
            respond(invocation, SA_AIS_ERR_FAILED_OPERATION);
            return;
        }
        count = c;
        note("RESUMED %ld", count);
    }
    active = ha == SA_AMF_HA_ACTIVE;
    respond(invocation, SA_AIS_OK);
}

static void csi_remove(SaInvocationT invocation, const SaNameT *comp, const SaNameT *csi, SaAmfCSIFlagsT flags)
{
    (void)comp;
    (void)csi;
    (void)flags;
    active = 0;
    note("CSIREMOVE");
    respond(invocation, SA_AIS_OK);
}

static void healthcheck(SaInvocationT invocation, const SaNameT *comp, SaAmfHealthcheckKeyT *key)
{
    (void)comp;
    respond(invocation, SA_AIS_OK);
    note("HEALTHCHECK %.*s", (int)key->keyLen, (const char *)key->key);
}

static void terminate(SaInvocationT invocation, const SaNameT *comp)
{
    (void)comp;
    respond(invocation, SA_AIS_OK);
    note("TERMINATE");
    exit(0);
}

static int show(void)
{
    long c;
    if (open_checkpoint() != SA_AIS_OK)
        return 1;
    c = read_count();
    if (c < 0)
        return 1;
    printf("%ld\n", c);
    return 0;
}

int main(int argc, char **argv)
{
    SaAmfCallbacksT cb = {0};
    SaVersionT v = {'B', 1, 1};
    SaAmfHealthcheckKeyT key = {"key1", 4};
    SaSelectionObjectT fd;
    SaAisErrorT r;
    const char *log = getenv("AMF_LOG");
    long long next_tick = 0;
    int i;

    if (argc > 1)
        return strcmp(argv[1], "show") == 0 ? show() : 2;
    out = log ? fopen(log, "a") : stderr;
    if (!out)
        return 2;
    cb.saAmfCSISetCallback = csi_set;
    cb.saAmfCSIRemoveCallback = csi_remove;
    cb.saAmfHealthcheckCallback = healthcheck;
    cb.saAmfComponentTerminateCallback = terminate;
    if ((r = saAmfInitialize(&amf, &cb, &v)) != SA_AIS_OK || (r = saAmfComponentNameGet(amf, &me)) != SA_AIS_OK) {
        note("FAILED initialize %d", (int)r);
        return 1;
    }
    /* Opened before registering: an ACTIVE assignment can read at once. */
    if ((r = open_checkpoint()) != SA_AIS_OK) {
        note("FAILED checkpoint open %d", (int)r);
        return 1;
    }
    for (i = 0; i < 200 && (r = saAmfComponentRegister(amf, &me, NULL)) == SA_AIS_ERR_TRY_AGAIN; i++)
        sleep_ms(20);
    if (r != SA_AIS_OK) {
        note("FAILED register %d", (int)r);
        return 1;
    }
    note("REGISTERED");
    r = saAmfHealthcheckStart(amf, &me, &key, SA_AMF_HEALTHCHECK_AMF_INVOKED, SA_AMF_NO_RECOMMENDATION);
    if (r != SA_AIS_OK)
        note("FAILED healthcheck start %d", (int)r);
    saAmfSelectionObjectGet(amf, &fd);
    for (;;) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        int wait_ms = -1;
        if (active) {
            long long left = next_tick - now_ns();
            wait_ms = left <= 0 ? 0 : (int)(left / 1000000 + 1);
        }
        if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
            return 1;
        if (p.revents) {
            r = saAmfDispatch(amf, SA_DISPATCH_ALL);
            if (r != SA_AIS_OK) {
                note("EXIT dispatch %d", (int)r);
                return 0;
            }
        }
        if (active && now_ns() >= next_tick) {
            next_tick = now_ns() + TICK_MS * 1000000LL;
            r = write_count(count + 1);
            if (r != SA_AIS_OK) {
                note("FAILED write %d", (int)r);
                continue;
            }
            count++;
            note("WROTE %ld", count);
        }
    }
}
