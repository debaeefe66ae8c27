/* A small event tool for the multi-node tests (cluster.sh):
 *
 *   evt_node pub <channel> <pattern> <retention-ms> <data> [count]
 *       publishes count (default 1) events; prints "id <n>" for each
 *   evt_node sub <channel> <prefix|suffix|exact|all> <filter> <want> <ms>
 *       subscribes, prints "ready", then "event <id> <pattern> <data>" for
 *       each event; exits 0 when exactly <want> arrived (waits <ms> for
 *       them, then 300 ms more for extras), 1 otherwise
 *   evt_node clear <channel> <id>
 *       clears the retention time of event <id>
 *
 * Channels are opened with CREATE; output is flushed line by line. */
#include <corosync/saEvt.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int count;

static void on_event(SaEvtSubscriptionIdT sub, SaEvtEventHandleT ev, SaSizeT size)
{
    char data[256];
    SaSizeT n = sizeof(data);
    SaEvtEventIdT id = 0;
    SaEvtEventPatternArrayT a = { 0, 0, NULL };
    (void)sub;
    (void)size;
    if (saEvtEventDataGet(ev, data, &n) != SA_AIS_OK)
        n = 0;
    saEvtEventAttributesGet(ev, &a, NULL, NULL, NULL, NULL, &id);
    printf("event %llu %.*s %.*s\n", (unsigned long long)id, a.patternsNumber ? (int)a.patterns[0].patternSize : 0,
           a.patternsNumber ? (char *)a.patterns[0].pattern : "", (int)n, data);
    fflush(stdout);
    if (a.patterns) {
        SaSizeT i;
        for (i = 0; i < a.patternsNumber; i++)
            free(a.patterns[i].pattern);
        free(a.patterns);
    }
    saEvtEventFree(ev);
    count++;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define RETRY(call)                                                                                      \
    ({                                                                                                   \
        SaAisErrorT e_;                                                                                  \
        int t_ = 0;                                                                                      \
        while ((e_ = (call)) == SA_AIS_ERR_TRY_AGAIN && t_++ < 200)                                 \
            usleep(50000);                                                                               \
        e_;                                                                                              \
    })

static int die(const char *what, SaAisErrorT e)
{
    fprintf(stderr, "evt_node: %s: error %d\n", what, (int)e);
    return 2;
}

int main(int argc, char **argv)
{
    SaEvtHandleT h;
    SaVersionT v = { 'B', 1, 1 };
    SaEvtCallbacksT cb = { NULL, on_event };
    SaEvtChannelHandleT ch;
    SaNameT name;
    SaSelectionObjectT so;
    SaAisErrorT e;

    if (argc < 3) {
        fprintf(stderr, "usage: see the comment in evt_node.c\n");
        return 2;
    }
    memset(&name, 0, sizeof(name));
    name.length = (SaUint16T)strlen(argv[2]);
    memcpy(name.value, argv[2], name.length);
    e = RETRY(saEvtInitialize(&h, &cb, &v));
    if (e != SA_AIS_OK)
        return die("initialize", e);
    saEvtSelectionObjectGet(h, &so);
    e = RETRY(saEvtChannelOpen(h, &name, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER,
                               SA_TIME_ONE_SECOND * 10, &ch));
    if (e != SA_AIS_OK)
        return die("open", e);

    if (strcmp(argv[1], "pub") == 0 && argc >= 6) {
        SaEvtEventHandleT ev;
        SaEvtEventPatternT p = { strlen(argv[3]), strlen(argv[3]), (SaUint8T *)argv[3] };
        SaEvtEventPatternArrayT a = { 1, 1, &p };
        SaNameT pub = name;
        int n = argc > 6 ? atoi(argv[6]) : 1, i;
        saEvtEventAllocate(ch, &ev);
        e = saEvtEventAttributesSet(ev, &a, 1, (SaTimeT)atoll(argv[4]) * SA_TIME_ONE_MILLISECOND, &pub);
        if (e != SA_AIS_OK)
            return die("attributes set", e);
        for (i = 0; i < n; i++) {
            SaEvtEventIdT id;
            e = RETRY(saEvtEventPublish(ev, argv[5], strlen(argv[5]), &id));
            if (e != SA_AIS_OK)
                return die("publish", e);
            printf("id %llu\n", (unsigned long long)id);
        }
        fflush(stdout);
    } else if (strcmp(argv[1], "sub") == 0 && argc >= 7) {
        SaEvtEventFilterT f;
        SaEvtEventFilterArrayT fa = { 1, &f };
        int want = atoi(argv[5]);
        long long deadline = now_ms() + atoll(argv[6]), extra = 0;
        f.filterType = strcmp(argv[3], "prefix") == 0   ? SA_EVT_PREFIX_FILTER
                       : strcmp(argv[3], "suffix") == 0 ? SA_EVT_SUFFIX_FILTER
                       : strcmp(argv[3], "exact") == 0  ? SA_EVT_EXACT_FILTER
                                                        : SA_EVT_PASS_ALL_FILTER;
        f.filter.allocatedSize = f.filter.patternSize = strlen(argv[4]);
        f.filter.pattern = (SaUint8T *)argv[4];
        e = RETRY(saEvtEventSubscribe(ch, &fa, 1));
        if (e != SA_AIS_OK)
            return die("subscribe", e);
        printf("ready\n");
        fflush(stdout);
        for (;;) {
            struct pollfd pfd = { (int)so, POLLIN, 0 };
            long long t = now_ms();
            if (count >= want && extra == 0)
                extra = t + 300;
            if ((extra && t >= extra) || (!extra && t >= deadline))
                break;
            if (poll(&pfd, 1, 20) == 1)
                saEvtDispatch(h, SA_DISPATCH_ALL);
        }
        saEvtFinalize(h);
        return count == want ? 0 : 1;
    } else if (strcmp(argv[1], "clear") == 0 && argc >= 4) {
        e = RETRY(saEvtEventRetentionTimeClear(ch, strtoull(argv[3], NULL, 10)));
        if (e != SA_AIS_OK)
            return die("clear", e);
    } else {
        fprintf(stderr, "evt_node: bad arguments\n");
        return 2;
    }
    saEvtFinalize(h);
    return 0;
}
