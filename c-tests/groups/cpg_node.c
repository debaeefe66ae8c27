/*
 * A CPG/EVS client for the multi-node test (c-tests/groups/cluster.sh).
 *
 *   cpg_node ring <n>             wait (10 s) until the EVS ring has n nodes
 *   cpg_node run <group> <n> <k> join, wait for n members, multicast k
 *                                 messages (safe and agreed mixed), print
 *                                 "seq <all n*k texts in delivery order>",
 *                                 then wait (30 s) for a member to leave and
 *                                 print "left <nodeid> <reason>"
 *   cpg_node members <group> <n>  join, wait (15 s) until membership_get
 *                                 reports n members; print them
 *   cpg_node hold <group> <secs>  join, print "joined <nodeid> <pid>", then
 *                                 dispatch for secs printing every confchg:
 *                                 "confchg <members> left <n/pid:reason>...
 *                                 joined <n/pid:reason>..."
 *   cpg_node evshold <secs>       EVS: print "evs ready", then every
 *                                 configuration change for secs:
 *                                 "evsconfchg <members> left <ids> joined <ids>"
 *   cpg_node evs <n> <k>          EVS: join group "E", wait 2 s, multicast
 *                                 k messages, print "evseq <n*k texts in
 *                                 delivery order>"
 *
 * Exit 0 on success, 1 on a timeout or an error.
 */
#include <corosync/cpg.h>
#include <corosync/evs.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static char seq[1 << 16];
static int delivered;
static int members_now = -1;
static unsigned int left_node, left_reason;
static int left_members; /* members after the first departure */

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static void deliver(cpg_handle_t h, struct cpg_name *g, uint32_t node, uint32_t pid, void *msg, int len)
{
    (void)h; (void)g; (void)node; (void)pid;
    if (len < 64 && strlen(seq) + len + 2 < sizeof(seq)) {
        strncat(seq, msg, len);
        strcat(seq, " ");
    }
    delivered++;
}

static void confchg(cpg_handle_t h, struct cpg_name *g, struct cpg_address *m, int nm,
                    struct cpg_address *l, int nl, struct cpg_address *j, int nj)
{
    (void)h; (void)g; (void)m; (void)j; (void)nj;
    members_now = nm;
    if (nl > 0 && left_node == 0) { /* the first departure counts */
        left_node = l[0].nodeid;
        left_reason = l[0].reason;
        left_members = nm;
    }
}

static int verbose_confchg;

static void print_confchg(cpg_handle_t h, struct cpg_name *g, struct cpg_address *m, int nm,
                          struct cpg_address *l, int nl, struct cpg_address *j, int nj)
{
    int i;
    confchg(h, g, m, nm, l, nl, j, nj);
    if (!verbose_confchg)
        return;
    printf("confchg %d left", nm);
    for (i = 0; i < nl; i++)
        printf(" %u/%u:%u", l[i].nodeid, l[i].pid, l[i].reason);
    printf(" joined");
    for (i = 0; i < nj; i++)
        printf(" %u/%u:%u", j[i].nodeid, j[i].pid, j[i].reason);
    printf("\n");
}

static cpg_callbacks_t callbacks = { deliver, print_confchg };

/* Dispatches until *flag-like condition holds or `secs` pass. */
static int pump_until(cpg_handle_t h, int (*done)(void), double secs)
{
    double end = now_s() + secs;
    int fd;
    if (cpg_fd_get(h, &fd) != CPG_OK)
        return 0;
    while (!done()) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (now_s() > end)
            return 0;
        if (poll(&p, 1, 50) > 0 && cpg_dispatch(h, CPG_DISPATCH_ALL) != CPG_OK)
            return 0;
    }
    return 1;
}

static int want_members, want_delivered;
static int have_members(void) { return members_now == want_members; }
static int have_delivered(void) { return delivered >= want_delivered; }
static int have_left(void) { return left_node != 0; }
static int have_left_never(void) { return 0; }

static struct cpg_name name_of(const char *s)
{
    struct cpg_name n;
    memset(&n, 0, sizeof(n));
    n.length = strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static int connect_cpg(cpg_handle_t *h)
{
    int i;
    for (i = 0; i < 100; i++) {
        cpg_error_t e = cpg_initialize(h, &callbacks);
        if (e == CPG_OK)
            return 1;
        if (e != CPG_ERR_TRY_AGAIN)
            break;
        usleep(100000);
    }
    fprintf(stderr, "cpg_node: cannot connect\n");
    return 0;
}

static int join(cpg_handle_t h, struct cpg_name *g)
{
    int i;
    for (i = 0; i < 100; i++) {
        cpg_error_t e = cpg_join(h, g);
        if (e == CPG_OK)
            return 1;
        if (e != CPG_ERR_TRY_AGAIN)
            break;
        usleep(100000);
    }
    fprintf(stderr, "cpg_node: cannot join\n");
    return 0;
}

static char evseq[1 << 16];
static int evs_delivered;

static void evs_deliver(unsigned int nodeid, void *msg, int len)
{
    (void)nodeid;
    if (len < 64 && strlen(evseq) + len + 2 < sizeof(evseq)) {
        strncat(evseq, msg, len);
        strcat(evseq, " ");
    }
    evs_delivered++;
}

static int evs_run(int n, int k)
{
    evs_callbacks_t cbs = { evs_deliver, NULL };
    struct evs_group group;
    evs_handle_t h;
    unsigned int local, list[16], entries = 16;
    int fd, i;
    double end;

    memset(&group, 0, sizeof(group));
    group.key[0] = 'E';
    if (evs_initialize(&h, &cbs) != EVS_OK || evs_join(h, &group, 1) != EVS_OK ||
        evs_membership_get(h, &local, list, &entries) != EVS_OK || evs_fd_get(h, &fd) != EVS_OK)
        return 1;
    /* EVS membership is local to each node: give the others time to join. */
    end = now_s() + 2;
    while (now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) > 0 && evs_dispatch(h, EVS_DISPATCH_ALL) != EVS_OK)
            return 1;
    }
    for (i = 0; i < k; i++) {
        char text[32];
        struct iovec iov;
        evs_error_t e;
        snprintf(text, sizeof(text), "e%u-%d", local, i);
        iov.iov_base = text;
        iov.iov_len = strlen(text);
        while ((e = evs_mcast_joined(h, i % 2 ? EVS_TYPE_SAFE : EVS_TYPE_AGREED, &iov, 1)) == EVS_ERR_TRY_AGAIN)
            usleep(1000);
        if (e != EVS_OK)
            return 1;
    }
    end = now_s() + 20;
    while (evs_delivered < n * k && now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) > 0 && evs_dispatch(h, EVS_DISPATCH_ALL) != EVS_OK)
            return 1;
    }
    printf("evseq %s\n", evseq);
    evs_finalize(h);
    return evs_delivered == n * k ? 0 : 1;
}

static void evs_print_confchg(unsigned int *m, int nm, unsigned int *l, int nl, unsigned int *j, int nj)
{
    int i;
    (void)m;
    printf("evsconfchg %d left", nm);
    for (i = 0; i < nl; i++)
        printf(" %u", l[i]);
    printf(" joined");
    for (i = 0; i < nj; i++)
        printf(" %u", j[i]);
    printf("\n");
}

static int evs_hold(double secs)
{
    evs_callbacks_t cbs = { NULL, evs_print_confchg };
    evs_handle_t h;
    int fd;
    double end = now_s() + secs;
    if (evs_initialize(&h, &cbs) != EVS_OK || evs_fd_get(h, &fd) != EVS_OK)
        return 1;
    printf("evs ready\n");
    while (now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) > 0 && evs_dispatch(h, EVS_DISPATCH_ALL) != EVS_OK)
            return 1;
    }
    evs_finalize(h);
    return 0;
}

static int ring(int n)
{
    evs_callbacks_t cbs = { NULL, NULL };
    evs_handle_t h;
    double end = now_s() + 10;
    while (now_s() < end) {
        unsigned int local, list[16], entries = 16;
        if (evs_initialize(&h, &cbs) == EVS_OK) {
            evs_error_t e = evs_membership_get(h, &local, list, &entries);
            evs_finalize(h);
            if (e == EVS_OK && entries == (unsigned)n) {
                printf("ring %u local %u\n", entries, local);
                return 0;
            }
        }
        usleep(200000);
    }
    return 1;
}

int main(int argc, char **argv)
{
    cpg_handle_t h;
    struct cpg_name g;
    unsigned int local;
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "ring") == 0)
        return ring(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "evshold") == 0)
        return evs_hold(atof(argv[2]));
    if (argc == 4 && strcmp(argv[1], "evs") == 0)
        return evs_run(atoi(argv[2]), atoi(argv[3]));
    if (argc < 4)
        return 2;
    g = name_of(argv[2]);
    want_members = atoi(argv[3]);
    if (!connect_cpg(&h) || !join(h, &g) || cpg_local_get(h, &local) != CPG_OK)
        return 1;
    if (strcmp(argv[1], "hold") == 0) {
        double secs = atof(argv[3]);
        verbose_confchg = 1;
        printf("joined %u %d\n", local, (int)getpid());
        pump_until(h, have_left_never, secs);
        cpg_finalize(h);
        return 0;
    }
    if (strcmp(argv[1], "members") == 0) {
        struct cpg_address list[CPG_MEMBERS_MAX];
        double end = now_s() + 15;
        int n = 0;
        while (now_s() < end) {
            if (cpg_membership_get(h, &g, list, &n) == CPG_OK && n == want_members)
                break;
            usleep(100000);
        }
        printf("members %d:", n);
        for (i = 0; i < n; i++)
            printf(" %u/%u", list[i].nodeid, list[i].pid);
        printf("\n");
        cpg_finalize(h);
        return n == want_members ? 0 : 1;
    }
    if (strcmp(argv[1], "run") == 0 && argc == 5) {
        int k = atoi(argv[4]);
        if (!pump_until(h, have_members, 20)) {
            fprintf(stderr, "cpg_node: never saw %d members (last %d)\n", want_members, members_now);
            return 1;
        }
        printf("ready %u\n", local);
        for (i = 0; i < k; i++) {
            char text[32];
            struct iovec iov;
            cpg_error_t e;
            snprintf(text, sizeof(text), "%u-%d", local, i);
            iov.iov_base = text;
            iov.iov_len = strlen(text);
            while ((e = cpg_mcast_joined(h, i % 2 ? CPG_TYPE_SAFE : CPG_TYPE_AGREED, &iov, 1)) == CPG_ERR_TRY_AGAIN)
                pump_until(h, have_left, 0.01);
            if (e != CPG_OK) {
                fprintf(stderr, "cpg_node: mcast error %d\n", e);
                return 1;
            }
        }
        want_delivered = want_members * k;
        if (!pump_until(h, have_delivered, 20)) {
            fprintf(stderr, "cpg_node: delivered %d of %d\n", delivered, want_delivered);
            return 1;
        }
        printf("seq %s\n", seq);
        /* Only departures from now on count. */
        if (left_node)
            printf("earlier-left %u %u\n", left_node, left_reason);
        left_node = 0;
        if (!pump_until(h, have_left, 30)) {
            fprintf(stderr, "cpg_node: nobody left\n");
            return 1;
        }
        printf("left %u %u members %d\n", left_node, left_reason, left_members);
        cpg_finalize(h);
        return 0;
    }
    return 2;
}
