/*
 * libSaClm against a live single-node executive: every function of CLM
 * B.01.01 and its error paths. Uses only <corosync/saClm.h> and -lSaClm.
 *
 *   clm_api            (run by c-tests/clm/run.sh through with-exec.sh)
 *
 * Expects the one-node loopback cluster with-exec.sh starts: node id 1,
 * address 127.0.0.1, view 1. Prints "clm_api: N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saClm.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

/* The spec's time constants are unsigned; SaTimeT is signed. */
#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)
#define MILLISECOND ((SaTimeT)SA_TIME_ONE_MILLISECOND)

static SaVersionT b0101(void)
{
    SaVersionT v;
    v.releaseCode = 'B';
    v.majorVersion = 1;
    v.minorVersion = 1;
    return v;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* True if the selection object becomes readable within `ms`. */
static int readable(SaSelectionObjectT fd, int ms)
{
    struct pollfd p;
    p.fd = (int)fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* What the callbacks saw. */
static int track_calls;
static SaUint64T track_view;
static SaUint32T track_items, track_members;
static SaAisErrorT track_error;
static SaClmClusterNotificationT track_first;

static void track_cb(const SaClmClusterNotificationBufferT *buffer, SaUint32T members,
                     SaAisErrorT error)
{
    track_calls++;
    track_view = buffer->viewNumber;
    track_items = buffer->numberOfItems;
    track_members = members;
    track_error = error;
    if (buffer->numberOfItems > 0)
        track_first = buffer->notification[0];
}

static int get_calls;
static SaInvocationT get_invocation;
static SaAisErrorT get_error;
static SaClmClusterNodeT get_node;

static void node_get_cb(SaInvocationT invocation, const SaClmClusterNodeT *node,
                        SaAisErrorT error)
{
    get_calls++;
    get_invocation = invocation;
    get_error = error;
    if (error == SA_AIS_OK)
        get_node = *node;
}

static const SaClmCallbacksT callbacks = { node_get_cb, track_cb };

static void initialize(void)
{
    SaClmHandleT h;
    SaVersionT v;

    v = b0101();
    CHECK_RC(saClmInitialize(NULL, &callbacks, &v), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saClmInitialize(&h, &callbacks, NULL), SA_AIS_ERR_INVALID_PARAM);

    v.releaseCode = 'A';
    CHECK_RC(saClmInitialize(&h, &callbacks, &v), SA_AIS_ERR_VERSION);
    CHECK(v.releaseCode == 'B' && v.majorVersion == 1 && v.minorVersion == 1);
    v = b0101();
    v.majorVersion = 2;
    CHECK_RC(saClmInitialize(&h, &callbacks, &v), SA_AIS_ERR_VERSION);
    CHECK(v.releaseCode == 'B' && v.majorVersion == 1);

    v = b0101();
    v.minorVersion = 0;
    CHECK_RC(saClmInitialize(&h, &callbacks, &v), SA_AIS_OK);
    CHECK(v.minorVersion == 1);
    CHECK_RC(saClmFinalize(h), SA_AIS_OK);
    CHECK_RC(saClmFinalize(h), SA_AIS_ERR_BAD_HANDLE);

    /* No callbacks at all is allowed. */
    v = b0101();
    CHECK_RC(saClmInitialize(&h, NULL, &v), SA_AIS_OK);
    CHECK_RC(saClmFinalize(h), SA_AIS_OK);
}

static void selection_and_dispatch(SaClmHandleT h)
{
    SaSelectionObjectT fd = 0;

    CHECK_RC(saClmSelectionObjectGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saClmSelectionObjectGet(h, &fd), SA_AIS_OK);
    CHECK(fd > 2);
    CHECK(!readable(fd, 0));
    CHECK_RC(saClmDispatch(h, (SaDispatchFlagsT)0), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saClmDispatch(h, (SaDispatchFlagsT)4), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saClmDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK_RC(saClmDispatch(h, SA_DISPATCH_ONE), SA_AIS_OK);
}

static void node_get(SaClmHandleT h)
{
    SaClmClusterNodeT node, again;
    char host[256];
    struct timespec wall;
    SaTimeT now;

    memset(&node, 0, sizeof node);
    CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, SA_TIME_END, NULL),
             SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, 5 * SECOND, &node),
             SA_AIS_OK);
    CHECK(node.nodeId == 1);
    CHECK(node.nodeAddress.family == SA_CLM_AF_INET);
    CHECK(node.nodeAddress.length == 9 && memcmp(node.nodeAddress.value, "127.0.0.1", 9) == 0);
    memset(host, 0, sizeof host);
    gethostname(host, sizeof host - 1);
    CHECK(node.nodeName.length == strlen(host) &&
          memcmp(node.nodeName.value, host, node.nodeName.length) == 0);
    CHECK(node.member == SA_TRUE);
    clock_gettime(CLOCK_REALTIME, &wall);
    now = (SaTimeT)wall.tv_sec * SECOND + wall.tv_nsec;
    CHECK(node.bootTimestamp > now - 600 * SECOND && node.bootTimestamp <= now);
    CHECK(node.initialViewNumber == 1);

    /* The same node by its id. */
    memset(&again, 0, sizeof again);
    CHECK_RC(saClmClusterNodeGet(h, node.nodeId, SA_TIME_END, &again), SA_AIS_OK);
    CHECK(again.nodeId == node.nodeId && again.bootTimestamp == node.bootTimestamp &&
          again.nodeName.length == node.nodeName.length);

    CHECK_RC(saClmClusterNodeGet(h, 12345, SA_TIME_END, &again), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saClmClusterNodeGet(h, 0, SA_TIME_END, &again), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, -1, &again), SA_AIS_ERR_INVALID_PARAM);
}

/* The timeout is honoured: with the executive stopped, the call returns
 * SA_AIS_ERR_TIMEOUT after about the timeout, and the handle still works
 * once the executive runs again. */
static void node_get_timeout(SaClmHandleT h)
{
    SaClmClusterNodeT node;
    char path[4096];
    const char *dir = getenv("COROSYNC_RUN_DIR");
    FILE *f;
    long pid = 0;
    double start, took;

    snprintf(path, sizeof path, "%s/aisexec.pid", dir ? dir : "/var/run/ais");
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK(fscanf(f, "%ld", &pid) == 1 && pid > 1);
    fclose(f);
    if (pid <= 1)
        return;
    CHECK(kill((pid_t)pid, SIGSTOP) == 0);
    start = now_s();
    CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, 300 * MILLISECOND, &node),
             SA_AIS_ERR_TIMEOUT);
    took = now_s() - start;
    kill((pid_t)pid, SIGCONT);
    CHECK(took >= 0.25 && took < 3.0);
    if (!(took >= 0.25 && took < 3.0))
        fprintf(stderr, "clm_api: the timed-out call took %.3f s\n", took);
    CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, 5 * SECOND, &node),
             SA_AIS_OK);
    CHECK(node.nodeId == 1);
}

static void node_get_async(SaClmHandleT h, SaClmHandleT no_callbacks)
{
    SaSelectionObjectT fd;

    CHECK_RC(saClmClusterNodeGetAsync(no_callbacks, 1, SA_CLM_LOCAL_NODE_ID), SA_AIS_ERR_INIT);
    CHECK_RC(saClmSelectionObjectGet(h, &fd), SA_AIS_OK);

    get_calls = 0;
    CHECK_RC(saClmClusterNodeGetAsync(h, 77, SA_CLM_LOCAL_NODE_ID), SA_AIS_OK);
    CHECK(readable(fd, 5000));
    CHECK_RC(saClmDispatch(h, SA_DISPATCH_ONE), SA_AIS_OK);
    CHECK(get_calls == 1 && get_invocation == 77 && get_error == SA_AIS_OK);
    CHECK(get_node.nodeId == 1 && get_node.member == SA_TRUE);
    CHECK(!readable(fd, 0));

    CHECK_RC(saClmClusterNodeGetAsync(h, 78, 12345), SA_AIS_OK);
    CHECK(readable(fd, 5000));
    CHECK_RC(saClmDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK(get_calls == 2 && get_invocation == 78 && get_error == SA_AIS_ERR_NOT_EXIST);
}

static void track(SaClmHandleT h, SaClmHandleT no_callbacks)
{
    SaClmClusterNotificationBufferT buffer;
    SaClmClusterNotificationT entries[4];
    SaSelectionObjectT fd;
    static const SaUint8T bad[] = { 0, SA_TRACK_CHANGES | SA_TRACK_CHANGES_ONLY,
                                    SA_TRACK_CURRENT | SA_TRACK_CHANGES | SA_TRACK_CHANGES_ONLY,
                                    0x08, 0x80, 0xff };
    unsigned i;

    for (i = 0; i < sizeof bad; i++)
        CHECK_RC(saClmClusterTrack(h, bad[i], NULL), SA_AIS_ERR_BAD_FLAGS);

    /* Operations that need the track callback, on a handle without one. */
    CHECK_RC(saClmClusterTrack(no_callbacks, SA_TRACK_CHANGES, NULL), SA_AIS_ERR_INIT);
    CHECK_RC(saClmClusterTrack(no_callbacks, SA_TRACK_CHANGES_ONLY, NULL), SA_AIS_ERR_INIT);
    CHECK_RC(saClmClusterTrack(no_callbacks, SA_TRACK_CURRENT, NULL), SA_AIS_ERR_INIT);
    CHECK_RC(saClmClusterTrackStop(no_callbacks), SA_AIS_ERR_NOT_EXIST);

    /* CURRENT into a buffer needs no callback; the library allocates. */
    memset(&buffer, 0, sizeof buffer);
    buffer.notification = NULL;
    CHECK_RC(saClmClusterTrack(no_callbacks, SA_TRACK_CURRENT, &buffer), SA_AIS_OK);
    CHECK(buffer.viewNumber == 1 && buffer.numberOfItems == 1 && buffer.notification != NULL);
    if (buffer.notification != NULL) {
        CHECK(buffer.notification[0].clusterNode.nodeId == 1);
        CHECK(buffer.notification[0].clusterNode.member == SA_TRUE);
        CHECK(buffer.notification[0].clusterChange == SA_CLM_NODE_NO_CHANGE);
        free(buffer.notification);
    }

    /* The caller's array: too small, then big enough. */
    memset(&buffer, 0, sizeof buffer);
    buffer.notification = entries;
    buffer.numberOfItems = 0;
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CURRENT, &buffer), SA_AIS_ERR_NO_SPACE);
    CHECK(buffer.numberOfItems == 1 && buffer.notification == entries);
    buffer.numberOfItems = 4;
    memset(entries, 0, sizeof entries);
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CURRENT, &buffer), SA_AIS_OK);
    CHECK(buffer.numberOfItems == 1 && buffer.viewNumber == 1 && buffer.notification == entries);
    CHECK(entries[0].clusterNode.nodeId == 1 && entries[0].clusterChange == SA_CLM_NODE_NO_CHANGE);
    CHECK(entries[0].clusterNode.nodeAddress.family == SA_CLM_AF_INET);

    /* CURRENT without a buffer: the callback. */
    CHECK_RC(saClmSelectionObjectGet(h, &fd), SA_AIS_OK);
    track_calls = 0;
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CURRENT, NULL), SA_AIS_OK);
    CHECK(readable(fd, 5000));
    CHECK_RC(saClmDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK(track_calls == 1 && track_error == SA_AIS_OK && track_view == 1);
    CHECK(track_items == 1 && track_members == 1);
    CHECK(track_first.clusterNode.nodeId == 1 && track_first.clusterChange == SA_CLM_NODE_NO_CHANGE);

    /* Tracking changes: start, stop, stop again. CURRENT alone did not
     * start it. */
    CHECK_RC(saClmClusterTrackStop(h), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CHANGES, NULL), SA_AIS_OK);
    CHECK_RC(saClmClusterTrackStop(h), SA_AIS_OK);
    CHECK_RC(saClmClusterTrackStop(h), SA_AIS_ERR_NOT_EXIST);
    /* CURRENT | CHANGES_ONLY with a buffer: the view now, tracking on. */
    buffer.notification = NULL;
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CURRENT | SA_TRACK_CHANGES_ONLY, &buffer), SA_AIS_OK);
    CHECK(buffer.numberOfItems == 1 && buffer.notification != NULL);
    free(buffer.notification);
    /* A too-small buffer does not start tracking. */
    CHECK_RC(saClmClusterTrackStop(h), SA_AIS_OK);
    buffer.notification = entries;
    buffer.numberOfItems = 0;
    CHECK_RC(saClmClusterTrack(h, SA_TRACK_CURRENT | SA_TRACK_CHANGES, &buffer),
             SA_AIS_ERR_NO_SPACE);
    CHECK_RC(saClmClusterTrackStop(h), SA_AIS_ERR_NOT_EXIST);
    /* No change happens in a one-node cluster: nothing to dispatch. */
    CHECK(!readable(fd, 100));
}

static void bad_handles(SaClmHandleT finalized)
{
    SaClmHandleT handles[3];
    SaClmClusterNodeT node;
    SaSelectionObjectT fd;
    unsigned i;

    handles[0] = finalized;
    handles[1] = 0;
    handles[2] = 0x123456789abcdefULL;
    for (i = 0; i < 3; i++) {
        SaClmHandleT h = handles[i];
        CHECK_RC(saClmSelectionObjectGet(h, &fd), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmDispatch(h, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmClusterTrack(h, SA_TRACK_CHANGES, NULL), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmClusterTrackStop(h), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, SA_TIME_END, &node),
                 SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmClusterNodeGetAsync(h, 1, SA_CLM_LOCAL_NODE_ID), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saClmFinalize(h), SA_AIS_ERR_BAD_HANDLE);
    }
}

/* Right after the executive starts, the first view may still be being
 * assembled: calls answer SA_AIS_ERR_TRY_AGAIN until then (at most 5 s). */
static void wait_for_first_view(SaClmHandleT h)
{
    SaClmClusterNodeT node;
    struct timespec pause;
    int i;

    pause.tv_sec = 0;
    pause.tv_nsec = 50 * 1000 * 1000;
    for (i = 0; i < 100; i++) {
        if (saClmClusterNodeGet(h, SA_CLM_LOCAL_NODE_ID, SA_TIME_END, &node) != SA_AIS_ERR_TRY_AGAIN)
            return;
        nanosleep(&pause, NULL);
    }
}

/* saClmInitialize, retrying (at most 5 s) while the executive answers
 * SA_AIS_ERR_TRY_AGAIN (it does while it syncs, right after it starts). */
static SaAisErrorT open_handle(SaClmHandleT *h, const SaClmCallbacksT *cbs)
{
    struct timespec pause;
    SaAisErrorT rc = SA_AIS_ERR_TRY_AGAIN;
    int i;

    pause.tv_sec = 0;
    pause.tv_nsec = 50 * 1000 * 1000;
    for (i = 0; i < 100 && rc == SA_AIS_ERR_TRY_AGAIN; i++) {
        SaVersionT v = b0101();
        rc = saClmInitialize(h, cbs, &v);
        if (rc == SA_AIS_ERR_TRY_AGAIN)
            nanosleep(&pause, NULL);
    }
    return rc;
}

int main(void)
{
    SaClmHandleT h, bare;

    if (open_handle(&h, &callbacks) != SA_AIS_OK || open_handle(&bare, NULL) != SA_AIS_OK) {
        fprintf(stderr, "clm_api: saClmInitialize failed\n");
        return 1;
    }
    wait_for_first_view(h);
    initialize();
    selection_and_dispatch(h);
    node_get(h);
    node_get_async(h, bare);
    track(h, bare);
    node_get_timeout(h);
    CHECK_RC(saClmFinalize(bare), SA_AIS_OK);
    CHECK_RC(saClmFinalize(h), SA_AIS_OK);
    bad_handles(h);

    return check_summary("clm_api");
}
