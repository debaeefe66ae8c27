/*
 * A small membership monitor written the way programs for the classic
 * openais CLM B.01.01 library were: positional callback struct, version
 * literal, select() on the selection object, SA_TRACK_CURRENT into a
 * stack array, then tracking changes until a timeout. It must compile
 * against our header without edits (run.sh builds it with plain -Wall, as
 * such programs were built) and run against the live executive.
 *
 *   clmtest [seconds]     (default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>

#include <corosync/saClm.h>

static SaInvocationT expected_invocation = 0x1234;
static int got_node = 0;
static int got_track = 0;

static void printSaClmClusterNode(const char *prefix, const SaClmClusterNodeT *clusterNode)
{
    printf("%snode id %u, address %.*s (%s), name %.*s, member %d, boot %lld, initial view %llu\n",
           prefix,
           (unsigned int)clusterNode->nodeId,
           (int)clusterNode->nodeAddress.length, (char *)clusterNode->nodeAddress.value,
           clusterNode->nodeAddress.family == SA_CLM_AF_INET ? "inet" : "inet6",
           (int)clusterNode->nodeName.length, (char *)clusterNode->nodeName.value,
           (int)clusterNode->member,
           (long long)clusterNode->bootTimestamp,
           (unsigned long long)clusterNode->initialViewNumber);
}

void ClusterNodeGetCallback(SaInvocationT invocation, const SaClmClusterNodeT *clusterNode,
                            SaAisErrorT error)
{
    if (error != SA_AIS_OK || invocation != expected_invocation) {
        printf("node get callback: error %d invocation %llx\n", error,
               (unsigned long long)invocation);
        return;
    }
    printSaClmClusterNode("async: ", clusterNode);
    got_node = 1;
}

void ClusterTrackCallback(const SaClmClusterNotificationBufferT *notificationBuffer,
                          SaUint32T numberOfMembers, SaAisErrorT error)
{
    unsigned int i;

    printf("track callback: view %llu, %u items, %u members, error %d\n",
           (unsigned long long)notificationBuffer->viewNumber,
           (unsigned int)notificationBuffer->numberOfItems, (unsigned int)numberOfMembers, error);
    for (i = 0; i < notificationBuffer->numberOfItems; i++) {
        printf("  change %d: ", notificationBuffer->notification[i].clusterChange);
        printSaClmClusterNode("", &notificationBuffer->notification[i].clusterNode);
    }
    got_track = 1;
}

SaClmCallbacksT callbacks = {
    ClusterNodeGetCallback,
    ClusterTrackCallback
};

SaVersionT version = { 'B', 1, 1 };

int main(int argc, char **argv)
{
    SaClmHandleT handle;
    SaClmClusterNotificationBufferT notificationBuffer;
    SaClmClusterNotificationT clusterNotification[64];
    SaClmClusterNodeT clusterNode;
    SaSelectionObjectT select_fd;
    fd_set read_fds;
    struct timeval tv;
    SaAisErrorT result;
    int seconds = argc > 1 ? atoi(argv[1]) : 1;
    unsigned int i;

    do {
        result = saClmInitialize(&handle, &callbacks, &version);
        if (result == SA_AIS_ERR_TRY_AGAIN)
            sleep(1);
    } while (result == SA_AIS_ERR_TRY_AGAIN);
    if (result != SA_AIS_OK) {
        printf("Could not initialize Cluster Membership API instance error %d\n", result);
        exit(1);
    }

    while ((result = saClmClusterNodeGet(handle, SA_CLM_LOCAL_NODE_ID, SA_TIME_END,
                                         &clusterNode)) == SA_AIS_ERR_TRY_AGAIN)
        sleep(1);
    printf("saClmClusterNodeGet result %d\n", result);
    if (result != SA_AIS_OK)
        exit(1);
    printSaClmClusterNode("local: ", &clusterNode);

    notificationBuffer.notification = clusterNotification;
    notificationBuffer.numberOfItems = sizeof(clusterNotification) / sizeof(SaClmClusterNotificationT);
    result = saClmClusterTrack(handle, SA_TRACK_CURRENT, &notificationBuffer);
    printf("saClmClusterTrack CURRENT result %d, view %llu, %u items\n", result,
           (unsigned long long)notificationBuffer.viewNumber,
           (unsigned int)notificationBuffer.numberOfItems);
    if (result != SA_AIS_OK)
        exit(1);
    for (i = 0; i < notificationBuffer.numberOfItems; i++)
        printSaClmClusterNode("  member: ", &notificationBuffer.notification[i].clusterNode);

    result = saClmClusterNodeGetAsync(handle, expected_invocation, SA_CLM_LOCAL_NODE_ID);
    printf("saClmClusterNodeGetAsync result %d\n", result);

    result = saClmClusterTrack(handle, SA_TRACK_CURRENT | SA_TRACK_CHANGES_ONLY, NULL);
    printf("saClmClusterTrack CURRENT|CHANGES_ONLY result %d\n", result);

    saClmSelectionObjectGet(handle, &select_fd);
    for (;;) {
        FD_ZERO(&read_fds);
        FD_SET(select_fd, &read_fds);
        tv.tv_sec = seconds;
        tv.tv_usec = 0;
        result = select(select_fd + 1, &read_fds, 0, 0, &tv);
        if (result <= 0)
            break;
        result = saClmDispatch(handle, SA_DISPATCH_ALL);
        if (result != SA_AIS_OK) {
            printf("saClmDispatch result %d\n", result);
            break;
        }
    }

    result = saClmClusterTrackStop(handle);
    printf("saClmClusterTrackStop result %d\n", result);
    result = saClmFinalize(handle);
    printf("saClmFinalize result %d\n", result);
    if (!got_node || !got_track) {
        printf("missing callbacks: node get %d, track %d\n", got_node, got_track);
        return 1;
    }
    return 0;
}
