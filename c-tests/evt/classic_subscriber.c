/*
 * A program in the style of the classic openais event test programs,
 * written against the B.01.01 API only: <saAis.h> and <saEvt.h> found with
 * -I.../include/corosync, linked with -lSaEvt. run.sh builds it with no
 * other flags and no edits. It opens a channel, subscribes with a prefix
 * filter, publishes two events (one matching), waits with select() on the
 * selection object and checks what arrived. Exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/select.h>
#include "saAis.h"
#include "saEvt.h"

static SaVersionT version = { 'B', 1, 1 };

static void open_callback(SaInvocationT invocation, SaEvtChannelHandleT channel_handle, SaAisErrorT error);
static void event_callback(SaEvtSubscriptionIdT subscription_id, const SaEvtEventHandleT event_handle,
                           const SaSizeT event_data_size);

static SaEvtCallbacksT callbacks = {
    open_callback,
    event_callback
};

static int got_event;
static char got_data[64];

static void open_callback(SaInvocationT invocation, SaEvtChannelHandleT channel_handle, SaAisErrorT error)
{
    (void)invocation;
    (void)channel_handle;
    (void)error;
}

static void event_callback(SaEvtSubscriptionIdT subscription_id, const SaEvtEventHandleT event_handle,
                           const SaSizeT event_data_size)
{
    SaSizeT size = sizeof(got_data) - 1;
    SaEvtEventPatternT pat_buf[4];
    SaUint8T pat_mem[4][64];
    SaEvtEventPatternArrayT pats;
    SaEvtEventPriorityT priority;
    SaTimeT retention, publish_time;
    SaNameT publisher;
    SaEvtEventIdT event_id;
    int i;

    for (i = 0; i < 4; i++) {
        pat_buf[i].allocatedSize = sizeof(pat_mem[i]);
        pat_buf[i].pattern = pat_mem[i];
    }
    pats.allocatedNumber = 4;
    pats.patterns = pat_buf;
    if (saEvtEventAttributesGet(event_handle, &pats, &priority, &retention, &publisher, &publish_time,
                                &event_id) != SA_AIS_OK) {
        printf("attributes get failed\n");
        exit(1);
    }
    if (saEvtEventDataGet(event_handle, got_data, &size) != SA_AIS_OK || size != event_data_size) {
        printf("data get failed\n");
        exit(1);
    }
    printf("event %llx sub %u pattern %.*s data %.*s\n", (unsigned long long)event_id, subscription_id,
           (int)pats.patterns[0].patternSize, (char *)pats.patterns[0].pattern, (int)size, got_data);
    got_event++;
    saEvtEventFree(event_handle);
}

int main(void)
{
    SaEvtHandleT handle;
    SaEvtChannelHandleT channel_handle;
    SaEvtEventHandleT event_handle;
    SaSelectionObjectT fd;
    SaNameT channel_name;
    SaNameT publisher_name;
    SaEvtEventIdT event_id;
    SaAisErrorT result;
    SaUint8T pat1[] = "classic.match";
    SaUint8T pat2[] = "other";
    SaUint8T filt[] = "classic.";
    SaEvtEventPatternT patterns[1];
    SaEvtEventPatternArrayT pattern_array = { 1, 1, patterns };
    SaEvtEventFilterT filters[] = {
        { SA_EVT_PREFIX_FILTER, { sizeof(filt) - 1, sizeof(filt) - 1, filt } },
    };
    SaEvtEventFilterArrayT filter_array = { 1, filters };
    fd_set read_fds;
    struct timeval tv;
    int loops;

    strcpy((char *)channel_name.value, "classic-channel");
    channel_name.length = strlen((char *)channel_name.value);
    strcpy((char *)publisher_name.value, "classic-publisher");
    publisher_name.length = strlen((char *)publisher_name.value);

    do {
        result = saEvtInitialize(&handle, &callbacks, &version);
    } while (result == SA_AIS_ERR_TRY_AGAIN && !sleep(1));
    if (result != SA_AIS_OK) {
        printf("saEvtInitialize %d\n", result);
        return 1;
    }
    saEvtSelectionObjectGet(handle, &fd);
    result = saEvtChannelOpen(handle, &channel_name,
                              SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER | SA_EVT_CHANNEL_CREATE,
                              SA_TIME_END, &channel_handle);
    if (result != SA_AIS_OK) {
        printf("saEvtChannelOpen %d\n", result);
        return 1;
    }
    result = saEvtEventSubscribe(channel_handle, &filter_array, 42);
    if (result != SA_AIS_OK) {
        printf("saEvtEventSubscribe %d\n", result);
        return 1;
    }
    saEvtEventAllocate(channel_handle, &event_handle);
    patterns[0].pattern = pat2;
    patterns[0].patternSize = sizeof(pat2) - 1;
    patterns[0].allocatedSize = sizeof(pat2) - 1;
    saEvtEventAttributesSet(event_handle, &pattern_array, SA_EVT_LOWEST_PRIORITY, 0, &publisher_name);
    saEvtEventPublish(event_handle, "ignored", 7, &event_id);
    patterns[0].pattern = pat1;
    patterns[0].patternSize = sizeof(pat1) - 1;
    patterns[0].allocatedSize = sizeof(pat1) - 1;
    saEvtEventAttributesSet(event_handle, &pattern_array, SA_EVT_HIGHEST_PRIORITY, 0, &publisher_name);
    result = saEvtEventPublish(event_handle, "hello", 5, &event_id);
    if (result != SA_AIS_OK) {
        printf("saEvtEventPublish %d\n", result);
        return 1;
    }
    saEvtEventFree(event_handle);

    for (loops = 0; loops < 50 && !got_event; loops++) {
        FD_ZERO(&read_fds);
        FD_SET(fd, &read_fds);
        tv.tv_sec = 0;
        tv.tv_usec = 100000;
        if (select(fd + 1, &read_fds, 0, 0, &tv) > 0)
            saEvtDispatch(handle, SA_DISPATCH_ALL);
    }
    /* Anything else would have arrived with it. */
    usleep(200000);
    saEvtDispatch(handle, SA_DISPATCH_ALL);
    saEvtChannelClose(channel_handle);
    saEvtChannelUnlink(handle, &channel_name);
    saEvtFinalize(handle);
    if (got_event != 1 || strncmp(got_data, "hello", 5) != 0) {
        printf("classic: got %d events, want exactly the matching one\n", got_event);
        return 1;
    }
    printf("classic: passed, 1 event\n");
    return 0;
}
