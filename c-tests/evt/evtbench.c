/* Event service benchmark tool (driven by c-tests/evt/bench.sh):
 *
 *   evtbench pub <channel> <data-size> <count>
 *       publishes <count> events of <data-size> bytes as fast as the
 *       executive takes them (TRY_AGAIN is retried); prints
 *       "published <count> <ms> <events/s>"
 *   evtbench sub <channel> <count> <timeout-s>
 *       subscribes (pass-all), prints "ready", then receives until <count>
 *       events (or the lost event and what follows) or the timeout; reads
 *       each event's data; prints "delivered <n> lost <0|1> <ms> <events/s>"
 *       with the time from the first event to the last. */
#include <corosync/saEvt.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long received, lost;
static long long first_ns, last_ns;
static char *buf;
static SaSizeT buf_size = SA_EVT_DATA_MAX_LEN;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void on_event(SaEvtSubscriptionIdT sub, SaEvtEventHandleT ev, SaSizeT size)
{
    SaSizeT n = buf_size;
    SaEvtEventIdT id = 0;
    (void)sub;
    (void)size;
    saEvtEventAttributesGet(ev, NULL, NULL, NULL, NULL, NULL, &id);
    if (id == SA_EVT_EVENTID_LOST)
        lost = 1;
    else if (saEvtEventDataGet(ev, buf, &n) == SA_AIS_OK)
        received++;
    saEvtEventFree(ev);
    last_ns = now_ns();
    if (!first_ns)
        first_ns = last_ns;
}

int main(int argc, char **argv)
{
    SaEvtHandleT h;
    SaVersionT v = { 'B', 1, 1 };
    SaEvtCallbacksT cb = { NULL, on_event };
    SaEvtChannelHandleT ch;
    SaNameT name;
    SaAisErrorT e;
    int tries = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: evtbench pub <channel> <size> <count> | sub <channel> <count> <timeout-s>\n");
        return 2;
    }
    buf = malloc(buf_size);
    memset(buf, 'x', buf_size);
    memset(&name, 0, sizeof(name));
    name.length = (SaUint16T)strlen(argv[2]);
    memcpy(name.value, argv[2], name.length);
    while ((e = saEvtInitialize(&h, &cb, &v)) == SA_AIS_ERR_TRY_AGAIN && tries++ < 100)
        usleep(100000);
    if (e != SA_AIS_OK) {
        fprintf(stderr, "evtbench: initialize: %d\n", (int)e);
        return 1;
    }
    while ((e = saEvtChannelOpen(h, &name, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER,
                                 SA_TIME_ONE_SECOND * 10, &ch)) == SA_AIS_ERR_TRY_AGAIN && tries++ < 100)
        usleep(100000);
    if (e != SA_AIS_OK) {
        fprintf(stderr, "evtbench: open: %d\n", (int)e);
        return 1;
    }
    if (strcmp(argv[1], "pub") == 0) {
        SaEvtEventHandleT ev;
        SaEvtEventPatternT p = { 5, 5, (SaUint8T *)"bench" };
        SaEvtEventPatternArrayT a = { 1, 1, &p };
        SaSizeT size = (SaSizeT)atol(argv[3]);
        long long count = atoll(argv[4]), i, t0, t1;
        saEvtEventAllocate(ch, &ev);
        saEvtEventAttributesSet(ev, &a, SA_EVT_LOWEST_PRIORITY, 0, &name);
        t0 = now_ns();
        for (i = 0; i < count; i++) {
            SaEvtEventIdT id;
            while ((e = saEvtEventPublish(ev, buf, size, &id)) == SA_AIS_ERR_TRY_AGAIN)
                usleep(200);
            if (e != SA_AIS_OK) {
                fprintf(stderr, "evtbench: publish: %d\n", (int)e);
                return 1;
            }
        }
        t1 = now_ns();
        printf("published %lld %.1f %.0f\n", count, (t1 - t0) / 1e6, count / ((t1 - t0) / 1e9));
    } else if (strcmp(argv[1], "sub") == 0) {
        SaEvtEventFilterT f = { SA_EVT_PASS_ALL_FILTER, { 0, 0, NULL } };
        SaEvtEventFilterArrayT fa = { 1, &f };
        SaSelectionObjectT so;
        long long want = atoll(argv[3]);
        long long deadline = now_ns() + atoll(argv[4]) * 1000000000LL;
        e = saEvtEventSubscribe(ch, &fa, 1);
        if (e != SA_AIS_OK) {
            fprintf(stderr, "evtbench: subscribe: %d\n", (int)e);
            return 1;
        }
        saEvtSelectionObjectGet(h, &so);
        printf("ready\n");
        fflush(stdout);
        while (received < want && now_ns() < deadline) {
            struct pollfd pfd = { (int)so, POLLIN, 0 };
            if (poll(&pfd, 1, 100) == 1)
                saEvtDispatch(h, SA_DISPATCH_ALL);
            /* After a loss the count cannot be reached: stop when idle. */
            if (lost && now_ns() - last_ns > 500000000LL)
                break;
        }
        {
            double ms = (last_ns - first_ns) / 1e6;
            printf("delivered %lld lost %lld %.1f %.0f\n", received, lost, ms, ms > 0 ? received / (ms / 1e3) : 0.0);
        }
    }
    saEvtFinalize(h);
    return 0;
}
