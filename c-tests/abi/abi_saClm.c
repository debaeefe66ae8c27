/*
 * ABI of <saClm.h> (AIS CLM B.01.01, as the classic openais header defined
 * it): every type's size and exact C type, every struct's layout, every
 * constant's value and type, every enum's values, and the exact signature
 * of each callback typedef. The expected numbers are written here from the
 * spec for x86_64 (LP64); nothing is computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/saClm.h>
#include <stdint.h>

#include "abi_check.h"

/* Callbacks with the spec's exact signatures: assigning them to the
 * typedefs is a compile error (-Werror) if a parameter type differs. */
static int node_get_calls;
static void node_get_cb(SaInvocationT invocation, const SaClmClusterNodeT *clusterNode,
                        SaAisErrorT error)
{
    node_get_calls += (invocation == 7 && clusterNode != NULL && error == SA_AIS_OK);
}
static void track_cb(const SaClmClusterNotificationBufferT *notificationBuffer,
                     SaUint32T numberOfMembers, SaAisErrorT error)
{
    (void)notificationBuffer;
    (void)numberOfMembers;
    (void)error;
}

static void types(void)
{
    ABI_SAME_TYPE(SaClmHandleT, uint64_t);
    ABI_SIZE(SaClmHandleT, 8);
    ABI_SAME_TYPE(SaClmNodeIdT, uint32_t);
    ABI_SIZE(SaClmNodeIdT, 4);
    ABI_SIZE(SaClmNodeAddressFamilyT, 4);
    ABI_IS_ENUM(SaClmNodeAddressFamilyT);
    ABI_SIZE(SaClmClusterChangesT, 4);
    ABI_IS_ENUM(SaClmClusterChangesT);
    ABI_SIZE(SaClmClusterNodeGetCallbackT, 8);
    ABI_SIZE(SaClmClusterTrackCallbackT, 8);
}

static void structs(void)
{
    SaClmClusterNodeT node;
    SaClmClusterNotificationT notification;
    SaClmClusterNotificationBufferT buffer;

    ABI_SIZE(SaClmNodeAddressT, 72);
    ABI_ALIGN(SaClmNodeAddressT, 4);
    ABI_FIELD(SaClmNodeAddressT, family, 0, 4);
    ABI_FIELD(SaClmNodeAddressT, length, 4, 2);
    ABI_FIELD(SaClmNodeAddressT, value, 6, 64);

    ABI_SIZE(SaClmClusterNodeT, 360);
    ABI_ALIGN(SaClmClusterNodeT, 8);
    ABI_FIELD(SaClmClusterNodeT, nodeId, 0, 4);
    ABI_FIELD(SaClmClusterNodeT, nodeAddress, 4, 72);
    ABI_FIELD(SaClmClusterNodeT, nodeName, 76, 258);
    ABI_FIELD(SaClmClusterNodeT, member, 336, 4);
    ABI_FIELD(SaClmClusterNodeT, bootTimestamp, 344, 8);
    ABI_FIELD(SaClmClusterNodeT, initialViewNumber, 352, 8);
    {
        /* Field types, exactly. */
        SaClmNodeIdT *id = &node.nodeId;
        SaClmNodeAddressT *address = &node.nodeAddress;
        SaNameT *name = &node.nodeName;
        SaBoolT *member = &node.member;
        SaTimeT *boot = &node.bootTimestamp;
        SaUint64T *view = &node.initialViewNumber;
        SaClmNodeAddressFamilyT *family = &node.nodeAddress.family;
        SaUint16T *length = &node.nodeAddress.length;
        SaUint8T *value = node.nodeAddress.value;
        ABI_TRUE(id && address && name && member && boot && view && family && length && value);
    }

    ABI_SIZE(SaClmClusterNotificationT, 368);
    ABI_ALIGN(SaClmClusterNotificationT, 8);
    ABI_FIELD(SaClmClusterNotificationT, clusterNode, 0, 360);
    ABI_FIELD(SaClmClusterNotificationT, clusterChange, 360, 4);
    {
        SaClmClusterChangesT *change = &notification.clusterChange;
        ABI_TRUE(change != NULL);
    }

    ABI_SIZE(SaClmClusterNotificationBufferT, 24);
    ABI_ALIGN(SaClmClusterNotificationBufferT, 8);
    ABI_FIELD(SaClmClusterNotificationBufferT, viewNumber, 0, 8);
    ABI_FIELD(SaClmClusterNotificationBufferT, numberOfItems, 8, 4);
    ABI_FIELD(SaClmClusterNotificationBufferT, notification, 16, 8);
    {
        SaUint64T *view = &buffer.viewNumber;
        SaUint32T *items = &buffer.numberOfItems;
        SaClmClusterNotificationT **list = &buffer.notification;
        ABI_TRUE(view && items && list);
    }

    ABI_SIZE(SaClmCallbacksT, 16);
    ABI_ALIGN(SaClmCallbacksT, 8);
    ABI_FIELD(SaClmCallbacksT, saClmClusterNodeGetCallback, 0, 8);
    ABI_FIELD(SaClmCallbacksT, saClmClusterTrackCallback, 8, 8);
    {
        /* Programs initialize it positionally, with functions of the
         * spec's signatures. */
        SaClmCallbacksT callbacks = { node_get_cb, track_cb };
        SaClmClusterNodeGetCallbackT get = node_get_cb;
        SaClmClusterTrackCallbackT track = track_cb;
        node.nodeId = 1;
        callbacks.saClmClusterNodeGetCallback(7, &node, SA_AIS_OK);
        ABI_EQ(node_get_calls, 1);
        ABI_TRUE(callbacks.saClmClusterTrackCallback == track && get == node_get_cb);
    }
}

static void constants(void)
{
    ABI_EQ(SA_CLM_LOCAL_NODE_ID, 0xffffffffU);
    ABI_EXPR_TYPE(SA_CLM_LOCAL_NODE_ID, unsigned int);
#if SA_CLM_LOCAL_NODE_ID != 0xffffffff
#error SA_CLM_LOCAL_NODE_ID must be usable in #if and be 0xffffffff
#endif
    ABI_EQ(SA_CLM_MAX_ADDRESS_LENGTH, 64);
#if SA_CLM_MAX_ADDRESS_LENGTH != 64
#error SA_CLM_MAX_ADDRESS_LENGTH must be usable in #if and be 64
#endif

    ABI_EQ(SA_CLM_AF_INET, 1);
    ABI_EQ(SA_CLM_AF_INET6, 2);

    ABI_EQ(SA_CLM_NODE_NO_CHANGE, 1);
    ABI_EQ(SA_CLM_NODE_JOINED, 2);
    ABI_EQ(SA_CLM_NODE_LEFT, 3);
    ABI_EQ(SA_CLM_NODE_RECONFIGURED, 4);
    {
        /* Every enumerator is there and distinct (a duplicate case value
         * would not compile). */
        SaClmClusterChangesT c = SA_CLM_NODE_LEFT;
        SaClmNodeAddressFamilyT f = SA_CLM_AF_INET6;
        int n = 0;
        switch (c) {
        case SA_CLM_NODE_NO_CHANGE: case SA_CLM_NODE_JOINED: case SA_CLM_NODE_LEFT:
        case SA_CLM_NODE_RECONFIGURED:
            n++;
            break;
        }
        switch (f) {
        case SA_CLM_AF_INET: case SA_CLM_AF_INET6:
            n++;
            break;
        }
        ABI_EQ(n, 2);
    }
}

/* Each function, assigned to a pointer of the classic B.01.01 prototype:
 * a compile error (-Werror, and in C++) if any parameter or return type
 * differs. The assignments sit in sizeof, which does not evaluate them, so
 * this program needs no library to link. */
#define ABI_PROTOTYPE(pointer, function) ABI_EQ(sizeof((pointer) = (function)), sizeof(pointer))
static void prototypes(void)
{
    SaAisErrorT (*initialize)(SaClmHandleT *, const SaClmCallbacksT *, SaVersionT *) = 0;
    SaAisErrorT (*selection)(SaClmHandleT, SaSelectionObjectT *) = 0;
    SaAisErrorT (*dispatch)(SaClmHandleT, SaDispatchFlagsT) = 0;
    SaAisErrorT (*finalize)(SaClmHandleT) = 0;
    SaAisErrorT (*track)(SaClmHandleT, SaUint8T, SaClmClusterNotificationBufferT *) = 0;
    SaAisErrorT (*track_stop)(SaClmHandleT) = 0;
    SaAisErrorT (*node_get)(SaClmHandleT, SaClmNodeIdT, SaTimeT, SaClmClusterNodeT *) = 0;
    SaAisErrorT (*node_get_async)(SaClmHandleT, SaInvocationT, SaClmNodeIdT) = 0;

    ABI_PROTOTYPE(initialize, saClmInitialize);
    ABI_PROTOTYPE(selection, saClmSelectionObjectGet);
    ABI_PROTOTYPE(dispatch, saClmDispatch);
    ABI_PROTOTYPE(finalize, saClmFinalize);
    ABI_PROTOTYPE(track, saClmClusterTrack);
    ABI_PROTOTYPE(track_stop, saClmClusterTrackStop);
    ABI_PROTOTYPE(node_get, saClmClusterNodeGet);
    ABI_PROTOTYPE(node_get_async, saClmClusterNodeGetAsync);
}

int main(void)
{
    types();
    structs();
    constants();
    prototypes();
    return ABI_DONE("abi_saClm");
}
