/*
 * libevs against a live executive, using only the installed header:
 * join, multicast to joined and to named groups, own and others'
 * messages in one order, leave, membership, bad handles, NULL pointers,
 * oversized messages.
 */
#include <corosync/evs.h>

#include <unistd.h>

#include "common.h"

#define BIG (1024 * 1024 - 1024)

/* evs_deliver_fn has no handle argument: dispatch sets `current`. */
static int current;
static char seen[2][4096];
static int seen_count[2];
static int big_len, big_ok;
static unsigned int last_node;

static void deliver(unsigned int nodeid, void *msg, int len)
{
    char text[64];
    last_node = nodeid;
    if (len >= 1000) {
        const unsigned char *p = msg;
        int i;
        big_ok = 1;
        for (i = 0; i < len; i++)
            if (p[i] != (unsigned char)(i * 3))
                big_ok = 0;
        big_len = len;
        return;
    }
    if (len >= (int)sizeof(text) - 2)
        return;
    memcpy(text, msg, len);
    text[len] = ',';
    text[len + 1] = 0;
    if (strlen(seen[current]) + strlen(text) < sizeof(seen[0]))
        strcat(seen[current], text);
    seen_count[current]++;
}

static void confchg(unsigned int *m, int nm, unsigned int *l, int nl, unsigned int *j, int nj)
{
    (void)m; (void)nm; (void)l; (void)nl; (void)j; (void)nj;
}

static evs_callbacks_t callbacks = { deliver, confchg };
static evs_handle_t hs[2];

static struct evs_group group(const char *name)
{
    struct evs_group g;
    memset(&g, 0, sizeof(g));
    strncpy(g.key, name, sizeof(g.key));
    return g;
}

static int send_to(evs_handle_t h, const char *text, struct evs_group *groups, int n)
{
    struct iovec iov;
    iov.iov_base = (void *)text;
    iov.iov_len = strlen(text);
    if (groups)
        return evs_mcast_groups(h, EVS_TYPE_AGREED, groups, n, &iov, 1);
    return evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1);
}

/* Dispatches both handles until each has `want0`/`want1` messages. */
static int pump(int want0, int want1, int ms)
{
    double end = now_s() + ms / 1000.0;
    while (seen_count[0] < want0 || seen_count[1] < want1 || big_len < 0) {
        int i;
        if (now_s() > end)
            return 0;
        for (i = 0; i < 2; i++) {
            int fd;
            if (evs_fd_get(hs[i], &fd) != EVS_OK)
                return 0;
            if (wait_readable(fd, 10)) {
                current = i;
                if (evs_dispatch(hs[i], EVS_DISPATCH_ALL) != EVS_OK)
                    return 0;
            }
        }
    }
    return 1;
}

static void reset(void)
{
    seen[0][0] = seen[1][0] = 0;
    seen_count[0] = seen_count[1] = 0;
}

int main(void)
{
    evs_handle_t bogus = 0xdeadbeefULL;
    struct evs_group a = group("A"), b = group("B"), ab[2], many[65];
    unsigned int local = 0, members[8];
    unsigned int n;
    int fd, i, tries;
    evs_error_t e;
    struct iovec iov;
    unsigned char *big;

    alarm(60);
    ab[0] = a;
    ab[1] = b;
    for (i = 0; i < 65; i++) {
        char name[8];
        snprintf(name, sizeof(name), "m%d", i);
        many[i] = group(name);
    }

    CHECK_EQ(evs_initialize(NULL, &callbacks), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_initialize(&hs[0], NULL), EVS_ERR_INVALID_PARAM);
    for (tries = 0; (e = evs_initialize(&hs[0], &callbacks)) == EVS_ERR_TRY_AGAIN && tries < 50; tries++)
        usleep(100000);
    CHECK_EQ(e, EVS_OK);
    if (e != EVS_OK)
        return finish("evs_test");
    CHECK_EQ(evs_initialize(&hs[1], &callbacks), EVS_OK);

    /* Bad handles. */
    CHECK_EQ(evs_finalize(bogus), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(evs_fd_get(bogus, &fd), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(evs_dispatch(bogus, EVS_DISPATCH_ONE), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(evs_join(bogus, &a, 1), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(evs_leave(bogus, &a, 1), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(send_to(bogus, "x", NULL, 0), EVS_ERR_BAD_HANDLE);
    CHECK_EQ(send_to(bogus, "x", &a, 1), EVS_ERR_BAD_HANDLE);
    n = 8;
    CHECK_EQ(evs_membership_get(bogus, &local, members, &n), EVS_ERR_BAD_HANDLE);

    /* NULL pointers and bad values. */
    CHECK_EQ(evs_fd_get(hs[0], NULL), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_join(hs[0], NULL, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_join(hs[0], &a, -1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_leave(hs[0], NULL, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_dispatch(hs[0], (evs_dispatch_t)3), EVS_ERR_INVALID_PARAM);
    iov.iov_base = "x";
    iov.iov_len = 1;
    CHECK_EQ(evs_mcast_joined(hs[0], (evs_guarantee_t)9, &iov, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_mcast_joined(hs[0], EVS_TYPE_AGREED, NULL, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_mcast_groups(hs[0], EVS_TYPE_AGREED, NULL, 1, &iov, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_mcast_groups(hs[0], EVS_TYPE_AGREED, &a, 0, &iov, 1), EVS_ERR_INVALID_PARAM);
    CHECK_EQ(evs_membership_get(hs[0], &local, members, NULL), EVS_ERR_INVALID_PARAM);
    /* As in the classic library, the node id and the list are optional. */
    n = 8;
    members[0] = 0;
    CHECK_EQ(evs_membership_get(hs[0], NULL, members, &n), EVS_OK);
    CHECK_EQ(n, 1);
    CHECK(members[0] != 0);
    n = 8;
    local = 0;
    CHECK_EQ(evs_membership_get(hs[0], &local, NULL, &n), EVS_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(local, members[0]);

    /* Limits and state errors. */
    CHECK_EQ(send_to(hs[0], "x", NULL, 0), EVS_ERR_NOT_EXIST);
    CHECK_EQ(evs_join(hs[0], many, 65), EVS_ERR_TOO_MANY_GROUPS);
    CHECK_EQ(evs_join(hs[0], many, 64), EVS_OK);
    CHECK_EQ(evs_join(hs[0], &a, 1), EVS_ERR_TOO_MANY_GROUPS);
    CHECK_EQ(evs_leave(hs[0], many, 64), EVS_OK);
    CHECK_EQ(evs_leave(hs[0], &a, 1), EVS_ERR_NOT_EXIST);

    /* Membership of the one-node ring. */
    n = 8;
    CHECK_EQ(evs_membership_get(hs[0], &local, members, &n), EVS_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(members[0], local);
    CHECK(local != 0);
    n = 0;
    CHECK_EQ(evs_membership_get(hs[0], &local, members, &n), EVS_OK);
    CHECK_EQ(n, 0);

    /* hs[0] in A; hs[1] in A and B. */
    CHECK_EQ(evs_join(hs[0], &a, 1), EVS_OK);
    CHECK_EQ(evs_join(hs[1], ab, 2), EVS_OK);
    reset();
    for (i = 0; i < 10; i++) {
        char text[16];
        snprintf(text, sizeof(text), "a%d", i);
        CHECK_EQ(send_to(hs[0], text, NULL, 0), EVS_OK);
        snprintf(text, sizeof(text), "b%d", i);
        CHECK_EQ(send_to(hs[1], text, &a, 1), EVS_OK);
    }
    CHECK(pump(20, 20, 10000));
    CHECK(strcmp(seen[0], seen[1]) == 0);
    CHECK_EQ(last_node, local);
    /* Each sender's messages in order, own ones included. */
    {
        int na = 0, nb = 0, fifo = 1;
        char *p = seen[0];
        while (*p) {
            int k = atoi(p + 1);
            fifo &= (*p == 'a') ? k == na++ : k == nb++;
            p = strchr(p, ',') + 1;
        }
        CHECK(fifo);
        CHECK_EQ(na, 10);
        CHECK_EQ(nb, 10);
    }

    /* To B only: hs[0] is not in B. To A and B: once per handle. */
    reset();
    CHECK_EQ(send_to(hs[0], "onlyB", &b, 1), EVS_OK);
    CHECK_EQ(send_to(hs[1], "both", NULL, 0), EVS_OK);
    CHECK(pump(1, 2, 5000));
    CHECK(strcmp(seen[0], "both,") == 0);
    CHECK(strcmp(seen[1], "onlyB,both,") == 0);

    /* After leaving A, hs[0] gets nothing more. */
    CHECK_EQ(evs_leave(hs[0], &a, 1), EVS_OK);
    reset();
    CHECK_EQ(send_to(hs[1], "late", &a, 1), EVS_OK);
    CHECK(pump(0, 1, 5000));
    usleep(100000);
    CHECK(pump(0, 1, 100));
    CHECK_EQ(seen_count[0], 0);

    /* Sizes. */
    big = malloc(BIG + 1);
    CHECK(big != NULL);
    if (big) {
        for (i = 0; i < BIG + 1; i++)
            big[i] = (unsigned char)(i * 3);
        iov.iov_base = big;
        iov.iov_len = BIG + 1;
        CHECK_EQ(evs_mcast_groups(hs[0], EVS_TYPE_SAFE, &b, 1, &iov, 1), EVS_ERR_INVALID_PARAM);
        iov.iov_len = BIG;
        big_len = -1;
        CHECK_EQ(evs_mcast_groups(hs[0], EVS_TYPE_SAFE, &b, 1, &iov, 1), EVS_OK);
        CHECK(pump(0, 0, 5000));
        CHECK_EQ(big_len, BIG);
        CHECK(big_ok);
        free(big);
    }

    CHECK_EQ(evs_finalize(hs[1]), EVS_OK);
    CHECK_EQ(evs_finalize(hs[0]), EVS_OK);
    CHECK_EQ(evs_finalize(hs[0]), EVS_ERR_BAD_HANDLE);
    return finish("evs_test");
}
