/*
 * libcpg against a live executive, using only the installed header.
 *
 * Join, multicast, own and others' messages (two handles here and a
 * child process) in one order, leave, confchg on process exit, bad
 * handles, NULL pointers, oversized messages, membership_get, local_get,
 * context, flow control.
 */
#include <corosync/cpg.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define N 20
#define MAXREC 4096
#define BIG (1024 * 1024 - 1024) /* the largest message */

struct rec {
    cpg_handle_t h;
    unsigned int node, pid;
    char text[32];
};
static struct rec recs[MAXREC];
static int nrecs;
/* The blocking-dispatch test delivers in another thread. */
static pthread_mutex_t recs_lock = PTHREAD_MUTEX_INITIALIZER;

struct cc {
    cpg_handle_t h;
    char group[CPG_MAX_NAME_LENGTH + 1];
    int members, left, joined;
    struct cpg_address left_list[16], joined_list[16];
};
static struct cc ccs[512];
static int nccs;

static int big_len;
static int big_ok;

static void deliver(cpg_handle_t h, struct cpg_name *g, uint32_t node, uint32_t pid, void *msg, int len)
{
    (void)g;
    if (len >= 1000) {
        const unsigned char *p = msg;
        int i, ok = 1;
        for (i = 0; i < len; i++)
            if (p[i] != (unsigned char)(i * 7))
                ok = 0;
        big_len = len;
        big_ok = ok;
        return;
    }
    pthread_mutex_lock(&recs_lock);
    if (nrecs < MAXREC && len < (int)sizeof(recs[0].text)) {
        recs[nrecs].h = h;
        recs[nrecs].node = node;
        recs[nrecs].pid = pid;
        memcpy(recs[nrecs].text, msg, len);
        recs[nrecs].text[len] = 0;
        nrecs++;
    }
    pthread_mutex_unlock(&recs_lock);
}

static void confchg(cpg_handle_t h, struct cpg_name *g, struct cpg_address *m, int nm,
                    struct cpg_address *l, int nl, struct cpg_address *j, int nj)
{
    struct cc *c;
    (void)m;
    if (nccs >= 512)
        return;
    c = &ccs[nccs++];
    c->h = h;
    memcpy(c->group, g->value, g->length);
    c->group[g->length] = 0;
    c->members = nm;
    c->left = nl;
    c->joined = nj;
    memcpy(c->left_list, l, sizeof(*l) * (nl < 16 ? nl : 16));
    memcpy(c->joined_list, j, sizeof(*j) * (nj < 16 ? nj : 16));
}

static cpg_callbacks_t callbacks = { deliver, confchg };

static struct cpg_name name_of(const char *s)
{
    struct cpg_name n;
    memset(&n, 0, sizeof(n));
    n.length = strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

/* Dispatches the handles' callbacks until done() or `ms` pass. */
static int pump(cpg_handle_t *hs, int n, int (*done)(void), int ms)
{
    double end = now_s() + ms / 1000.0;
    while (!done()) {
        int i;
        if (now_s() > end)
            return 0;
        for (i = 0; i < n; i++) {
            int fd;
            if (cpg_fd_get(hs[i], &fd) != CPG_OK)
                return 0;
            if (wait_readable(fd, 10) && cpg_dispatch(hs[i], CPG_DISPATCH_ALL) != CPG_OK)
                return 0;
        }
    }
    return 1;
}

static int count_for(cpg_handle_t h)
{
    int i, c = 0;
    pthread_mutex_lock(&recs_lock);
    for (i = 0; i < nrecs; i++)
        c += recs[i].h == h;
    pthread_mutex_unlock(&recs_lock);
    return c;
}

/* The texts delivered to h, in order, joined by ',' into out. */
static void sequence(cpg_handle_t h, char *out, size_t size)
{
    int i;
    out[0] = 0;
    for (i = 0; i < nrecs; i++) {
        if (recs[i].h != h)
            continue;
        if (strlen(out) + strlen(recs[i].text) + 2 > size)
            break;
        strcat(out, recs[i].text);
        strcat(out, ",");
    }
}

static cpg_handle_t want_h;
static int want_count;
static int got_count(void) { return count_for(want_h) >= want_count; }

static int last_members(cpg_handle_t h, const char *group)
{
    int i;
    for (i = nccs - 1; i >= 0; i--)
        if (ccs[i].h == h && strcmp(ccs[i].group, group) == 0)
            return ccs[i].members;
    return -1;
}
static const char *want_group;
static int want_members;
static int got_members(void) { return last_members(want_h, want_group) == want_members; }

static int send_text(cpg_handle_t h, const char *text)
{
    struct iovec iov;
    iov.iov_base = (void *)text;
    iov.iov_len = strlen(text);
    return cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
}

static void test_bad_arguments(void)
{
    cpg_handle_t h, bogus = 0x12345678abcdULL;
    struct cpg_name g = name_of("args"), longname;
    struct cpg_address list[CPG_MEMBERS_MAX];
    int n, fd;
    unsigned int node;
    cpg_flow_control_state_t fc;
    void *ctx;
    struct iovec iov;
    char byte = 'x';

    CHECK_EQ(cpg_initialize(NULL, &callbacks), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_initialize(&h, NULL), CPG_ERR_INVALID_PARAM);

    CHECK_EQ(cpg_finalize(bogus), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_fd_get(bogus, &fd), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_dispatch(bogus, CPG_DISPATCH_ALL), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_join(bogus, &g), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_leave(bogus, &g), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(send_text(bogus, "x"), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_membership_get(bogus, &g, list, &n), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_local_get(bogus, &node), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_flow_control_state_get(bogus, &fc), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_context_get(bogus, &ctx), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_context_set(bogus, &ctx), CPG_ERR_BAD_HANDLE);

    CHECK_EQ(cpg_initialize(&h, &callbacks), CPG_OK);
    CHECK_EQ(cpg_fd_get(h, NULL), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_join(h, NULL), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_leave(h, NULL), CPG_ERR_INVALID_PARAM);
    longname = name_of("x");
    longname.length = CPG_MAX_NAME_LENGTH + 1;
    CHECK_EQ(cpg_join(h, &longname), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_dispatch(h, (cpg_dispatch_t)3), CPG_ERR_INVALID_PARAM);
    iov.iov_base = &byte;
    iov.iov_len = 1;
    CHECK_EQ(cpg_mcast_joined(h, (cpg_guarantee_t)4, &iov, 1), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_mcast_joined(h, CPG_TYPE_AGREED, NULL, 1), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, -1), CPG_ERR_INVALID_PARAM);
    iov.iov_base = NULL;
    CHECK_EQ(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_membership_get(h, NULL, list, &n), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_membership_get(h, &g, NULL, &n), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_membership_get(h, &g, list, NULL), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_local_get(h, NULL), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_flow_control_state_get(h, NULL), CPG_ERR_INVALID_PARAM);
    CHECK_EQ(cpg_context_get(h, NULL), CPG_ERR_INVALID_PARAM);

    /* Not a member: cannot leave or send. */
    CHECK_EQ(cpg_leave(h, &g), CPG_ERR_NOT_EXIST);
    CHECK_EQ(send_text(h, "x"), CPG_ERR_NOT_EXIST);
    /* A group nobody is in has no members. */
    n = -1;
    CHECK_EQ(cpg_membership_get(h, &g, list, &n), CPG_OK);
    CHECK_EQ(n, 0);
    /* Joining twice. */
    CHECK_EQ(cpg_join(h, &g), CPG_OK);
    CHECK_EQ(cpg_join(h, &g), CPG_ERR_EXIST);

    /* Context. */
    ctx = &byte;
    CHECK_EQ(cpg_context_get(h, &ctx), CPG_OK);
    CHECK(ctx == NULL);
    CHECK_EQ(cpg_context_set(h, &byte), CPG_OK);
    CHECK_EQ(cpg_context_get(h, &ctx), CPG_OK);
    CHECK(ctx == &byte);

    CHECK_EQ(cpg_finalize(h), CPG_OK);
    CHECK_EQ(cpg_finalize(h), CPG_ERR_BAD_HANDLE);
    CHECK_EQ(cpg_join(h, &g), CPG_ERR_BAD_HANDLE);
}

/* The child of test_order: joins, waits for three members, sends N
 * messages, receives 3N and writes the sequence it saw to `out`. */
static void order_child(int out)
{
    cpg_handle_t hc;
    struct cpg_name g = name_of("order");
    char seq[4096], text[16];
    int i;
    nrecs = nccs = 0;
    if (cpg_initialize(&hc, &callbacks) != CPG_OK || cpg_join(hc, &g) != CPG_OK)
        _exit(2);
    want_h = hc;
    want_group = "order";
    want_members = 3;
    if (!pump(&hc, 1, got_members, 10000))
        _exit(3);
    for (i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "c%02d", i);
        if (send_text(hc, text) != CPG_OK)
            _exit(4);
    }
    want_count = 3 * N;
    if (!pump(&hc, 1, got_count, 10000))
        _exit(5);
    sequence(hc, seq, sizeof(seq));
    if (write(out, seq, strlen(seq)) != (ssize_t)strlen(seq))
        _exit(6);
    cpg_finalize(hc);
    _exit(0);
}

static void test_order_and_leave(cpg_handle_t h1, cpg_handle_t h2)
{
    cpg_handle_t both[2];
    struct cpg_name g = name_of("order");
    int pipefd[2], i, status, n;
    pid_t child;
    char s1[4096], s2[4096], sc[4096];
    ssize_t got;
    unsigned int node;
    struct cpg_address list[CPG_MEMBERS_MAX];

    both[0] = h1;
    both[1] = h2;
    CHECK_EQ(cpg_join(h1, &g), CPG_OK);
    CHECK_EQ(cpg_join(h2, &g), CPG_OK);
    CHECK(pipe(pipefd) == 0);
    fflush(NULL);
    child = fork();
    if (child == 0) {
        close(pipefd[0]);
        order_child(pipefd[1]);
    }
    close(pipefd[1]);
    want_h = h1;
    want_group = "order";
    want_members = 3;
    CHECK(pump(both, 2, got_members, 10000));
    for (i = 0; i < N; i++) {
        char text[16];
        snprintf(text, sizeof(text), "a%02d", i);
        CHECK_EQ(send_text(h1, text), CPG_OK);
        snprintf(text, sizeof(text), "b%02d", i);
        CHECK_EQ(send_text(h2, text), CPG_OK);
    }
    want_count = 3 * N;
    want_h = h1;
    CHECK(pump(both, 2, got_count, 10000));
    want_h = h2;
    CHECK(pump(both, 2, got_count, 10000));
    got = 0;
    for (;;) {
        ssize_t r = read(pipefd[0], sc + got, sizeof(sc) - 1 - got);
        if (r <= 0)
            break;
        got += r;
    }
    sc[got] = 0;
    close(pipefd[0]);
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sequence(h1, s1, sizeof(s1));
    sequence(h2, s2, sizeof(s2));
    CHECK_EQ(count_for(h1), 3 * N);
    CHECK(strcmp(s1, s2) == 0);
    CHECK(strcmp(s1, sc) == 0);
    if (strcmp(s1, sc) != 0)
        fprintf(stderr, "  h1:    %s\n  child: %s\n", s1, sc);
    /* Each sender's messages in the order sent, own ones included. */
    {
        int next_a = 0, next_b = 0, next_c = 0, fifo = 1;
        CHECK_EQ(cpg_local_get(h1, &node), CPG_OK);
        for (i = 0; i < nrecs; i++) {
            int k = atoi(recs[i].text + 1);
            if (recs[i].h != h1)
                continue;
            CHECK_EQ(recs[i].node, node);
            switch (recs[i].text[0]) {
            case 'a': fifo &= k == next_a++; CHECK_EQ(recs[i].pid, getpid()); break;
            case 'b': fifo &= k == next_b++; CHECK_EQ(recs[i].pid, getpid()); break;
            case 'c': fifo &= k == next_c++; CHECK_EQ(recs[i].pid, child); break;
            default: fifo = 0;
            }
        }
        CHECK(fifo);
        CHECK_EQ(next_a + next_b + next_c, 3 * N);
    }

    /* The child finalized: two members left, both this process. */
    want_h = h1;
    want_members = 2;
    CHECK(pump(both, 2, got_members, 5000));
    CHECK_EQ(cpg_membership_get(h1, &g, list, &n), CPG_OK);
    CHECK_EQ(n, 2);
    CHECK_EQ(list[0].pid, getpid());
    CHECK_EQ(list[1].pid, getpid());
    CHECK_EQ(list[0].nodeid, node);

    /* Leave: the remaining member and the leaver both hear of it. */
    nccs = 0;
    CHECK_EQ(cpg_leave(h2, &g), CPG_OK);
    want_h = h1;
    want_members = 1;
    CHECK(pump(both, 2, got_members, 5000));
    want_h = h2;
    want_members = 1;
    CHECK(pump(both, 2, got_members, 5000));
    for (i = 0; i < nccs; i++) {
        CHECK_EQ(ccs[i].left, 1);
        CHECK_EQ(ccs[i].left_list[0].reason, CPG_REASON_LEAVE);
        CHECK_EQ(ccs[i].left_list[0].pid, getpid());
    }
    CHECK_EQ(nccs, 2);
    CHECK_EQ(send_text(h2, "x"), CPG_ERR_NOT_EXIST);
}

static int procdown_seen;
static pid_t procdown_pid;
static int saw_procdown(void)
{
    int i;
    for (i = 0; i < nccs; i++)
        if (strcmp(ccs[i].group, "pd") == 0 && ccs[i].left == 1 &&
            ccs[i].left_list[0].pid == (unsigned)procdown_pid &&
            ccs[i].left_list[0].reason == CPG_REASON_PROCDOWN)
            procdown_seen = 1;
    return procdown_seen;
}

static void test_process_exit(cpg_handle_t h1)
{
    struct cpg_name g = name_of("pd");
    int status, i, joined = 0;
    pid_t child;

    nccs = 0;
    CHECK_EQ(cpg_join(h1, &g), CPG_OK);
    fflush(NULL);
    child = fork();
    if (child == 0) {
        cpg_handle_t hc;
        if (cpg_initialize(&hc, &callbacks) != CPG_OK || cpg_join(hc, &g) != CPG_OK)
            _exit(2);
        _exit(0); /* no finalize, no leave */
    }
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    procdown_pid = child;
    CHECK(pump(&h1, 1, saw_procdown, 5000));
    for (i = 0; i < nccs; i++)
        if (ccs[i].joined == 1 && ccs[i].joined_list[0].pid == (unsigned)child &&
            ccs[i].joined_list[0].reason == CPG_REASON_JOIN)
            joined = 1;
    CHECK(joined);
    CHECK_EQ(last_members(h1, "pd"), 1);
    CHECK_EQ(cpg_leave(h1, &g), CPG_OK);
}

static int got_big(void) { return big_len != 0; }
static const char *want_text;
static int got_text(void)
{
    int i;
    for (i = 0; i < nrecs; i++)
        if (strcmp(recs[i].text, want_text) == 0)
            return 1;
    return 0;
}

static void test_sizes(cpg_handle_t h1)
{
    unsigned char *big = malloc(BIG + 1);
    struct iovec iov[3];
    int i;

    CHECK(big != NULL);
    if (!big)
        return;
    for (i = 0; i < BIG + 1; i++)
        big[i] = (unsigned char)(i * 7);
    iov[0].iov_base = big;
    iov[0].iov_len = BIG + 1;
    CHECK_EQ(cpg_mcast_joined(h1, CPG_TYPE_AGREED, iov, 1), CPG_ERR_INVALID_PARAM);
    /* Split over two pieces, still one byte too many. */
    iov[0].iov_len = BIG;
    iov[1].iov_base = big;
    iov[1].iov_len = 1;
    CHECK_EQ(cpg_mcast_joined(h1, CPG_TYPE_AGREED, iov, 2), CPG_ERR_INVALID_PARAM);
    /* The largest message arrives whole. */
    big_len = 0;
    CHECK_EQ(cpg_mcast_joined(h1, CPG_TYPE_SAFE, iov, 1), CPG_OK);
    CHECK(pump(&h1, 1, got_big, 5000));
    CHECK_EQ(big_len, BIG);
    CHECK(big_ok);
    free(big);
    /* Pieces are concatenated. */
    iov[0].iov_base = "con";
    iov[0].iov_len = 3;
    iov[1].iov_base = NULL;
    iov[1].iov_len = 0;
    iov[2].iov_base = "cat";
    iov[2].iov_len = 3;
    CHECK_EQ(cpg_mcast_joined(h1, CPG_TYPE_FIFO, iov, 3), CPG_OK);
    want_text = "concat";
    CHECK(pump(&h1, 1, got_text, 5000));
}

static void test_flow_control(cpg_handle_t h1)
{
    cpg_flow_control_state_t fc = (cpg_flow_control_state_t)7;
    int sent = 0, again = 0, i;

    CHECK_EQ(cpg_flow_control_state_get(h1, &fc), CPG_OK);
    CHECK_EQ(fc, CPG_FLOW_CONTROL_DISABLED);
    /* Without dispatching, the library stops a sender before its own
     * messages overrun its callback queue: TRY_AGAIN, flow control on. */
    nrecs = 0;
    for (i = 0; i < 5000 && !again; i++) {
        cpg_error_t e = send_text(h1, "f");
        if (e == CPG_OK)
            sent++;
        else if (e == CPG_ERR_TRY_AGAIN)
            again = 1;
        else
            break;
    }
    CHECK(again);
    CHECK(sent >= 256);
    CHECK_EQ(cpg_flow_control_state_get(h1, &fc), CPG_OK);
    CHECK_EQ(fc, CPG_FLOW_CONTROL_ENABLED);
    /* Dispatching drains it. */
    want_h = h1;
    want_count = sent;
    CHECK(pump(&h1, 1, got_count, 10000));
    CHECK_EQ(count_for(h1), sent);
    CHECK_EQ(cpg_flow_control_state_get(h1, &fc), CPG_OK);
    CHECK_EQ(fc, CPG_FLOW_CONTROL_DISABLED);
    CHECK_EQ(send_text(h1, "after"), CPG_OK);
}

/* DISPATCH_ONE runs one callback per call; DISPATCH_BLOCKING in another
 * thread runs them as they come and returns CPG_OK once the handle is
 * finalized. */
static cpg_handle_t blocking_h;
static cpg_error_t blocking_result = (cpg_error_t)0;

static void *blocking_dispatch(void *arg)
{
    (void)arg;
    blocking_result = cpg_dispatch(blocking_h, CPG_DISPATCH_BLOCKING);
    return NULL;
}

static void test_dispatch_modes(void)
{
    cpg_handle_t h;
    struct cpg_name g = name_of("modes");
    pthread_t t;
    int fd, i, before;

    CHECK_EQ(cpg_initialize(&h, &callbacks), CPG_OK);
    CHECK_EQ(cpg_join(h, &g), CPG_OK);
    CHECK_EQ(cpg_fd_get(h, &fd), CPG_OK);
    CHECK(wait_readable(fd, 5000)); /* the join's confchg */
    CHECK_EQ(cpg_dispatch(h, CPG_DISPATCH_ALL), CPG_OK);
    nrecs = 0;
    for (i = 0; i < 3; i++)
        CHECK_EQ(send_text(h, "one"), CPG_OK);
    for (i = 0; i < 3; i++) {
        before = nrecs;
        CHECK(wait_readable(fd, 5000));
        CHECK_EQ(cpg_dispatch(h, CPG_DISPATCH_ONE), CPG_OK);
        CHECK_EQ(nrecs, before + 1);
    }
    /* Nothing pending: ONE and ALL return at once. */
    CHECK_EQ(cpg_dispatch(h, CPG_DISPATCH_ONE), CPG_OK);
    CHECK_EQ(cpg_dispatch(h, CPG_DISPATCH_ALL), CPG_OK);
    CHECK_EQ(nrecs, 3);

    blocking_h = h;
    CHECK(pthread_create(&t, NULL, blocking_dispatch, NULL) == 0);
    for (i = 0; i < 50; i++)
        CHECK_EQ(send_text(h, "blk"), CPG_OK);
    want_h = h;
    want_count = 53;
    {
        double end = now_s() + 5;
        while (count_for(h) < 53 && now_s() < end)
            usleep(1000);
    }
    CHECK_EQ(count_for(h), 53);
    CHECK_EQ(cpg_finalize(h), CPG_OK);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(blocking_result, CPG_OK);
}

int main(void)
{
    cpg_handle_t h1, h2;
    cpg_error_t e;
    int tries;

    alarm(60);
    /* The executive may still be starting. */
    for (tries = 0; (e = cpg_initialize(&h1, &callbacks)) == CPG_ERR_TRY_AGAIN && tries < 50; tries++)
        usleep(100000);
    CHECK_EQ(e, CPG_OK);
    if (e != CPG_OK)
        return finish("cpg_test");
    CHECK_EQ(cpg_initialize(&h2, &callbacks), CPG_OK);
    test_bad_arguments();
    test_order_and_leave(h1, h2);
    test_process_exit(h1);
    test_sizes(h1);
    test_flow_control(h1);
    test_dispatch_modes();
    CHECK_EQ(cpg_finalize(h2), CPG_OK);
    CHECK_EQ(cpg_finalize(h1), CPG_OK);
    return finish("cpg_test");
}
