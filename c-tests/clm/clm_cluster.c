/*
 * The client side of the CLM cluster test (c-tests/clm/cluster.sh), run
 * against one node of a multi-node cluster (COROSYNC_RUN_DIR picks it).
 * Uses only <corosync/saClm.h> and -lSaClm.
 *
 *   clm_cluster view
 *       Prints the current view as "<view> <id> <id> ..." (ids ascending).
 *   clm_cluster watch changes|changes_only <node-id> [seconds]
 *       Tracks the cluster; prints "ready" once tracking, then expects,
 *       in this order, a callback that reports <node-id> LEFT (member
 *       false, one member fewer) and one that reports it JOINED (member
 *       true, the member count back). With `changes` every other member
 *       must be listed as NO_CHANGE; with `changes_only` only <node-id>
 *       may be listed. Prints "left <view>" and "joined <view>" as they
 *       come; exits 0 when both were seen, 1 on a violation or after
 *       [seconds] (default 60).
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saClm.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static SaClmNodeIdT watched;
static int only_changes;
static SaUint32T initial_members;
static int seen_left, seen_joined, violations;

static void fail(const char *what, SaUint64T view)
{
    printf("violation: %s (view %llu)\n", what, (unsigned long long)view);
    fflush(stdout);
    violations++;
}

static void track_cb(const SaClmClusterNotificationBufferT *b, SaUint32T members, SaAisErrorT error)
{
    SaUint32T i;
    int about = -1;

    printf("callback: view %llu, %u items, %u members, error %d\n",
           (unsigned long long)b->viewNumber, (unsigned)b->numberOfItems, (unsigned)members,
           (int)error);
    for (i = 0; i < b->numberOfItems; i++) {
        const SaClmClusterNotificationT *n = &b->notification[i];
        printf("  node %u change %d member %d\n", (unsigned)n->clusterNode.nodeId,
               (int)n->clusterChange, (int)n->clusterNode.member);
        if (n->clusterNode.nodeId == watched)
            about = (int)i;
        else if (n->clusterChange != SA_CLM_NODE_NO_CHANGE)
            fail("another node changed", b->viewNumber);
        else if (only_changes)
            fail("CHANGES_ONLY listed an unchanged node", b->viewNumber);
    }
    if (error != SA_AIS_OK)
        fail("callback error", b->viewNumber);
    if (about < 0) {
        fflush(stdout);
        return;
    }
    if (!seen_left) {
        if (b->notification[about].clusterChange != SA_CLM_NODE_LEFT ||
            b->notification[about].clusterNode.member != SA_FALSE)
            fail("expected LEFT, member false", b->viewNumber);
        else if (members != initial_members - 1)
            fail("member count after the leave", b->viewNumber);
        else if (!only_changes && b->numberOfItems != initial_members)
            fail("CHANGES lists the members and the one that left", b->viewNumber);
        seen_left = 1;
        printf("left %llu\n", (unsigned long long)b->viewNumber);
    } else if (!seen_joined) {
        if (b->notification[about].clusterChange != SA_CLM_NODE_JOINED ||
            b->notification[about].clusterNode.member != SA_TRUE)
            fail("expected JOINED, member true", b->viewNumber);
        else if (members != initial_members)
            fail("member count after the rejoin", b->viewNumber);
        seen_joined = 1;
        printf("joined %llu\n", (unsigned long long)b->viewNumber);
    } else {
        fail("more callbacks about the node than expected", b->viewNumber);
    }
    fflush(stdout);
}

static const SaClmCallbacksT callbacks = { NULL, track_cb };

static void pause_ms(long ms)
{
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

/* Initialize, retrying while the executive is not ready (bounded). */
static int open_handle(SaClmHandleT *h)
{
    int i;
    for (i = 0; i < 200; i++) {
        SaVersionT v = { 'B', 1, 1 };
        SaAisErrorT rc = saClmInitialize(h, &callbacks, &v);
        if (rc == SA_AIS_OK)
            return 0;
        if (rc != SA_AIS_ERR_TRY_AGAIN) {
            fprintf(stderr, "clm_cluster: saClmInitialize: %d\n", (int)rc);
            return -1;
        }
        pause_ms(50);
    }
    fprintf(stderr, "clm_cluster: executive not ready\n");
    return -1;
}

/* The current view into a library-allocated array (bounded retries). */
static SaAisErrorT current(SaClmHandleT h, SaUint8T flags, SaClmClusterNotificationBufferT *b)
{
    SaAisErrorT rc = SA_AIS_ERR_TRY_AGAIN;
    int i;
    for (i = 0; i < 200 && rc == SA_AIS_ERR_TRY_AGAIN; i++) {
        b->notification = NULL;
        rc = saClmClusterTrack(h, flags, b);
        if (rc == SA_AIS_ERR_TRY_AGAIN)
            pause_ms(50);
    }
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    SaClmNodeIdT x = *(const SaClmNodeIdT *)a, y = *(const SaClmNodeIdT *)b;
    return x < y ? -1 : x > y;
}

static int view(void)
{
    SaClmHandleT h;
    SaClmClusterNotificationBufferT b;
    SaClmNodeIdT ids[256];
    SaUint32T i, n;

    if (open_handle(&h) != 0)
        return 1;
    if (current(h, SA_TRACK_CURRENT, &b) != SA_AIS_OK) {
        saClmFinalize(h);
        return 1;
    }
    n = b.numberOfItems < 256 ? b.numberOfItems : 256;
    for (i = 0; i < n; i++)
        ids[i] = b.notification[i].clusterNode.nodeId;
    qsort(ids, n, sizeof ids[0], cmp_id);
    printf("%llu", (unsigned long long)b.viewNumber);
    for (i = 0; i < n; i++)
        printf(" %u", (unsigned)ids[i]);
    printf("\n");
    free(b.notification);
    saClmFinalize(h);
    return 0;
}

static int watch(const char *mode, const char *node, int seconds)
{
    SaClmHandleT h;
    SaClmClusterNotificationBufferT b;
    SaSelectionObjectT fd;
    SaUint8T flags;
    time_t end = time(NULL) + seconds;

    only_changes = strcmp(mode, "changes_only") == 0;
    flags = only_changes ? SA_TRACK_CHANGES_ONLY : SA_TRACK_CHANGES;
    watched = (SaClmNodeIdT)strtoul(node, NULL, 0);
    if (open_handle(&h) != 0)
        return 1;
    if (current(h, SA_TRACK_CURRENT | flags, &b) != SA_AIS_OK ||
        saClmSelectionObjectGet(h, &fd) != SA_AIS_OK) {
        fprintf(stderr, "clm_cluster: cannot start tracking\n");
        return 1;
    }
    initial_members = b.numberOfItems;
    free(b.notification);
    printf("ready: view %llu, %u members\n", (unsigned long long)b.viewNumber,
           (unsigned)initial_members);
    fflush(stdout);
    while (!seen_joined && violations == 0 && time(NULL) < end) {
        struct pollfd p;
        p.fd = (int)fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 500) == 1 && saClmDispatch(h, SA_DISPATCH_ALL) != SA_AIS_OK) {
            fprintf(stderr, "clm_cluster: dispatch failed\n");
            return 1;
        }
    }
    saClmFinalize(h);
    if (!seen_joined)
        printf("timeout or violation: left %d joined %d violations %d\n", seen_left, seen_joined,
               violations);
    return seen_left && seen_joined && violations == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "view") == 0)
        return view();
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "watch") == 0)
        return watch(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 60);
    fprintf(stderr, "usage: clm_cluster view | watch changes|changes_only <node-id> [seconds]\n");
    return 2;
}
