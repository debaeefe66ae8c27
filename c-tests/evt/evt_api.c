/* The EVT B.01.01 API against a live executive, through <corosync/saEvt.h>
 * and -lSaEvt: channels, every filter type, priorities, retention and late
 * subscribers, retention clear, the lost event on overflow, unlink,
 * async open, data and attribute get, and every error path.
 *
 * Ends with "evt_api: N passed, N failed"; exits non-zero on any failure.
 * Channel names carry the pid, so runs against a shared cluster do not meet. */
#include <corosync/saEvt.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

/* What the deliver callback saw. */
#define MAX_SEEN 4096
static struct seen {
    SaEvtSubscriptionIdT sub;
    SaEvtEventHandleT event;
    SaSizeT size;
} seen[MAX_SEEN];
static int nseen;

static void on_event(SaEvtSubscriptionIdT sub, SaEvtEventHandleT event, SaSizeT size)
{
    if (nseen < MAX_SEEN) {
        seen[nseen].sub = sub;
        seen[nseen].event = event;
        seen[nseen].size = size;
        nseen++;
    } else {
        saEvtEventFree(event);
    }
}

static SaInvocationT open_inv;
static SaEvtChannelHandleT open_handle;
static SaAisErrorT open_err = SA_AIS_ERR_LIBRARY;
static int opens_seen;

static void on_open(SaInvocationT inv, SaEvtChannelHandleT ch, SaAisErrorT err)
{
    open_inv = inv;
    open_handle = ch;
    open_err = err;
    opens_seen++;
}

static void forget_seen(void)
{
    int i;
    for (i = 0; i < nseen; i++)
        saEvtEventFree(seen[i].event);
    nseen = 0;
}

static SaNameT name_of(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof(n));
    n.length = (SaUint16T)strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static SaNameT channel_name(const char *what)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "evt-api-%d-%s", (int)getpid(), what);
    return name_of(buf);
}

static int readable(SaSelectionObjectT so, int ms)
{
    struct pollfd p;
    p.fd = (int)so;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Dispatches until `want` events were seen or 5 s passed. */
static void wait_events(SaEvtHandleT h, SaSelectionObjectT so, int want)
{
    int i;
    for (i = 0; i < 500 && nseen < want; i++) {
        if (readable(so, 10))
            saEvtDispatch(h, SA_DISPATCH_ALL);
    }
}

/* Allocates an event with one pattern per string of `pats` (NULL-ended). */
static SaEvtEventHandleT make_event(SaEvtChannelHandleT ch, const char **pats, SaEvtEventPriorityT prio,
                                    SaTimeT retention)
{
    SaEvtEventHandleT ev = 0;
    SaEvtEventPatternT p[8];
    SaEvtEventPatternArrayT a;
    SaNameT pub = name_of("evt_api");
    int n = 0;
    while (pats && pats[n] && n < 8) {
        p[n].allocatedSize = strlen(pats[n]);
        p[n].patternSize = strlen(pats[n]);
        p[n].pattern = (SaUint8T *)pats[n];
        n++;
    }
    a.allocatedNumber = (SaSizeT)n;
    a.patternsNumber = (SaSizeT)n;
    a.patterns = p;
    EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);
    EXPECT(saEvtEventAttributesSet(ev, &a, prio, retention, &pub), SA_AIS_OK);
    return ev;
}

static SaEvtEventIdT publish(SaEvtChannelHandleT ch, const char **pats, SaEvtEventPriorityT prio,
                             SaTimeT retention, const char *data)
{
    SaEvtEventIdT id = 0;
    SaEvtEventHandleT ev = make_event(ch, pats, prio, retention);
    EXPECT(saEvtEventPublish(ev, data, strlen(data), &id), SA_AIS_OK);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);
    return id;
}

static SaAisErrorT subscribe1(SaEvtChannelHandleT ch, SaEvtEventFilterTypeT type, const char *pat,
                              SaEvtSubscriptionIdT sub)
{
    SaEvtEventFilterT f;
    SaEvtEventFilterArrayT fa;
    f.filterType = type;
    f.filter.allocatedSize = strlen(pat);
    f.filter.patternSize = strlen(pat);
    f.filter.pattern = (SaUint8T *)pat;
    fa.filtersNumber = 1;
    fa.filters = &f;
    return saEvtEventSubscribe(ch, &fa, sub);
}

static int seen_count(SaEvtSubscriptionIdT sub)
{
    int i, n = 0;
    for (i = 0; i < nseen; i++)
        n += seen[i].sub == sub;
    return n;
}

static SaEvtEventIdT id_of(SaEvtEventHandleT ev)
{
    SaEvtEventIdT id = 0;
    EXPECT(saEvtEventAttributesGet(ev, NULL, NULL, NULL, NULL, NULL, &id), SA_AIS_OK);
    return id;
}

static SaVersionT B0101(void)
{
    SaVersionT v;
    v.releaseCode = 'B';
    v.majorVersion = 1;
    v.minorVersion = 1;
    return v;
}

static void test_init_and_handles(void)
{
    SaEvtHandleT h = 0;
    SaVersionT v = B0101();
    SaEvtCallbacksT cb = { on_open, on_event };
    SaSelectionObjectT so;

    v.releaseCode = 'A';
    EXPECT(saEvtInitialize(&h, &cb, &v), SA_AIS_ERR_VERSION);
    CHECK(v.releaseCode == 'B' && v.majorVersion == 1, "supported version written back");
    v = B0101();
    EXPECT(saEvtInitialize(NULL, &cb, &v), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtInitialize(&h, &cb, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtInitialize(&h, &cb, &v), SA_AIS_OK);
    EXPECT(saEvtSelectionObjectGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtSelectionObjectGet(h, &so), SA_AIS_OK);
    EXPECT(saEvtDispatch(h, 0), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    EXPECT(saEvtFinalize(h), SA_AIS_OK);
    EXPECT(saEvtFinalize(h), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtDispatch(h, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtSelectionObjectGet(h, &so), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtChannelClose(12345), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtEventFree(12345), SA_AIS_ERR_BAD_HANDLE);
}

static void test_open_errors_and_access(SaEvtHandleT h)
{
    SaNameT n = channel_name("access");
    SaEvtChannelHandleT pub = 0, sub = 0, both = 0;
    SaEvtEventHandleT ev;
    SaEvtEventIdT id;
    SaNameT big = name_of("x");
    big.length = SA_MAX_NAME_LENGTH + 1;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_PUBLISHER, SA_TIME_ONE_SECOND * 5, &pub), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saEvtChannelOpen(h, &n, 0x8, SA_TIME_ONE_SECOND * 5, &pub), SA_AIS_ERR_BAD_FLAGS);
    EXPECT(saEvtChannelOpen(h, NULL, SA_EVT_CHANNEL_CREATE, SA_TIME_ONE_SECOND * 5, &pub), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtChannelOpen(h, &big, SA_EVT_CHANNEL_CREATE, SA_TIME_ONE_SECOND * 5, &pub), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE, SA_TIME_ONE_SECOND * 5, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtChannelOpen(999, &n, SA_EVT_CHANNEL_CREATE, SA_TIME_ONE_SECOND * 5, &pub), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER, SA_TIME_ONE_SECOND * 5, &pub),
           SA_AIS_OK);
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &sub), SA_AIS_OK);
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER | SA_EVT_CHANNEL_PUBLISHER, SA_TIME_ONE_SECOND * 5, &both),
           SA_AIS_OK);

    /* Publish needs PUBLISHER, subscribe SUBSCRIBER. */
    EXPECT(saEvtEventAllocate(sub, &ev), SA_AIS_OK);
    EXPECT(saEvtEventPublish(ev, "x", 1, &id), SA_AIS_ERR_ACCESS);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);
    EXPECT(subscribe1(pub, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_ERR_ACCESS);
    EXPECT(subscribe1(sub, (SaEvtEventFilterTypeT)9, "", 1), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventSubscribe(sub, NULL, 1), SA_AIS_ERR_INVALID_PARAM);
    {
        /* A huge count with no array (issue 25). */
        SaEvtEventFilterArrayT none = { (SaSizeT)-1 / 2, NULL };
        EXPECT(saEvtEventSubscribe(sub, &none, 1), SA_AIS_ERR_INVALID_PARAM);
        none.filtersNumber = 3;
        EXPECT(saEvtEventSubscribe(sub, &none, 1), SA_AIS_ERR_INVALID_PARAM);
    }
    EXPECT(subscribe1(sub, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_OK);
    EXPECT(subscribe1(sub, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_ERR_EXIST);
    EXPECT(subscribe1(both, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_OK); /* ids are per channel handle */
    EXPECT(saEvtEventUnsubscribe(sub, 77), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saEvtEventUnsubscribe(sub, 1), SA_AIS_OK);
    EXPECT(saEvtEventUnsubscribe(sub, 1), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saEvtEventRetentionTimeClear(pub, SA_EVT_EVENTID_LOST), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventRetentionTimeClear(pub, 0x7fffffffULL << 32), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saEvtEventRetentionTimeClear(4242, 5000), SA_AIS_ERR_BAD_HANDLE);

    /* Publish argument checks. */
    EXPECT(saEvtEventAllocate(pub, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventAllocate(4242, &ev), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtEventAllocate(pub, &ev), SA_AIS_OK);
    EXPECT(saEvtEventPublish(ev, "x", 1, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventPublish(ev, NULL, 5, &id), SA_AIS_ERR_INVALID_PARAM);
    {
        char *huge = calloc(1, SA_EVT_DATA_MAX_LEN + 1);
        EXPECT(saEvtEventPublish(ev, huge, SA_EVT_DATA_MAX_LEN + 1, &id), SA_AIS_ERR_TOO_BIG);
        EXPECT(saEvtEventPublish(ev, huge, SA_EVT_DATA_MAX_LEN, &id), SA_AIS_OK);
        free(huge);
    }
    EXPECT(saEvtEventPublish(ev, NULL, 0, &id), SA_AIS_OK);
    CHECK(id > 1000, "event id %llu above the reserved ids", (unsigned long long)id);
    CHECK(id_of(ev) == id, "attributes report the published id");
    EXPECT(saEvtEventAttributesSet(ev, NULL, SA_EVT_LOWEST_PRIORITY + 1, 0, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventAttributesSet(ev, NULL, SA_EVT_HIGHEST_PRIORITY, -1, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);
    EXPECT(saEvtEventFree(ev), SA_AIS_ERR_BAD_HANDLE);

    EXPECT(saEvtChannelClose(pub), SA_AIS_OK);
    EXPECT(saEvtChannelClose(pub), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtChannelClose(sub), SA_AIS_OK);
    EXPECT(saEvtChannelClose(both), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saEvtChannelUnlink(h, NULL), SA_AIS_ERR_INVALID_PARAM);
}

static void test_filters_priority_data(SaEvtHandleT h, SaSelectionObjectT so)
{
    SaNameT n = channel_name("filters");
    SaEvtChannelHandleT ch = 0;
    SaEvtEventFilterT two[2];
    SaEvtEventFilterArrayT fa;
    const char *p_abxyz[] = { "abxyz", NULL };
    const char *p_abc_x[] = { "abc", "xylophone", NULL };
    const char *p_zzz[] = { "zzz", NULL };
    SaEvtEventIdT id1, id2, id3;
    int i;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER,
                            SA_TIME_ONE_SECOND * 5, &ch), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_PREFIX_FILTER, "ab", 1), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_SUFFIX_FILTER, "yz", 2), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_EXACT_FILTER, "abxyz", 3), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_PASS_ALL_FILTER, "", 4), SA_AIS_OK);
    two[0].filterType = SA_EVT_EXACT_FILTER;
    two[0].filter.allocatedSize = two[0].filter.patternSize = 3;
    two[0].filter.pattern = (SaUint8T *)"abc";
    two[1].filterType = SA_EVT_PREFIX_FILTER;
    two[1].filter.allocatedSize = two[1].filter.patternSize = 1;
    two[1].filter.pattern = (SaUint8T *)"x";
    fa.filtersNumber = 2;
    fa.filters = two;
    EXPECT(saEvtEventSubscribe(ch, &fa, 5), SA_AIS_OK);
    /* Closing a channel drops its waiting events, but a readiness already
     * signalled stays: one dispatch finds nothing and delivers nothing. */
    EXPECT(saEvtDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK(nseen == 0, "events of closed channels are not delivered: %d", nseen);
    CHECK(!readable(so, 50), "nothing pending yet");

    id1 = publish(ch, p_abxyz, 2, 0, "one");
    id2 = publish(ch, p_abc_x, 2, 0, "two");
    id3 = publish(ch, p_zzz, 2, 0, "three");
    CHECK(id1 < id2 && id2 < id3, "ids increase");
    CHECK(readable(so, 2000), "selection object readable with events pending");
    wait_events(h, so, 8);
    /* abxyz: 1,2,3,4; abc/xylophone: 1 (prefix ab), 4, 5; zzz: 4. */
    CHECK(nseen == 8, "saw %d events, want 8", nseen);
    CHECK(seen_count(1) == 2 && seen_count(2) == 1 && seen_count(3) == 1 && seen_count(4) == 3 &&
              seen_count(5) == 1,
          "per subscription: %d %d %d %d %d", seen_count(1), seen_count(2), seen_count(3), seen_count(4),
          seen_count(5));
    /* In order: every subscription sees its events by increasing id. */
    for (i = 1; i < nseen; i++) {
        int j;
        for (j = 0; j < i; j++) {
            if (seen[j].sub == seen[i].sub)
                CHECK(id_of(seen[j].event) < id_of(seen[i].event), "order within subscription %u",
                      (unsigned)seen[i].sub);
        }
    }
    CHECK(!readable(so, 50), "not readable once everything is dispatched");

    /* Data and attributes of a delivered event. */
    for (i = 0; i < nseen; i++) {
        if (seen[i].sub == 5) {
            SaEvtEventHandleT ev = seen[i].event;
            char buf[16];
            SaSizeT size = 1;
            SaEvtEventPatternArrayT a;
            SaEvtEventPatternT small[1];
            SaUint8T tiny[2];
            SaEvtEventPriorityT prio = 9;
            SaTimeT ret = -5, when = 0;
            SaNameT pubname;
            SaEvtEventIdT id = 0;

            CHECK(seen[i].size == 3, "callback size %llu", (unsigned long long)seen[i].size);
            EXPECT(saEvtEventDataGet(ev, buf, &size), SA_AIS_ERR_NO_SPACE);
            CHECK(size == 3, "needed size %llu", (unsigned long long)size);
            EXPECT(saEvtEventDataGet(ev, buf, NULL), SA_AIS_ERR_INVALID_PARAM);
            size = sizeof(buf);
            EXPECT(saEvtEventDataGet(ev, buf, &size), SA_AIS_OK);
            CHECK(size == 3 && memcmp(buf, "two", 3) == 0, "data");

            a.allocatedNumber = 0;
            a.patternsNumber = 0;
            a.patterns = NULL;
            EXPECT(saEvtEventAttributesGet(ev, &a, &prio, &ret, &pubname, &when, &id), SA_AIS_OK);
            CHECK(a.patternsNumber == 2 && a.allocatedNumber == 2 && a.patterns != NULL, "allocated patterns");
            if (a.patterns && a.patternsNumber == 2) {
                CHECK(a.patterns[0].patternSize == 3 && memcmp(a.patterns[0].pattern, "abc", 3) == 0, "pattern 0");
                CHECK(a.patterns[1].patternSize == 9 && memcmp(a.patterns[1].pattern, "xylophone", 9) == 0,
                      "pattern 1");
                free(a.patterns[0].pattern);
                free(a.patterns[1].pattern);
                free(a.patterns);
            }
            CHECK(prio == 2 && ret == 0 && id == id2, "prio %d ret %lld id", prio, (long long)ret);
            CHECK(pubname.length == 7 && memcmp(pubname.value, "evt_api", 7) == 0, "publisher name");
            CHECK(when > 0, "publish time set");

            small[0].allocatedSize = 2;
            small[0].patternSize = 0;
            small[0].pattern = tiny;
            a.allocatedNumber = 1;
            a.patternsNumber = 0;
            a.patterns = small;
            EXPECT(saEvtEventAttributesGet(ev, &a, NULL, NULL, NULL, NULL, NULL), SA_AIS_ERR_NO_SPACE);
            CHECK(a.patternsNumber == 2, "needed pattern count %llu", (unsigned long long)a.patternsNumber);
            EXPECT(saEvtEventAttributesSet(ev, NULL, 1, 0, NULL), SA_AIS_ERR_ACCESS);
        }
    }
    forget_seen();

    /* Priorities: queued events come highest priority first. */
    {
        const char *p[] = { "prio", NULL };
        SaEvtEventIdT low = publish(ch, p, SA_EVT_LOWEST_PRIORITY, 0, "low");
        SaEvtEventIdT high = publish(ch, p, SA_EVT_HIGHEST_PRIORITY, 0, "high");
        SaEvtEventIdT mid = publish(ch, p, 1, 0, "mid");
        /* Let all three reach the queue before dispatching. */
        for (i = 0; i < 50; i++)
            usleep(10000);
        wait_events(h, so, 3);
        CHECK(nseen == 3, "saw %d, want 3 (only the pass-all subscription matches)", nseen);
        {
            SaEvtEventIdT order[3];
            int k = 0;
            for (i = 0; i < nseen && k < 3; i++)
                if (seen[i].sub == 4)
                    order[k++] = id_of(seen[i].event);
            CHECK(k == 3 && order[0] == high && order[1] == mid && order[2] == low, "priority order");
        }
        forget_seen();
    }
    EXPECT(saEvtChannelClose(ch), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
}

static void test_retention(SaEvtHandleT h, SaSelectionObjectT so)
{
    SaNameT n = channel_name("retention");
    SaEvtChannelHandleT pub = 0, late = 0, later = 0, last = 0;
    const char *p[] = { "kept", NULL };
    const char *q[] = { "short", NULL };
    SaEvtEventIdT kept, cleared, shortlived;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER, SA_TIME_ONE_SECOND * 5, &pub),
           SA_AIS_OK);
    kept = publish(pub, p, 1, SA_TIME_ONE_HOUR, "kept");
    cleared = publish(pub, p, 1, SA_TIME_ONE_HOUR, "cleared");
    shortlived = publish(pub, q, 1, SA_TIME_ONE_SECOND, "short");
    publish(pub, p, 1, 0, "not retained");
    (void)shortlived;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &late), SA_AIS_OK);
    EXPECT(subscribe1(late, SA_EVT_PASS_ALL_FILTER, "", 10), SA_AIS_OK);
    wait_events(h, so, 3);
    CHECK(nseen == 3, "late subscriber saw %d retained events, want 3", nseen);
    if (nseen == 3)
        CHECK(id_of(seen[0].event) == kept && id_of(seen[1].event) == cleared, "retained in publish order");
    forget_seen();

    EXPECT(saEvtEventRetentionTimeClear(pub, cleared), SA_AIS_OK);
    EXPECT(saEvtEventRetentionTimeClear(pub, cleared), SA_AIS_ERR_NOT_EXIST);
    usleep(1300 * 1000); /* past the short retention */
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &later), SA_AIS_OK);
    EXPECT(subscribe1(later, SA_EVT_PASS_ALL_FILTER, "", 11), SA_AIS_OK);
    wait_events(h, so, 1);
    usleep(200 * 1000);
    saEvtDispatch(h, SA_DISPATCH_ALL);
    CHECK(nseen == 1, "later subscriber saw %d, want only the kept one", nseen);
    if (nseen >= 1)
        CHECK(id_of(seen[0].event) == kept, "the kept event");
    forget_seen();

    /* A filter applies to retained events too. */
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &last), SA_AIS_OK);
    EXPECT(subscribe1(last, SA_EVT_EXACT_FILTER, "nothing", 12), SA_AIS_OK);
    usleep(200 * 1000);
    saEvtDispatch(h, SA_DISPATCH_ALL);
    CHECK(nseen == 0, "filtered retained: %d", nseen);
    EXPECT(saEvtEventRetentionTimeClear(pub, kept), SA_AIS_OK);
    EXPECT(saEvtChannelClose(pub), SA_AIS_OK);
    EXPECT(saEvtChannelClose(late), SA_AIS_OK);
    EXPECT(saEvtChannelClose(later), SA_AIS_OK);
    EXPECT(saEvtChannelClose(last), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
}

static void test_lost_event(SaEvtHandleT h, SaSelectionObjectT so)
{
    SaNameT n = channel_name("lost");
    SaEvtChannelHandleT ch = 0;
    const char *p[] = { "flood", NULL };
    SaEvtEventHandleT ev;
    SaEvtEventIdT id;
    /* The executive's event { delivery_queue_size } (the default, or what
     * the test's configuration set). */
    int size = getenv("EVT_QUEUE_SIZE") ? atoi(getenv("EVT_QUEUE_SIZE")) : 1000;
    int i, total = size + size / 2, lost = -1, data = 0;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER,
                            SA_TIME_ONE_SECOND * 5, &ch), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_PASS_ALL_FILTER, "", 20), SA_AIS_OK);
    ev = make_event(ch, p, 3, 0);
    for (i = 0; i < total; i++) {
        SaAisErrorT e;
        do {
            e = saEvtEventPublish(ev, "f", 1, &id);
        } while (e == SA_AIS_ERR_TRY_AGAIN && usleep(1000) == 0);
        if (e != SA_AIS_OK) {
            CHECK(0, "flood publish %d: %d", i, (int)e);
            break;
        }
    }
    saEvtEventFree(ev);
    usleep(300 * 1000);
    wait_events(h, so, MAX_SEEN);
    for (i = 0; i < nseen; i++) {
        if (id_of(seen[i].event) == SA_EVT_EVENTID_LOST) {
            SaEvtEventPatternArrayT a = { 0, 0, NULL };
            if (lost < 0)
                lost = i;
            EXPECT(saEvtEventAttributesGet(seen[i].event, &a, NULL, NULL, NULL, NULL, NULL), SA_AIS_OK);
            CHECK(a.patternsNumber == 1 && a.patterns[0].patternSize == strlen(SA_EVT_LOST_EVENT) &&
                      memcmp(a.patterns[0].pattern, SA_EVT_LOST_EVENT, strlen(SA_EVT_LOST_EVENT)) == 0,
                  "lost event pattern");
            if (a.patterns) {
                free(a.patterns[0].pattern);
                free(a.patterns);
            }
            CHECK(seen[i].sub == 20, "lost event carries the subscription id");
        } else {
            data++;
        }
    }
    CHECK(lost == 0, "the lost event comes first (at %d)", lost);
    CHECK(data == size, "%d of %d events delivered with a queue of %d", data, total, size);
    forget_seen();
    EXPECT(saEvtChannelClose(ch), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
}

static void test_unlink_and_async(SaEvtHandleT h, SaSelectionObjectT so)
{
    SaNameT n = channel_name("unlink");
    SaEvtChannelHandleT ch = 0, other = 0;
    const char *p[] = { "u", NULL };
    SaEvtHandleT nocb;
    SaVersionT v = B0101();
    int i;

    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER,
                            SA_TIME_ONE_SECOND * 5, &ch), SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_PASS_ALL_FILTER, "", 30), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &other), SA_AIS_ERR_NOT_EXIST);
    publish(ch, p, 0, 0, "still here");
    wait_events(h, so, 1);
    CHECK(nseen == 1, "an unlinked channel still works for its opens: %d", nseen);
    forget_seen();
    /* A new channel under the same name is another channel. */
    EXPECT(saEvtChannelOpen(h, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_PUBLISHER, SA_TIME_ONE_SECOND * 5, &other),
           SA_AIS_OK);
    publish(other, p, 0, 0, "elsewhere");
    usleep(200 * 1000);
    saEvtDispatch(h, SA_DISPATCH_ALL);
    CHECK(nseen == 0, "the old channel's subscriber sees nothing of the new: %d", nseen);
    EXPECT(saEvtChannelClose(ch), SA_AIS_OK);
    EXPECT(saEvtChannelClose(other), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);

    /* Async open. */
    EXPECT(saEvtChannelOpenAsync(h, 77, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_SUBSCRIBER), SA_AIS_OK);
    for (i = 0; i < 500 && opens_seen == 0; i++) {
        if (readable(so, 10))
            saEvtDispatch(h, SA_DISPATCH_ONE);
    }
    CHECK(opens_seen == 1 && open_inv == 77 && open_err == SA_AIS_OK, "open callback %d %d", opens_seen,
          (int)open_err);
    EXPECT(subscribe1(open_handle, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_OK);
    EXPECT(saEvtChannelClose(open_handle), SA_AIS_OK);
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
    EXPECT(saEvtChannelOpenAsync(h, 78, &n, SA_EVT_CHANNEL_SUBSCRIBER), SA_AIS_OK);
    for (i = 0; i < 500 && opens_seen == 1; i++) {
        if (readable(so, 10))
            saEvtDispatch(h, SA_DISPATCH_ONE);
    }
    CHECK(opens_seen == 2 && open_inv == 78 && open_err == SA_AIS_ERR_NOT_EXIST, "failed open callback %d",
          (int)open_err);
    EXPECT(saEvtChannelOpenAsync(h, 1, NULL, SA_EVT_CHANNEL_CREATE), SA_AIS_ERR_INVALID_PARAM);

    /* Without callbacks: no async open, no subscription. */
    EXPECT(saEvtInitialize(&nocb, NULL, &v), SA_AIS_OK);
    EXPECT(saEvtChannelOpenAsync(nocb, 1, &n, SA_EVT_CHANNEL_CREATE), SA_AIS_ERR_INIT);
    EXPECT(saEvtChannelOpen(nocb, &n, SA_EVT_CHANNEL_CREATE | SA_EVT_CHANNEL_SUBSCRIBER, SA_TIME_ONE_SECOND * 5, &ch),
           SA_AIS_OK);
    EXPECT(subscribe1(ch, SA_EVT_PASS_ALL_FILTER, "", 1), SA_AIS_ERR_INIT);
    {
        SaEvtEventHandleT ev;
        EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);
        EXPECT(saEvtFinalize(nocb), SA_AIS_OK);
        EXPECT(saEvtChannelClose(ch), SA_AIS_ERR_BAD_HANDLE);
        EXPECT(saEvtEventFree(ev), SA_AIS_ERR_BAD_HANDLE);
    }
    EXPECT(saEvtChannelUnlink(h, &n), SA_AIS_OK);
}

int main(void)
{
    SaEvtHandleT h;
    SaVersionT v = B0101();
    SaEvtCallbacksT cb = { on_open, on_event };
    SaSelectionObjectT so;
    int tries;

    test_init_and_handles();
    for (tries = 0; tries < 100; tries++) {
        v = B0101();
        if (saEvtInitialize(&h, &cb, &v) == SA_AIS_OK)
            break;
        usleep(100 * 1000);
    }
    EXPECT(saEvtSelectionObjectGet(h, &so), SA_AIS_OK);
    test_open_errors_and_access(h);
    test_filters_priority_data(h, so);
    test_retention(h, so);
    test_lost_event(h, so);
    test_unlink_and_async(h, so);
    EXPECT(saEvtFinalize(h), SA_AIS_OK);
    return check_summary("evt_api");
}
