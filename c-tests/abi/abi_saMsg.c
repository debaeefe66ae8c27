/*
 * ABI of <saMsg.h> (AIS MSG B.01.01, as the classic openais header defined
 * it): every type's size and exact C type, every struct's layout, every
 * constant's value and type, every enum's values, and the exact signature
 * of each callback typedef. The expected numbers are written here from the
 * spec for x86_64 (LP64); nothing is computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/saMsg.h>
#include <stdint.h>

#include "abi_check.h"

/* Callbacks with the classic signatures: assigning them to the typedefs is
 * a compile error (-Werror) if a parameter type differs. */
static int track_calls;
static int received_calls;
static void open_cb(SaInvocationT invocation, SaMsgQueueHandleT queueHandle, SaAisErrorT error)
{
    (void)invocation;
    (void)queueHandle;
    (void)error;
}
static void track_cb(const SaNameT *queueGroupName,
                     const SaMsgQueueGroupNotificationBufferT *notificationBuffer,
                     SaUint32T numberOfMembers, SaAisErrorT error)
{
    track_calls += (queueGroupName != NULL && notificationBuffer != NULL &&
                    notificationBuffer->queueGroupPolicy == SA_MSG_QUEUE_GROUP_BROADCAST &&
                    numberOfMembers == 2 && error == SA_AIS_OK);
}
static void delivered_cb(SaInvocationT invocation, SaAisErrorT error)
{
    (void)invocation;
    (void)error;
}
static void received_cb(SaMsgQueueHandleT queueHandle)
{
    received_calls += (queueHandle == 0x200000003ULL);
}

static void types(void)
{
    ABI_SAME_TYPE(SaMsgHandleT, uint64_t);
    ABI_SAME_TYPE(SaMsgQueueHandleT, uint64_t);
    ABI_SAME_TYPE(SaMsgSenderIdT, uint64_t);
    ABI_SAME_TYPE(SaMsgAckFlagsT, uint32_t);
    ABI_SAME_TYPE(SaMsgQueueCreationFlagsT, uint32_t);
    ABI_SAME_TYPE(SaMsgQueueOpenFlagsT, uint32_t);
    ABI_SIZE(SaMsgHandleT, 8);
    ABI_SIZE(SaMsgQueueHandleT, 8);
    ABI_SIZE(SaMsgSenderIdT, 8);
    ABI_SIZE(SaMsgAckFlagsT, 4);
    ABI_SIZE(SaMsgQueueCreationFlagsT, 4);
    ABI_SIZE(SaMsgQueueOpenFlagsT, 4);
    ABI_SIZE(SaMsgQueueGroupPolicyT, 4);
    ABI_IS_ENUM(SaMsgQueueGroupPolicyT);
    ABI_SIZE(SaMsgQueueGroupChangesT, 4);
    ABI_IS_ENUM(SaMsgQueueGroupChangesT);
    ABI_SIZE(SaMsgQueueOpenCallbackT, 8);
    ABI_SIZE(SaMsgQueueGroupTrackCallbackT, 8);
    ABI_SIZE(SaMsgMessageDeliveredCallbackT, 8);
    ABI_SIZE(SaMsgMessageReceivedCallbackT, 8);
}

static void structs(void)
{
    SaMsgQueueCreationAttributesT attrs;
    SaMsgQueueUsageT usage;
    SaMsgQueueStatusT status;
    SaMsgQueueGroupMemberT member;
    SaMsgQueueGroupNotificationT notification;
    SaMsgQueueGroupNotificationBufferT buffer;
    SaMsgMessageT message;

    ABI_SIZE(SaMsgQueueCreationAttributesT, 48);
    ABI_ALIGN(SaMsgQueueCreationAttributesT, 8);
    ABI_FIELD(SaMsgQueueCreationAttributesT, creationFlags, 0, 4);
    ABI_FIELD(SaMsgQueueCreationAttributesT, size, 8, 32);
    ABI_FIELD(SaMsgQueueCreationAttributesT, retentionTime, 40, 8);
    {
        /* size is SaSizeT[4] (SA_MSG_MESSAGE_LOWEST_PRIORITY + 1). */
        SaMsgQueueCreationFlagsT *flags = &attrs.creationFlags;
        SaSizeT (*size)[4] = &attrs.size;
        SaTimeT *retention = &attrs.retentionTime;
        ABI_TRUE(flags && size && retention);
    }
    {
        /* Programs fill it positionally. */
        SaMsgQueueCreationAttributesT a = {
            SA_MSG_QUEUE_PERSISTENT, { 128000, 64000, 32000, 16000 }, SA_TIME_ONE_SECOND
        };
        ABI_EQ(a.size[3], 16000);
        ABI_EQ(a.retentionTime, 1000000000);
    }

    ABI_SIZE(SaMsgQueueUsageT, 24);
    ABI_ALIGN(SaMsgQueueUsageT, 8);
    ABI_FIELD(SaMsgQueueUsageT, queueSize, 0, 8);
    ABI_FIELD(SaMsgQueueUsageT, queueUsed, 8, 8);
    ABI_FIELD(SaMsgQueueUsageT, numberOfMessages, 16, 4);
    {
        SaSizeT *size = &usage.queueSize;
        SaSizeT *used = &usage.queueUsed;
        SaUint32T *count = &usage.numberOfMessages;
        ABI_TRUE(size && used && count);
    }

    ABI_SIZE(SaMsgQueueStatusT, 120);
    ABI_ALIGN(SaMsgQueueStatusT, 8);
    ABI_FIELD(SaMsgQueueStatusT, creationFlags, 0, 4);
    ABI_FIELD(SaMsgQueueStatusT, retentionTime, 8, 8);
    ABI_FIELD(SaMsgQueueStatusT, closeTime, 16, 8);
    ABI_FIELD(SaMsgQueueStatusT, saMsgQueueUsage, 24, 96);
    {
        SaMsgQueueCreationFlagsT *flags = &status.creationFlags;
        SaTimeT *retention = &status.retentionTime;
        SaTimeT *close = &status.closeTime;
        SaMsgQueueUsageT (*usages)[4] = &status.saMsgQueueUsage;
        ABI_TRUE(flags && retention && close && usages);
    }

    ABI_SIZE(SaMsgQueueGroupMemberT, 258);
    ABI_ALIGN(SaMsgQueueGroupMemberT, 2);
    ABI_FIELD(SaMsgQueueGroupMemberT, queueName, 0, 258);
    {
        SaNameT *name = &member.queueName;
        ABI_TRUE(name != NULL);
    }

    ABI_SIZE(SaMsgQueueGroupNotificationT, 264);
    ABI_ALIGN(SaMsgQueueGroupNotificationT, 4);
    ABI_FIELD(SaMsgQueueGroupNotificationT, member, 0, 258);
    ABI_FIELD(SaMsgQueueGroupNotificationT, change, 260, 4);
    {
        SaMsgQueueGroupMemberT *m = &notification.member;
        SaMsgQueueGroupChangesT *change = &notification.change;
        ABI_TRUE(m && change);
    }

    ABI_SIZE(SaMsgQueueGroupNotificationBufferT, 24);
    ABI_ALIGN(SaMsgQueueGroupNotificationBufferT, 8);
    ABI_FIELD(SaMsgQueueGroupNotificationBufferT, numberOfItems, 0, 4);
    ABI_FIELD(SaMsgQueueGroupNotificationBufferT, notification, 8, 8);
    ABI_FIELD(SaMsgQueueGroupNotificationBufferT, queueGroupPolicy, 16, 4);
    {
        SaUint32T *items = &buffer.numberOfItems;
        SaMsgQueueGroupNotificationT **list = &buffer.notification;
        SaMsgQueueGroupPolicyT *policy = &buffer.queueGroupPolicy;
        ABI_TRUE(items && list && policy);
    }

    ABI_SIZE(SaMsgMessageT, 40);
    ABI_ALIGN(SaMsgMessageT, 8);
    ABI_FIELD(SaMsgMessageT, type, 0, 4);
    ABI_FIELD(SaMsgMessageT, version, 4, 4);
    ABI_FIELD(SaMsgMessageT, size, 8, 8);
    ABI_FIELD(SaMsgMessageT, senderName, 16, 8);
    ABI_FIELD(SaMsgMessageT, data, 24, 8);
    ABI_FIELD(SaMsgMessageT, priority, 32, 1);
    {
        SaUint32T *type = &message.type;
        SaUint32T *version = &message.version;
        SaSizeT *size = &message.size;
        SaNameT **sender = &message.senderName;
        void **data = &message.data;
        SaUint8T *priority = &message.priority;
        ABI_TRUE(type && version && size && sender && data && priority);
    }

    ABI_SIZE(SaMsgCallbacksT, 32);
    ABI_ALIGN(SaMsgCallbacksT, 8);
    ABI_FIELD(SaMsgCallbacksT, saMsgQueueOpenCallback, 0, 8);
    ABI_FIELD(SaMsgCallbacksT, saMsgQueueGroupTrackCallback, 8, 8);
    ABI_FIELD(SaMsgCallbacksT, saMsgMessageDeliveredCallback, 16, 8);
    ABI_FIELD(SaMsgCallbacksT, saMsgMessageReceivedCallback, 24, 8);
    {
        /* Programs initialize it positionally, in this order. */
        SaMsgCallbacksT callbacks = { open_cb, track_cb, delivered_cb, received_cb };
        SaMsgQueueOpenCallbackT open = open_cb;
        SaMsgQueueGroupTrackCallbackT track = track_cb;
        SaMsgMessageDeliveredCallbackT delivered = delivered_cb;
        SaMsgMessageReceivedCallbackT received = received_cb;
        SaNameT group;
        group.length = 1;
        group.value[0] = 'g';
        buffer.numberOfItems = 0;
        buffer.notification = NULL;
        buffer.queueGroupPolicy = SA_MSG_QUEUE_GROUP_BROADCAST;
        callbacks.saMsgQueueGroupTrackCallback(&group, &buffer, 2, SA_AIS_OK);
        callbacks.saMsgMessageReceivedCallback(0x200000003ULL);
        ABI_EQ(track_calls, 1);
        ABI_EQ(received_calls, 1);
        ABI_TRUE(callbacks.saMsgQueueOpenCallback == open &&
                 callbacks.saMsgQueueGroupTrackCallback == track &&
                 callbacks.saMsgMessageDeliveredCallback == delivered &&
                 callbacks.saMsgMessageReceivedCallback == received);
    }
}

static void constants(void)
{
    ABI_EQ(SA_MSG_MESSAGE_DELIVERED_ACK, 0x1);
    ABI_EXPR_TYPE(SA_MSG_MESSAGE_DELIVERED_ACK, int);
#if SA_MSG_MESSAGE_DELIVERED_ACK != 1
#error SA_MSG_MESSAGE_DELIVERED_ACK must be usable in #if
#endif

    ABI_EQ(SA_MSG_QUEUE_PERSISTENT, 0x1);
    ABI_EXPR_TYPE(SA_MSG_QUEUE_PERSISTENT, int);
#if SA_MSG_QUEUE_PERSISTENT != 1
#error SA_MSG_QUEUE_PERSISTENT must be usable in #if
#endif

    ABI_EQ(SA_MSG_MESSAGE_HIGHEST_PRIORITY, 0);
    ABI_EQ(SA_MSG_MESSAGE_LOWEST_PRIORITY, 3);
    ABI_EXPR_TYPE(SA_MSG_MESSAGE_LOWEST_PRIORITY, int);
#if SA_MSG_MESSAGE_HIGHEST_PRIORITY != 0 || SA_MSG_MESSAGE_LOWEST_PRIORITY != 3
#error SA_MSG_MESSAGE_*_PRIORITY must be usable in #if
#endif
    {
        /* Programs size their own per-priority arrays with it. */
        SaSizeT sizes[SA_MSG_MESSAGE_LOWEST_PRIORITY + 1];
        ABI_EQ(sizeof(sizes), 32);
    }

    ABI_EQ(SA_MSG_QUEUE_CREATE, 0x1);
    ABI_EQ(SA_MSG_QUEUE_RECEIVE_CALLBACK, 0x2);
    ABI_EQ(SA_MSG_QUEUE_EMPTY, 0x4);
    ABI_EXPR_TYPE(SA_MSG_QUEUE_EMPTY, int);
#if SA_MSG_QUEUE_CREATE != 1 || SA_MSG_QUEUE_RECEIVE_CALLBACK != 2 || SA_MSG_QUEUE_EMPTY != 4
#error SA_MSG_QUEUE_{CREATE,RECEIVE_CALLBACK,EMPTY} must be usable in #if
#endif

    ABI_EQ(SA_MSG_QUEUE_GROUP_ROUND_ROBIN, 1);
    ABI_EQ(SA_MSG_QUEUE_GROUP_LOCAL_ROUND_ROBIN, 2);
    ABI_EQ(SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE, 3);
    ABI_EQ(SA_MSG_QUEUE_GROUP_BROADCAST, 4);

    ABI_EQ(SA_MSG_QUEUE_GROUP_NO_CHANGE, 1);
    ABI_EQ(SA_MSG_QUEUE_GROUP_ADDED, 2);
    ABI_EQ(SA_MSG_QUEUE_GROUP_REMOVED, 3);
    ABI_EQ(SA_MSG_QUEUE_GROUP_STATE_CHANGED, 4);
    {
        /* Every enumerator is there and distinct. */
        SaMsgQueueGroupPolicyT p = SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE;
        SaMsgQueueGroupChangesT c = SA_MSG_QUEUE_GROUP_REMOVED;
        int n = 0;
        switch (p) {
        case SA_MSG_QUEUE_GROUP_ROUND_ROBIN: case SA_MSG_QUEUE_GROUP_LOCAL_ROUND_ROBIN:
        case SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE: case SA_MSG_QUEUE_GROUP_BROADCAST:
            n++;
            break;
        }
        switch (c) {
        case SA_MSG_QUEUE_GROUP_NO_CHANGE: case SA_MSG_QUEUE_GROUP_ADDED:
        case SA_MSG_QUEUE_GROUP_REMOVED: case SA_MSG_QUEUE_GROUP_STATE_CHANGED:
            n++;
            break;
        }
        ABI_EQ(n, 2);
    }
}

int main(void)
{
    types();
    structs();
    constants();
    return ABI_DONE("abi_saMsg");
}
