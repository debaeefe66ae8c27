/*
 * A small client of libSaMsg for the multi-node tests and the benchmark
 * (c-tests/msg/cluster.sh, bench.sh). Talks to the executive that
 * COROSYNC_RUN_DIR names. Every wait is bounded.
 *
 *   msg_node create <queue> [persistent]  create (and close) a queue: 10 MB per area
 *   msg_node send <dest> <tag> <n> [prio] send "<tag> <i>" for i = 1..n, print "acked <i>"
 *   msg_node recv <queue> <n> [secs]      open (create if missing), get n, print "got <text>"
 *   msg_node drain <queue>                open, print every queued message, close
 *   msg_node hold <queue>                 open and keep it open, print "open"; then sleep
 *   msg_node group <group> <policy> <queue>...   create a group (policy 1-4) of queues
 *   msg_node serve <queue> <n>            answer n sendReceives with "re:<text>"
 *   msg_node ask <dest> <text>            sendReceive, print "reply <text> <microseconds>"
 *   msg_node status <queue>               print "messages <n> used <bytes> closed <0|1>"
 *   msg_node bench-local <n> <size>       send+get round trips on one queue, one process
 *   msg_node bench-send <dest> <n> <size> [async]  n sends of size bytes; prints the rate
 *   msg_node bench-recv <queue> <n>       get n messages (created queue), prints the rate
 *   msg_node bench-ask <dest> <n>         n sendReceive round trips; prints the mean
 *
 * Exits 0 on success, 1 on any failure (with a line on stderr).
 */
#define _DEFAULT_SOURCE
#include <corosync/saMsg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)

static SaMsgHandleT h;

static void die(const char *what, SaAisErrorT rc)
{
    fprintf(stderr, "msg_node: %s: error %d\n", what, (int)rc);
    exit(1);
}

static SaNameT name(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static SaMsgQueueHandleT open_queue(const char *q, int persistent)
{
    SaNameT n = name(q);
    SaMsgQueueCreationAttributesT a;
    SaMsgQueueHandleT qh;
    SaAisErrorT rc;
    int p;
    a.creationFlags = persistent ? SA_MSG_QUEUE_PERSISTENT : 0;
    for (p = 0; p < 4; p++)
        a.size[p] = 10 * 1024 * 1024;
    a.retentionTime = 60 * SECOND;
    rc = saMsgQueueOpen(h, &n, NULL, 0, 10 * SECOND, &qh);
    if (rc == SA_AIS_ERR_NOT_EXIST)
        rc = saMsgQueueOpen(h, &n, &a, SA_MSG_QUEUE_CREATE, 10 * SECOND, &qh);
    if (rc != SA_AIS_OK)
        die("saMsgQueueOpen", rc);
    return qh;
}

static SaMsgMessageT message(void *data, size_t size, SaUint8T prio)
{
    SaMsgMessageT m;
    memset(&m, 0, sizeof m);
    m.data = data;
    m.size = size;
    m.priority = prio;
    return m;
}

/* Gets one message into buf (NUL-terminated); its size. */
static size_t get(SaMsgQueueHandleT q, char *buf, size_t room, SaTimeT timeout, SaMsgSenderIdT *sender)
{
    SaMsgMessageT m = message(buf, room - 1, 0);
    SaAisErrorT rc = saMsgMessageGet(q, &m, NULL, sender, timeout);
    if (rc != SA_AIS_OK)
        die("saMsgMessageGet", rc);
    buf[m.size] = 0;
    return m.size;
}

static void send_sync(const char *dest, void *data, size_t size, SaUint8T prio)
{
    SaNameT to = name(dest);
    SaMsgMessageT m = message(data, size, prio);
    SaAisErrorT rc;
    int tries = 0;
    /* TRY_AGAIN while the cluster changes: retried (bounded). */
    while ((rc = saMsgMessageSend(h, &to, &m, 10 * SECOND)) == SA_AIS_ERR_TRY_AGAIN && tries++ < 1000)
        usleep(10000);
    if (rc != SA_AIS_OK)
        die("saMsgMessageSend", rc);
}

int main(int argc, char **argv)
{
    SaVersionT v = {'B', 1, 1};
    SaAisErrorT rc;
    const char *cmd = argc > 1 ? argv[1] : "";
    char buf[70000];
    int i, tries = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((rc = saMsgInitialize(&h, NULL, &v)) == SA_AIS_ERR_TRY_AGAIN && tries++ < 500)
        usleep(20000);
    if (rc != SA_AIS_OK)
        die("saMsgInitialize", rc);

    if (!strcmp(cmd, "create") && argc >= 3) {
        saMsgQueueClose(open_queue(argv[2], argc > 3));
    } else if (!strcmp(cmd, "send") && argc >= 5) {
        int n = atoi(argv[4]);
        SaUint8T prio = (SaUint8T)(argc > 5 ? atoi(argv[5]) : 0);
        for (i = 1; i <= n; i++) {
            int len = snprintf(buf, sizeof buf, "%s %d", argv[3], i);
            send_sync(argv[2], buf, (size_t)len, prio);
            printf("acked %d\n", i);
        }
    } else if (!strcmp(cmd, "recv") && argc >= 4) {
        SaMsgQueueHandleT q = open_queue(argv[2], 0);
        int n = atoi(argv[3]);
        SaTimeT timeout = (argc > 4 ? atoi(argv[4]) : 30) * SECOND;
        printf("open\n");
        for (i = 0; i < n; i++) {
            get(q, buf, sizeof buf, timeout, NULL);
            printf("got %s\n", buf);
        }
    } else if (!strcmp(cmd, "drain") && argc >= 3) {
        SaNameT n = name(argv[2]);
        SaMsgQueueHandleT q;
        SaMsgMessageT m;
        if ((rc = saMsgQueueOpen(h, &n, NULL, 0, 10 * SECOND, &q)) != SA_AIS_OK)
            die("saMsgQueueOpen", rc);
        for (;;) {
            m = message(buf, sizeof buf - 1, 0);
            rc = saMsgMessageGet(q, &m, NULL, NULL, 0);
            if (rc == SA_AIS_ERR_TIMEOUT)
                break;
            if (rc != SA_AIS_OK)
                die("saMsgMessageGet", rc);
            buf[m.size] = 0;
            printf("got %s\n", buf);
        }
        saMsgQueueClose(q);
    } else if (!strcmp(cmd, "hold") && argc >= 3) {
        open_queue(argv[2], 0);
        printf("open\n");
        sleep(600);
    } else if (!strcmp(cmd, "group") && argc >= 5) {
        SaNameT g = name(argv[2]);
        if ((rc = saMsgQueueGroupCreate(h, &g, (SaMsgQueueGroupPolicyT)atoi(argv[3]))) != SA_AIS_OK)
            die("saMsgQueueGroupCreate", rc);
        for (i = 4; i < argc; i++) {
            SaNameT q = name(argv[i]);
            if ((rc = saMsgQueueGroupInsert(h, &g, &q)) != SA_AIS_OK)
                die("saMsgQueueGroupInsert", rc);
        }
    } else if (!strcmp(cmd, "serve") && argc >= 4) {
        SaMsgQueueHandleT q = open_queue(argv[2], 0);
        int n = atoi(argv[3]);
        printf("open\n");
        for (i = 0; i < n; i++) {
            SaMsgSenderIdT sender = 0;
            char reply[80];
            SaMsgMessageT r;
            get(q, buf, 64, 60 * SECOND, &sender);
            snprintf(reply, sizeof reply, "re:%.64s", buf);
            r = message(reply, strlen(reply), 0);
            if ((rc = saMsgMessageReply(h, &r, &sender, 10 * SECOND)) != SA_AIS_OK)
                die("saMsgMessageReply", rc);
        }
    } else if (!strcmp(cmd, "ask") && argc >= 4) {
        SaNameT to = name(argv[2]);
        SaMsgMessageT m = message(argv[3], strlen(argv[3]), 0), r = message(buf, 1000, 0);
        double t0 = now();
        if ((rc = saMsgMessageSendReceive(h, &to, &m, &r, NULL, 10 * SECOND)) != SA_AIS_OK)
            die("saMsgMessageSendReceive", rc);
        buf[r.size] = 0;
        printf("reply %s %.0f\n", buf, (now() - t0) * 1e6);
    } else if (!strcmp(cmd, "status") && argc >= 3) {
        SaNameT n = name(argv[2]);
        SaMsgQueueStatusT st;
        unsigned long count = 0, used = 0;
        if ((rc = saMsgQueueStatusGet(h, &n, &st)) != SA_AIS_OK)
            die("saMsgQueueStatusGet", rc);
        for (i = 0; i < 4; i++) {
            count += st.saMsgQueueUsage[i].numberOfMessages;
            used += st.saMsgQueueUsage[i].queueUsed;
        }
        printf("messages %lu used %lu closed %d\n", count, used, st.closeTime != 0);
    } else if (!strcmp(cmd, "bench-local") && argc >= 4) {
        int n = atoi(argv[2]);
        size_t size = (size_t)atoi(argv[3]);
        char qname[64];
        SaMsgQueueHandleT q;
        double t0;
        snprintf(qname, sizeof qname, "bench-local-%ld", (long)getpid());
        q = open_queue(qname, 0);
        memset(buf, 'b', size);
        t0 = now();
        for (i = 0; i < n; i++) {
            send_sync(qname, buf, size, 0);
            get(q, buf, sizeof buf, 10 * SECOND, NULL);
        }
        printf("msg bench: %d send+get round trips of %zu bytes on one queue: %.0f/s\n", n, size,
               n / (now() - t0));
        saMsgQueueClose(q);
    } else if (!strcmp(cmd, "bench-send") && argc >= 5) {
        int n = atoi(argv[3]), async = argc > 5;
        size_t size = (size_t)atoi(argv[4]);
        SaNameT to = name(argv[2]);
        double t0;
        memset(buf, 's', size);
        t0 = now();
        for (i = 0; i < n; i++) {
            if (async) {
                SaMsgMessageT m = message(buf, size, 0);
                while ((rc = saMsgMessageSendAsync(h, (SaInvocationT)i, &to, &m, 0)) == SA_AIS_ERR_TRY_AGAIN)
                    usleep(100);
                if (rc != SA_AIS_OK)
                    die("saMsgMessageSendAsync", rc);
            } else {
                send_sync(argv[2], buf, size, 0);
            }
        }
        printf("msg bench: %d %s sends of %zu bytes: %.0f msg/s\n", n, async ? "async" : "sync", size,
               n / (now() - t0));
    } else if (!strcmp(cmd, "bench-recv") && argc >= 4) {
        SaMsgQueueHandleT q = open_queue(argv[2], 0);
        int n = atoi(argv[3]);
        double t0 = 0;
        printf("open\n");
        for (i = 0; i < n; i++) {
            get(q, buf, sizeof buf, 60 * SECOND, NULL);
            if (i == 0)
                t0 = now();
        }
        printf("msg bench: received %d messages: %.0f msg/s\n", n, (n - 1) / (now() - t0));
    } else if (!strcmp(cmd, "bench-ask") && argc >= 4) {
        SaNameT to = name(argv[2]);
        int n = atoi(argv[3]);
        SaMsgMessageT m = message("ping", 4, 0), r;
        double t0 = now();
        for (i = 0; i < n; i++) {
            r = message(buf, 1000, 0);
            if ((rc = saMsgMessageSendReceive(h, &to, &m, &r, NULL, 10 * SECOND)) != SA_AIS_OK)
                die("saMsgMessageSendReceive", rc);
        }
        printf("msg bench: %d sendReceive round trips: %.0f us each\n", n, (now() - t0) * 1e6 / n);
    } else {
        fprintf(stderr, "msg_node: bad arguments (see the source's comment)\n");
        return 2;
    }
    saMsgFinalize(h);
    return 0;
}
