/*
 * ais_loops: the request/answer loops real programs run, one call at a
 * time (call, wait for the answer, call again), timed per call.
 *
 *   ais_loops [-t seconds] [-s size] [-n members] LOOP
 *
 * LOOP is one of
 *   cpg           per message, as openais' cpgbench: cpg_flow_control_state_get,
 *                 cpg_mcast_joined (AGREED) if flow control is off,
 *                 cpg_dispatch(CPG_DISPATCH_ALL); counts own deliveries
 *   evs           evs_mcast_joined (AGREED), then evs_dispatch(EVS_DISPATCH_ALL)
 *   ckpt-write    saCkptCheckpointWrite of one section (as openais' ckptbench)
 *   ckpt-read     saCkptCheckpointRead of one section
 *   evt-publish   saEvtEventPublish on an open channel
 *   clm-node-get  saClmClusterNodeGet of the local node
 *   lck-lock      saLckResourceLock (EX, granted) then saLckResourceUnlock of
 *                 one resource; an op is the pair
 *   msg-send      saMsgMessageSend to the program's own queue, then
 *                 saMsgMessageGet of it; an op is the pair
 *
 * Before timing, waits (30 s at most) until CLM reports `members` nodes
 * (default 1), so a cluster is formed. Prints one line:
 *
 *   <loop> size <n> ops <count> <rate> ops/s call p50 <us> p99 <us> [deliver p50 <us> p99 <us>]
 *          cpu/op <us> sleeps/op <n>
 *
 * (cpu/op: this process's user and system time per op; sleeps/op: its
 * voluntary context switches per op, each a wait for the executive.)
 * For cpg and evs, ops are delivered messages (each carries its send time,
 * so the deliver figures are send-to-own-delivery latency) and a call is
 * one loop iteration. Written against the classic openais 0.80 API only,
 * so the same source builds against either implementation's headers and
 * libraries (-lcpg -levs -lSaCkpt -lSaEvt -lSaClm -lSaLck -lSaMsg).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <saAis.h>
#include <saCkpt.h>
#include <saClm.h>
#include <saEvt.h>
#include <saLck.h>
#include <saMsg.h>
#include <cpg.h>
#include <evs.h>

#define MAX_SAMPLES (4u << 20)

static double seconds = 3;
static size_t size;
static unsigned members = 1;

static uint64_t *call_us, *deliver_us;
static struct rusage usage_start;
static unsigned ncall, ndeliver;
static unsigned long long delivered;
static char *payload;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "ais_loops: %s: error %d\n", what, err);
    exit(1);
}

static void record(uint64_t *samples, unsigned *n, uint64_t ns)
{
    if (*n < MAX_SAMPLES)
        samples[(*n)++] = ns;
}

/* Stamps the send time into the payload (when it has room for it). */
static void stamp(void)
{
    uint64_t t = now_ns();
    if (size >= sizeof(t))
        memcpy(payload, &t, sizeof(t));
}

/* One of our own messages came back: its send-to-delivery latency. */
static void delivered_msg(const void *msg, int len)
{
    uint64_t sent;
    delivered++;
    if ((size_t)len >= sizeof(sent) && size >= sizeof(sent)) {
        memcpy(&sent, msg, sizeof(sent));
        record(deliver_us, &ndeliver, now_ns() - sent);
    }
}

/* The program's own SA name (checkpoint, channel, resource, queue). */
static void own_name(SaNameT *name)
{
    name->length = (SaUint16T)snprintf((char *)name->value, sizeof(name->value), "loops-%d", (int)getpid());
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *s, unsigned n, double p)
{
    if (n == 0)
        return 0;
    return s[(unsigned)((n - 1) * p)] / 1000.0;
}

static void report(const char *loop, unsigned long long ops, double elapsed, int deliveries)
{
    qsort(call_us, ncall, sizeof(*call_us), cmp_u64);
    printf("%s size %zu ops %llu %.0f ops/s call p50 %.1f p99 %.1f", loop, size, ops, ops / elapsed,
           pct(call_us, ncall, 0.5), pct(call_us, ncall, 0.99));
    struct rusage u;
    double cpu;

    getrusage(RUSAGE_SELF, &u);
    if (deliveries) {
        qsort(deliver_us, ndeliver, sizeof(*deliver_us), cmp_u64);
        printf(" deliver p50 %.1f p99 %.1f", pct(deliver_us, ndeliver, 0.5), pct(deliver_us, ndeliver, 0.99));
    }
    cpu = (u.ru_utime.tv_sec - usage_start.ru_utime.tv_sec + u.ru_stime.tv_sec - usage_start.ru_stime.tv_sec) * 1e6 +
          (u.ru_utime.tv_usec - usage_start.ru_utime.tv_usec + u.ru_stime.tv_usec - usage_start.ru_stime.tv_usec);
    printf(" cpu/op %.2f sleeps/op %.2f\n", ops ? cpu / ops : 0,
           ops ? (double)(u.ru_nvcsw - usage_start.ru_nvcsw) / ops : 0);
    fflush(stdout);
}

/* Runs `body` until the time is up; returns the elapsed seconds. */
#define TIMED(body)                                                  \
    ({                                                               \
        uint64_t start_, end_, t_;                                   \
        getrusage(RUSAGE_SELF, &usage_start);                        \
        start_ = now_ns();                                           \
        end_ = start_ + (uint64_t)(seconds * 1e9);                   \
        do {                                                         \
            t_ = now_ns();                                           \
            body;                                                    \
            record(call_us, &ncall, now_ns() - t_);                  \
        } while (now_ns() < end_);                                   \
        (now_ns() - start_) / 1e9;                                   \
    })

static void wait_members(void)
{
    SaClmHandleT clm;
    SaVersionT v = { 'B', 1, 1 };
    SaClmCallbacksT cbs;
    SaClmClusterNotificationT items[64];
    SaClmClusterNotificationBufferT buf;
    SaAisErrorT err;
    int tries;

    memset(&cbs, 0, sizeof(cbs));
    for (tries = 0; tries < 300; tries++) {
        err = saClmInitialize(&clm, &cbs, &v);
        if (err == SA_AIS_OK)
            break;
        usleep(100000);
    }
    if (err != SA_AIS_OK)
        die("saClmInitialize", err);
    for (tries = 0; tries < 300; tries++) {
        buf.numberOfItems = 64;
        buf.notification = items;
        err = saClmClusterTrack(clm, SA_TRACK_CURRENT, &buf);
        if (err == SA_AIS_OK && buf.numberOfItems >= members)
            break;
        usleep(100000);
    }
    if (err != SA_AIS_OK || buf.numberOfItems < members) {
        fprintf(stderr, "ais_loops: never saw %u members (error %d, %u members)\n", members, err,
                (unsigned)buf.numberOfItems);
        exit(1);
    }
    saClmFinalize(clm);
}

/* ---- cpg ---- */

static void cpg_deliver(cpg_handle_t h, struct cpg_name *g, uint32_t node, uint32_t pid, void *msg, int len)
{
    (void)h; (void)g; (void)node;
    if (pid == (uint32_t)getpid())
        delivered_msg(msg, len);
}

static void cpg_confchg(cpg_handle_t h, struct cpg_name *g, struct cpg_address *m, int nm,
                        struct cpg_address *l, int nl, struct cpg_address *j, int nj)
{
    (void)h; (void)g; (void)m; (void)nm; (void)l; (void)nl; (void)j; (void)nj;
}

static void loop_cpg(void)
{
    cpg_callbacks_t cbs = { cpg_deliver, cpg_confchg };
    struct cpg_name group;
    cpg_handle_t h;
    struct iovec iov = { payload, size };
    cpg_flow_control_state_t fc;
    unsigned long long before;
    double elapsed;
    int err;

    group.length = (uint32_t)snprintf(group.value, sizeof(group.value), "loops-%d", (int)getpid());
    if ((err = cpg_initialize(&h, &cbs)) != CPG_OK)
        die("cpg_initialize", err);
    if ((err = cpg_join(h, &group)) != CPG_OK)
        die("cpg_join", err);
    before = delivered;
    elapsed = TIMED({
        if ((err = cpg_flow_control_state_get(h, &fc)) != CPG_OK)
            die("cpg_flow_control_state_get", err);
        if (fc == CPG_FLOW_CONTROL_DISABLED) {
            stamp();
            err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
            if (err != CPG_OK && err != CPG_ERR_TRY_AGAIN)
                die("cpg_mcast_joined", err);
        }
        if ((err = cpg_dispatch(h, CPG_DISPATCH_ALL)) != CPG_OK)
            die("cpg_dispatch", err);
    });
    report("cpg", delivered - before, elapsed, 1);
    cpg_finalize(h);
}

/* ---- evs ---- */

static void evs_deliver(unsigned int node, void *msg, int len)
{
    (void)node;
    delivered_msg(msg, len);
}

static void evs_confchg(unsigned int *m, int nm, unsigned int *l, int nl, unsigned int *j, int nj)
{
    (void)m; (void)nm; (void)l; (void)nl; (void)j; (void)nj;
}

static void loop_evs(void)
{
    evs_callbacks_t cbs = { evs_deliver, evs_confchg };
    struct evs_group group;
    evs_handle_t h;
    struct iovec iov = { payload, size };
    unsigned long long before;
    double elapsed;
    int err;

    memset(&group, 0, sizeof(group));
    snprintf(group.key, sizeof(group.key), "loops-%d", (int)getpid());
    if ((err = evs_initialize(&h, &cbs)) != EVS_OK)
        die("evs_initialize", err);
    if ((err = evs_join(h, &group, 1)) != EVS_OK)
        die("evs_join", err);
    before = delivered;
    elapsed = TIMED({
        stamp();
        err = evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1);
        if (err != EVS_OK && err != EVS_ERR_TRY_AGAIN)
            die("evs_mcast_joined", err);
        if ((err = evs_dispatch(h, EVS_DISPATCH_ALL)) != EVS_OK)
            die("evs_dispatch", err);
    });
    report("evs", delivered - before, elapsed, 1);
    evs_finalize(h);
}

/* ---- ckpt ---- */

static void loop_ckpt(int write)
{
    SaCkptHandleT ckpt;
    SaCkptCheckpointHandleT cp;
    SaVersionT v = { 'B', 1, 1 };
    SaCkptCallbacksT cbs;
    SaNameT name;
    SaCkptCheckpointCreationAttributesT attrs;
    SaCkptSectionIdT id = { 13, (SaUint8T *)"section ID #1" };
    SaCkptSectionCreationAttributesT section = { &id, SA_TIME_END };
    SaCkptIOVectorElementT io;
    SaUint32T bad;
    unsigned long long ops = 0;
    double elapsed;
    SaAisErrorT err;

    memset(&cbs, 0, sizeof(cbs));
    memset(&attrs, 0, sizeof(attrs));
    attrs.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    attrs.checkpointSize = 250000;
    attrs.retentionDuration = SA_TIME_END;
    attrs.maxSections = 5;
    attrs.maxSectionSize = 250000;
    attrs.maxSectionIdSize = 15;
    own_name(&name);
    if ((err = saCkptInitialize(&ckpt, &cbs, &v)) != SA_AIS_OK)
        die("saCkptInitialize", err);
    err = saCkptCheckpointOpen(ckpt, &name, &attrs,
                               SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE,
                               SA_TIME_END, &cp);
    if (err != SA_AIS_OK)
        die("saCkptCheckpointOpen", err);
    if ((err = saCkptSectionCreate(cp, &section, payload, size)) != SA_AIS_OK)
        die("saCkptSectionCreate", err);
    memset(&io, 0, sizeof(io));
    io.sectionId = id;
    io.dataBuffer = payload;
    io.dataSize = size;
    elapsed = TIMED({
        do {
            err = write ? saCkptCheckpointWrite(cp, &io, 1, &bad) : saCkptCheckpointRead(cp, &io, 1, &bad);
        } while (err == SA_AIS_ERR_TRY_AGAIN);
        if (err != SA_AIS_OK)
            die(write ? "saCkptCheckpointWrite" : "saCkptCheckpointRead", err);
        ops++;
    });
    report(write ? "ckpt-write" : "ckpt-read", ops, elapsed, 0);
    saCkptCheckpointUnlink(ckpt, &name);
    saCkptFinalize(ckpt);
}

/* ---- evt ---- */

static void loop_evt(void)
{
    SaEvtHandleT evt;
    SaEvtChannelHandleT ch;
    SaEvtEventHandleT ev;
    SaEvtEventIdT id;
    SaVersionT v = { 'B', 1, 1 };
    SaEvtCallbacksT cbs;
    SaNameT name, publisher;
    SaEvtEventPatternT pattern = { 5, 5, (SaUint8T *)"loops" };
    SaEvtEventPatternArrayT patterns = { 1, 1, &pattern };
    unsigned long long ops = 0;
    double elapsed;
    SaAisErrorT err;

    memset(&cbs, 0, sizeof(cbs));
    own_name(&name);
    publisher.length = (SaUint16T)snprintf((char *)publisher.value, sizeof(publisher.value), "ais_loops");
    if ((err = saEvtInitialize(&evt, &cbs, &v)) != SA_AIS_OK)
        die("saEvtInitialize", err);
    err = saEvtChannelOpen(evt, &name, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER, SA_TIME_END, &ch);
    if (err != SA_AIS_OK)
        die("saEvtChannelOpen", err);
    if ((err = saEvtEventAllocate(ch, &ev)) != SA_AIS_OK)
        die("saEvtEventAllocate", err);
    if ((err = saEvtEventAttributesSet(ev, &patterns, SA_EVT_LOWEST_PRIORITY, 0, &publisher)) != SA_AIS_OK)
        die("saEvtEventAttributesSet", err);
    elapsed = TIMED({
        do {
            err = saEvtEventPublish(ev, payload, size, &id);
        } while (err == SA_AIS_ERR_TRY_AGAIN);
        if (err != SA_AIS_OK)
            die("saEvtEventPublish", err);
        ops++;
    });
    report("evt-publish", ops, elapsed, 0);
    saEvtEventFree(ev);
    saEvtChannelClose(ch);
    saEvtFinalize(evt);
}

/* ---- clm ---- */

static void loop_clm(void)
{
    SaClmHandleT clm;
    SaVersionT v = { 'B', 1, 1 };
    SaClmCallbacksT cbs;
    SaClmClusterNodeT node;
    unsigned long long ops = 0;
    double elapsed;
    SaAisErrorT err;

    memset(&cbs, 0, sizeof(cbs));
    if ((err = saClmInitialize(&clm, &cbs, &v)) != SA_AIS_OK)
        die("saClmInitialize", err);
    elapsed = TIMED({
        if ((err = saClmClusterNodeGet(clm, SA_CLM_LOCAL_NODE_ID, SA_TIME_END, &node)) != SA_AIS_OK)
            die("saClmClusterNodeGet", err);
        ops++;
    });
    report("clm-node-get", ops, elapsed, 0);
    saClmFinalize(clm);
}

/* ---- lck ---- */

static void loop_lck(void)
{
    SaLckHandleT lck;
    SaLckResourceHandleT res;
    SaLckLockIdT id;
    SaLckLockStatusT status;
    SaVersionT v = { 'B', 1, 1 };
    SaLckCallbacksT cbs;
    SaNameT name;
    unsigned long long ops = 0;
    double elapsed;
    SaAisErrorT err;

    memset(&cbs, 0, sizeof(cbs));
    own_name(&name);
    if ((err = saLckInitialize(&lck, &cbs, &v)) != SA_AIS_OK)
        die("saLckInitialize", err);
    if ((err = saLckResourceOpen(lck, &name, SA_LCK_RESOURCE_CREATE, SA_TIME_END, &res)) != SA_AIS_OK)
        die("saLckResourceOpen", err);
    elapsed = TIMED({
        err = saLckResourceLock(res, &id, SA_LCK_EX_LOCK_MODE, 0, 0, SA_TIME_END, &status);
        if (err != SA_AIS_OK || status != SA_LCK_LOCK_GRANTED)
            die("saLckResourceLock", err != SA_AIS_OK ? (int)err : (int)status);
        if ((err = saLckResourceUnlock(id, SA_TIME_END)) != SA_AIS_OK)
            die("saLckResourceUnlock", err);
        ops++;
    });
    report("lck-lock", ops, elapsed, 0);
    saLckResourceClose(res);
    saLckFinalize(lck);
}

/* ---- msg ---- */

static void loop_msg(void)
{
    SaMsgHandleT msg;
    SaMsgQueueHandleT queue;
    SaVersionT v = { 'B', 1, 1 };
    SaMsgCallbacksT cbs;
    SaMsgQueueCreationAttributesT attrs;
    SaNameT name;
    SaMsgMessageT out, in;
    SaTimeT sent;
    SaMsgSenderIdT sender;
    char *back = malloc(size + 1);
    unsigned long long ops = 0;
    double elapsed;
    SaAisErrorT err;
    int i;

    memset(&cbs, 0, sizeof(cbs));
    memset(&attrs, 0, sizeof(attrs));
    for (i = 0; i <= SA_MSG_MESSAGE_LOWEST_PRIORITY; i++)
        attrs.size[i] = 1 << 20;
    own_name(&name);
    if (!back)
        die("malloc", ENOMEM);
    if ((err = saMsgInitialize(&msg, &cbs, &v)) != SA_AIS_OK)
        die("saMsgInitialize", err);
    if ((err = saMsgQueueOpen(msg, &name, &attrs, SA_MSG_QUEUE_CREATE, SA_TIME_END, &queue)) != SA_AIS_OK)
        die("saMsgQueueOpen", err);
    memset(&out, 0, sizeof(out));
    out.size = size;
    out.data = payload;
    out.priority = SA_MSG_MESSAGE_HIGHEST_PRIORITY;
    elapsed = TIMED({
        if ((err = saMsgMessageSend(msg, &name, &out, SA_TIME_END)) != SA_AIS_OK)
            die("saMsgMessageSend", err);
        memset(&in, 0, sizeof(in));
        in.data = back;
        in.size = size + 1;
        if ((err = saMsgMessageGet(queue, &in, &sent, &sender, SA_TIME_END)) != SA_AIS_OK)
            die("saMsgMessageGet", err);
        ops++;
    });
    report("msg-send", ops, elapsed, 0);
    saMsgQueueClose(queue);
    saMsgFinalize(msg);
    free(back);
}

int main(int argc, char **argv)
{
    const char *loop;
    long s = -1;
    int opt;

    while ((opt = getopt(argc, argv, "t:s:n:")) != -1) {
        switch (opt) {
        case 't': seconds = atof(optarg); break;
        case 's': s = atol(optarg); break;
        case 'n': members = (unsigned)atoi(optarg); break;
        default: goto usage;
        }
    }
    if (optind != argc - 1)
        goto usage;
    loop = argv[optind];
    if (s < 0)
        s = (strcmp(loop, "cpg") == 0 || strcmp(loop, "evs") == 0) ? 1000 : 1;
    size = (size_t)s;
    payload = calloc(size + 8, 1);
    call_us = malloc(MAX_SAMPLES * sizeof(*call_us));
    deliver_us = malloc(MAX_SAMPLES * sizeof(*deliver_us));
    if (!payload || !call_us || !deliver_us)
        die("malloc", ENOMEM);
    wait_members();
    if (strcmp(loop, "cpg") == 0)
        loop_cpg();
    else if (strcmp(loop, "evs") == 0)
        loop_evs();
    else if (strcmp(loop, "ckpt-write") == 0)
        loop_ckpt(1);
    else if (strcmp(loop, "ckpt-read") == 0)
        loop_ckpt(0);
    else if (strcmp(loop, "evt-publish") == 0)
        loop_evt();
    else if (strcmp(loop, "clm-node-get") == 0)
        loop_clm();
    else if (strcmp(loop, "lck-lock") == 0)
        loop_lck();
    else if (strcmp(loop, "msg-send") == 0)
        loop_msg();
    else
        goto usage;
    return 0;
usage:
    fprintf(stderr, "usage: ais_loops [-t seconds] [-s size] [-n members] "
                    "cpg|evs|ckpt-write|ckpt-read|evt-publish|clm-node-get|lck-lock|msg-send\n");
    return 2;
}
