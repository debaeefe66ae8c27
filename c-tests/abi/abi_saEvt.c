/*
 * ABI of <saEvt.h> (AIS EVT B.01.01, as the classic openais header defined
 * it): every type's size and exact C type, every struct's layout, every
 * constant's value and type, the enum's values, the lost-event pattern
 * string, and the exact signature of each callback typedef. The expected
 * numbers are written here from the spec for x86_64 (LP64); nothing is
 * computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/saEvt.h>
#include <stdint.h>
#include <string.h>

#include "abi_check.h"

/* Callbacks with the classic signatures (the deliver callback's last two
 * parameters are declared const there; a top-level const does not change
 * the function type). */
static int deliver_calls;
static void deliver_cb(SaEvtSubscriptionIdT subscriptionId, const SaEvtEventHandleT eventHandle,
                       const SaSizeT eventDataSize)
{
    deliver_calls += (subscriptionId == 9 && eventHandle == 0x100000001ULL && eventDataSize == 17);
}
static void open_cb(SaInvocationT invocation, SaEvtChannelHandleT channelHandle, SaAisErrorT error)
{
    (void)invocation;
    (void)channelHandle;
    (void)error;
}

static void types(void)
{
    ABI_SAME_TYPE(SaEvtHandleT, uint64_t);
    ABI_SAME_TYPE(SaEvtEventHandleT, uint64_t);
    ABI_SAME_TYPE(SaEvtChannelHandleT, uint64_t);
    ABI_SAME_TYPE(SaEvtSubscriptionIdT, uint32_t);
    ABI_SAME_TYPE(SaEvtChannelOpenFlagsT, uint8_t);
    ABI_SAME_TYPE(SaEvtEventPriorityT, uint8_t);
    ABI_SAME_TYPE(SaEvtEventIdT, uint64_t);
    ABI_SIZE(SaEvtHandleT, 8);
    ABI_SIZE(SaEvtEventHandleT, 8);
    ABI_SIZE(SaEvtChannelHandleT, 8);
    ABI_SIZE(SaEvtSubscriptionIdT, 4);
    ABI_SIZE(SaEvtChannelOpenFlagsT, 1);
    ABI_SIZE(SaEvtEventPriorityT, 1);
    ABI_SIZE(SaEvtEventIdT, 8);
    ABI_SIZE(SaEvtEventFilterTypeT, 4);
    ABI_IS_ENUM(SaEvtEventFilterTypeT);
    ABI_SIZE(SaEvtEventDeliverCallbackT, 8);
    ABI_SIZE(SaEvtChannelOpenCallbackT, 8);
}

static void structs(void)
{
    SaEvtEventPatternT pattern;
    SaEvtEventPatternArrayT patterns;
    SaEvtEventFilterT filter;
    SaEvtEventFilterArrayT filters;

    ABI_SIZE(SaEvtEventPatternT, 24);
    ABI_ALIGN(SaEvtEventPatternT, 8);
    ABI_FIELD(SaEvtEventPatternT, allocatedSize, 0, 8);
    ABI_FIELD(SaEvtEventPatternT, patternSize, 8, 8);
    ABI_FIELD(SaEvtEventPatternT, pattern, 16, 8);
    {
        SaSizeT *allocated = &pattern.allocatedSize;
        SaSizeT *size = &pattern.patternSize;
        SaUint8T **bytes = &pattern.pattern;
        ABI_TRUE(allocated && size && bytes);
    }

    ABI_SIZE(SaEvtEventPatternArrayT, 24);
    ABI_ALIGN(SaEvtEventPatternArrayT, 8);
    ABI_FIELD(SaEvtEventPatternArrayT, allocatedNumber, 0, 8);
    ABI_FIELD(SaEvtEventPatternArrayT, patternsNumber, 8, 8);
    ABI_FIELD(SaEvtEventPatternArrayT, patterns, 16, 8);
    {
        SaSizeT *allocated = &patterns.allocatedNumber;
        SaSizeT *number = &patterns.patternsNumber;
        SaEvtEventPatternT **list = &patterns.patterns;
        ABI_TRUE(allocated && number && list);
    }

    ABI_SIZE(SaEvtEventFilterT, 32);
    ABI_ALIGN(SaEvtEventFilterT, 8);
    ABI_FIELD(SaEvtEventFilterT, filterType, 0, 4);
    ABI_FIELD(SaEvtEventFilterT, filter, 8, 24);
    {
        SaEvtEventFilterTypeT *type = &filter.filterType;
        SaEvtEventPatternT *p = &filter.filter;
        ABI_TRUE(type && p);
    }

    ABI_SIZE(SaEvtEventFilterArrayT, 16);
    ABI_ALIGN(SaEvtEventFilterArrayT, 8);
    ABI_FIELD(SaEvtEventFilterArrayT, filtersNumber, 0, 8);
    ABI_FIELD(SaEvtEventFilterArrayT, filters, 8, 8);
    {
        SaSizeT *number = &filters.filtersNumber;
        SaEvtEventFilterT **list = &filters.filters;
        ABI_TRUE(number && list);
    }
    {
        /* Programs build filters positionally, as the spec's examples do. */
        SaUint8T name[] = { 'a', 'b' };
        SaEvtEventFilterT f[1] = { { SA_EVT_PREFIX_FILTER, { 2, 2, name } } };
        SaEvtEventFilterArrayT a = { 1, f };
        ABI_EQ(a.filters[0].filter.patternSize, 2);
        ABI_TRUE(a.filters[0].filter.pattern == name);
    }

    ABI_SIZE(SaEvtCallbacksT, 16);
    ABI_ALIGN(SaEvtCallbacksT, 8);
    ABI_FIELD(SaEvtCallbacksT, saEvtChannelOpenCallback, 0, 8);
    ABI_FIELD(SaEvtCallbacksT, saEvtEventDeliverCallback, 8, 8);
    {
        /* Positional initialization: open first, deliver second. */
        SaEvtCallbacksT callbacks = { open_cb, deliver_cb };
        SaEvtChannelOpenCallbackT open = open_cb;
        SaEvtEventDeliverCallbackT deliver = deliver_cb;
        callbacks.saEvtEventDeliverCallback(9, 0x100000001ULL, 17);
        ABI_EQ(deliver_calls, 1);
        ABI_TRUE(callbacks.saEvtChannelOpenCallback == open && deliver == deliver_cb);
    }
}

static void constants(void)
{
    ABI_EQ(SA_EVT_CHANNEL_PUBLISHER, 0x1);
    ABI_EQ(SA_EVT_CHANNEL_SUBSCRIBER, 0x2);
    ABI_EQ(SA_EVT_CHANNEL_CREATE, 0x4);
    ABI_EXPR_TYPE(SA_EVT_CHANNEL_PUBLISHER, int);
    ABI_EXPR_TYPE(SA_EVT_CHANNEL_CREATE, int);
#if SA_EVT_CHANNEL_PUBLISHER != 1 || SA_EVT_CHANNEL_SUBSCRIBER != 2 || SA_EVT_CHANNEL_CREATE != 4
#error SA_EVT_CHANNEL_* must be usable in #if
#endif

    ABI_EQ(SA_EVT_HIGHEST_PRIORITY, 0);
    ABI_EQ(SA_EVT_LOWEST_PRIORITY, 3);
    ABI_EXPR_TYPE(SA_EVT_LOWEST_PRIORITY, int);
#if SA_EVT_HIGHEST_PRIORITY != 0 || SA_EVT_LOWEST_PRIORITY != 3
#error SA_EVT_*_PRIORITY must be usable in #if
#endif

    ABI_EQ(SA_EVT_EVENTID_NONE, 0);
    ABI_EQ(SA_EVT_EVENTID_LOST, 1);
    ABI_EXPR_TYPE(SA_EVT_EVENTID_LOST, int);
#if SA_EVT_EVENTID_NONE != 0 || SA_EVT_EVENTID_LOST != 1
#error SA_EVT_EVENTID_* must be usable in #if
#endif

    ABI_EQ(SA_EVT_DATA_MAX_LEN, 65536);
    ABI_EXPR_TYPE(SA_EVT_DATA_MAX_LEN, int);
#if SA_EVT_DATA_MAX_LEN != 65536
#error SA_EVT_DATA_MAX_LEN must be usable in #if
#endif

    {
        /* A string literal (it concatenates), 25 characters and a NUL. */
        static const char lost[] = SA_EVT_LOST_EVENT "";
        ABI_EQ(sizeof(lost), 26);
        ABI_EQ(strcmp(lost, "SA_EVT_LOST_EVENT_PATTERN"), 0);
    }

    ABI_EQ(SA_EVT_PREFIX_FILTER, 1);
    ABI_EQ(SA_EVT_SUFFIX_FILTER, 2);
    ABI_EQ(SA_EVT_EXACT_FILTER, 3);
    ABI_EQ(SA_EVT_PASS_ALL_FILTER, 4);
    {
        /* Every enumerator is there and distinct. */
        SaEvtEventFilterTypeT t = SA_EVT_EXACT_FILTER;
        int n = 0;
        switch (t) {
        case SA_EVT_PREFIX_FILTER: case SA_EVT_SUFFIX_FILTER: case SA_EVT_EXACT_FILTER:
        case SA_EVT_PASS_ALL_FILTER:
            n++;
            break;
        }
        ABI_EQ(n, 1);
    }
}

/* Each function, assigned to a pointer of the classic B.01.01 prototype
 * (include/saEvt.h of openais): a compile error (-Werror, and in C++) if
 * any parameter or return type differs. Inside sizeof: nothing to link. */
#define ABI_PROTOTYPE(pointer, function) ABI_EQ(sizeof((pointer) = (function)), sizeof(pointer))
static void prototypes(void)
{
    SaAisErrorT (*initialize)(SaEvtHandleT *, const SaEvtCallbacksT *, SaVersionT *) = 0;
    SaAisErrorT (*selection)(SaEvtHandleT, SaSelectionObjectT *) = 0;
    SaAisErrorT (*dispatch)(SaEvtHandleT, SaDispatchFlagsT) = 0;
    SaAisErrorT (*finalize)(SaEvtHandleT) = 0;
    SaAisErrorT (*open)(SaEvtHandleT, const SaNameT *, SaEvtChannelOpenFlagsT, SaTimeT,
                        SaEvtChannelHandleT *) = 0;
    SaAisErrorT (*open_async)(SaEvtHandleT, SaInvocationT, const SaNameT *, SaEvtChannelOpenFlagsT) = 0;
    SaAisErrorT (*close)(SaEvtChannelHandleT) = 0;
    SaAisErrorT (*unlink)(SaEvtHandleT, const SaNameT *) = 0;
    SaAisErrorT (*allocate)(SaEvtChannelHandleT, SaEvtEventHandleT *) = 0;
    SaAisErrorT (*event_free)(SaEvtEventHandleT) = 0;
    SaAisErrorT (*attr_set)(SaEvtEventHandleT, const SaEvtEventPatternArrayT *, SaEvtEventPriorityT,
                            SaTimeT, const SaNameT *) = 0;
    SaAisErrorT (*attr_get)(SaEvtEventHandleT, SaEvtEventPatternArrayT *, SaEvtEventPriorityT *,
                            SaTimeT *, SaNameT *, SaTimeT *, SaEvtEventIdT *) = 0;
    SaAisErrorT (*data_get)(SaEvtEventHandleT, void *, SaSizeT *) = 0;
    SaAisErrorT (*publish)(SaEvtEventHandleT, const void *, SaSizeT, SaEvtEventIdT *) = 0;
    SaAisErrorT (*subscribe)(SaEvtChannelHandleT, const SaEvtEventFilterArrayT *, SaEvtSubscriptionIdT) = 0;
    SaAisErrorT (*unsubscribe)(SaEvtChannelHandleT, SaEvtSubscriptionIdT) = 0;
    SaAisErrorT (*clear)(SaEvtChannelHandleT, SaEvtEventIdT) = 0;

    ABI_PROTOTYPE(initialize, saEvtInitialize);
    ABI_PROTOTYPE(selection, saEvtSelectionObjectGet);
    ABI_PROTOTYPE(dispatch, saEvtDispatch);
    ABI_PROTOTYPE(finalize, saEvtFinalize);
    ABI_PROTOTYPE(open, saEvtChannelOpen);
    ABI_PROTOTYPE(open_async, saEvtChannelOpenAsync);
    ABI_PROTOTYPE(close, saEvtChannelClose);
    ABI_PROTOTYPE(unlink, saEvtChannelUnlink);
    ABI_PROTOTYPE(allocate, saEvtEventAllocate);
    ABI_PROTOTYPE(event_free, saEvtEventFree);
    ABI_PROTOTYPE(attr_set, saEvtEventAttributesSet);
    ABI_PROTOTYPE(attr_get, saEvtEventAttributesGet);
    ABI_PROTOTYPE(data_get, saEvtEventDataGet);
    ABI_PROTOTYPE(publish, saEvtEventPublish);
    ABI_PROTOTYPE(subscribe, saEvtEventSubscribe);
    ABI_PROTOTYPE(unsubscribe, saEvtEventUnsubscribe);
    ABI_PROTOTYPE(clear, saEvtEventRetentionTimeClear);
}

int main(void)
{
    types();
    structs();
    constants();
    prototypes();
    return ABI_DONE("abi_saEvt");
}
