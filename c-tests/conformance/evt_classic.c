/* Classic conformance, EVT: the behaviours of the openais 0.80 event
 * service that its own test program (test/testevt.c) and programs written
 * against it notice. Written as a classic program is: "saAis.h" and
 * "saEvt.h" found with -I.../include/corosync, -lSaEvt, nothing else. It
 * builds unchanged against the classic headers and libraries too, so the
 * same checks can be run against the classic executive for comparison.
 *
 *  - saEvtEventDataGet: a NULL buffer answers SA_AIS_ERR_NO_SPACE with the
 *    size written; on an event allocated here (not delivered) it answers
 *    SA_AIS_ERR_BAD_HANDLE (data belongs to delivered events).
 *  - Filters are matched against the patterns an event has: an event with
 *    fewer patterns than a subscription has filters is delivered if the
 *    patterns it has pass (testevt subscribes with prefix, suffix, exact
 *    and pass-all filters and publishes an event with no patterns).
 *  - saEvtEventPublish of 2048 bytes after saEvtEventAttributesSet with
 *    retention 0 is accepted and delivered.
 *  - saEvtEventAttributesGet of an event never published: publish time
 *    SA_TIME_UNKNOWN, id 0; when the pattern array is too small (NO_SPACE)
 *    every other output is still filled.
 *
 * Prints one line per failed check, then "evt_classic: N passed, N failed";
 * exits non-zero on any failure. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saAis.h"
#include "saEvt.h"

#include "../lib/check.h"

#define MAX_SEEN 64
static struct {
    SaEvtSubscriptionIdT sub;
    SaEvtEventHandleT event;
    SaSizeT size;
} seen[MAX_SEEN];
static int nseen;

static void on_event(SaEvtSubscriptionIdT sub, const SaEvtEventHandleT event, const SaSizeT size)
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

/* Dispatches until `want` events were seen or `ms` passed. */
static void wait_events(SaEvtHandleT h, int want, int ms)
{
    SaSelectionObjectT so;
    struct pollfd p;
    int waited;
    if (saEvtSelectionObjectGet(h, &so) != SA_AIS_OK)
        return;
    for (waited = 0; waited < ms && nseen < want; waited += 10) {
        p.fd = (int)so;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 10) == 1)
            saEvtDispatch(h, SA_DISPATCH_ALL);
    }
}

static void set_patterns(SaEvtEventHandleT ev, SaEvtEventPatternT *p, int n, SaTimeT retention)
{
    SaEvtEventPatternArrayT a;
    SaNameT pub = name_of("evt_classic");
    a.allocatedNumber = (SaSizeT)n;
    a.patternsNumber = (SaSizeT)n;
    a.patterns = n ? p : NULL;
    EXPECT(saEvtEventAttributesSet(ev, &a, SA_EVT_LOWEST_PRIORITY, retention, &pub), SA_AIS_OK);
}

static SaEvtEventPatternT pattern(const char *s)
{
    SaEvtEventPatternT p;
    p.allocatedSize = strlen(s);
    p.patternSize = strlen(s);
    p.pattern = (SaUint8T *)s;
    return p;
}

/* Data get on an allocated event, then on a delivered one. */
static void test_data_get(SaEvtHandleT h, SaEvtChannelHandleT ch)
{
    SaEvtEventHandleT ev;
    SaEvtEventIdT id;
    SaSizeT size;
    char buf[64];
    SaEvtEventFilterT all = { SA_EVT_PASS_ALL_FILTER, { 0, 0, NULL } };
    SaEvtEventFilterArrayT fa = { 1, &all };

    EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);
    size = 0;
    EXPECT(saEvtEventDataGet(ev, NULL, &size), SA_AIS_ERR_NO_SPACE);
    CHECK(size == 0, "size %llu", (unsigned long long)size);
    size = sizeof buf;
    EXPECT(saEvtEventDataGet(ev, NULL, &size), SA_AIS_ERR_NO_SPACE);
    size = 0;
    EXPECT(saEvtEventDataGet(ev, buf, &size), SA_AIS_ERR_BAD_HANDLE);
    size = sizeof buf;
    EXPECT(saEvtEventDataGet(ev, buf, &size), SA_AIS_ERR_BAD_HANDLE);
    /* Still an allocated event after it is published. */
    set_patterns(ev, NULL, 0, 0);
    EXPECT(saEvtEventSubscribe(ch, &fa, 1), SA_AIS_OK);
    EXPECT(saEvtEventPublish(ev, "twelve bytes", 12, &id), SA_AIS_OK);
    size = sizeof buf;
    EXPECT(saEvtEventDataGet(ev, buf, &size), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);

    wait_events(h, 1, 5000);
    CHECK(nseen == 1, "delivered %d", nseen);
    if (nseen == 1) {
        size = 0;
        EXPECT(saEvtEventDataGet(seen[0].event, NULL, &size), SA_AIS_ERR_NO_SPACE);
        CHECK(size == 12, "size %llu", (unsigned long long)size);
        size = sizeof buf;
        EXPECT(saEvtEventDataGet(seen[0].event, NULL, &size), SA_AIS_ERR_NO_SPACE);
        CHECK(size == 12, "size %llu", (unsigned long long)size);
        size = 4;
        EXPECT(saEvtEventDataGet(seen[0].event, buf, &size), SA_AIS_ERR_NO_SPACE);
        CHECK(size == 12, "size %llu", (unsigned long long)size);
        size = sizeof buf;
        EXPECT(saEvtEventDataGet(seen[0].event, buf, &size), SA_AIS_OK);
        CHECK(size == 12 && memcmp(buf, "twelve bytes", 12) == 0, "size %llu", (unsigned long long)size);
    }
    forget_seen();
    EXPECT(saEvtEventUnsubscribe(ch, 1), SA_AIS_OK);
}

/* testevt's four filters against events with no, fewer and all patterns. */
static void test_fewer_patterns_than_filters(SaEvtHandleT h, SaEvtChannelHandleT ch)
{
    SaEvtEventFilterT f[4] = {
        { SA_EVT_PREFIX_FILTER, { 3, 3, (SaUint8T *)"Pre" } },
        { SA_EVT_SUFFIX_FILTER, { 3, 3, (SaUint8T *)"fix" } },
        { SA_EVT_EXACT_FILTER, { 5, 5, (SaUint8T *)"Exact" } },
        { SA_EVT_PASS_ALL_FILTER, { 3, 3, (SaUint8T *)"any" } },
    };
    SaEvtEventFilterArrayT fa = { 4, f };
    SaEvtEventPatternT p[5];
    SaEvtEventHandleT ev;
    SaEvtEventIdT id;
    int i;

    EXPECT(saEvtEventSubscribe(ch, &fa, 2), SA_AIS_OK);
    EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);

    /* Delivered: no patterns; one that passes; all four; five (the
     * fifth has no filter). */
    set_patterns(ev, NULL, 0, 0);
    EXPECT(saEvtEventPublish(ev, "none", 4, &id), SA_AIS_OK);
    p[0] = pattern("Prefixed");
    set_patterns(ev, p, 1, 0);
    EXPECT(saEvtEventPublish(ev, "one", 3, &id), SA_AIS_OK);
    p[1] = pattern("Suffix");
    p[2] = pattern("Exact");
    p[3] = pattern("whatever");
    set_patterns(ev, p, 4, 0);
    EXPECT(saEvtEventPublish(ev, "four", 4, &id), SA_AIS_OK);
    p[4] = pattern("extra");
    set_patterns(ev, p, 5, 0);
    EXPECT(saEvtEventPublish(ev, "five", 4, &id), SA_AIS_OK);
    /* Not delivered: a pattern that fails its filter. */
    p[0] = pattern("NotPrefixed");
    set_patterns(ev, p, 1, 0);
    EXPECT(saEvtEventPublish(ev, "bad1", 4, &id), SA_AIS_OK);
    p[0] = pattern("Prefixed");
    p[2] = pattern("Exactly");
    set_patterns(ev, p, 3, 0);
    EXPECT(saEvtEventPublish(ev, "bad3", 4, &id), SA_AIS_OK);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);

    wait_events(h, 5, 2000);
    CHECK(nseen == 4, "delivered %d, want 4", nseen);
    for (i = 0; i < nseen; i++) {
        char buf[8] = { 0 };
        SaSizeT size = sizeof buf - 1;
        EXPECT(saEvtEventDataGet(seen[i].event, buf, &size), SA_AIS_OK);
        CHECK(strncmp(buf, "bad", 3) != 0, "event '%s' delivered", buf);
        CHECK(seen[i].sub == 2, "subscription %u", (unsigned)seen[i].sub);
    }
    forget_seen();
    EXPECT(saEvtEventUnsubscribe(ch, 2), SA_AIS_OK);
}

/* testevt's "multiple operations": 2048 bytes, retention 0. */
static void test_publish_2048_retention_0(SaEvtHandleT h, SaEvtChannelHandleT ch)
{
    SaEvtEventFilterT f = { SA_EVT_EXACT_FILTER, { 8, 8, (SaUint8T *)"ChanPat1" } };
    SaEvtEventFilterArrayT fa = { 1, &f };
    SaEvtEventPatternT p = pattern("ChanPat1");
    SaEvtEventHandleT ev;
    SaEvtEventIdT id = 0;
    static long data[2048 / sizeof(long)];
    static char back[2048];
    SaSizeT size = sizeof back;
    unsigned i;

    for (i = 0; i < sizeof data / sizeof data[0]; i++)
        data[i] = lrand48();
    EXPECT(saEvtEventSubscribe(ch, &fa, 3), SA_AIS_OK);
    EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);
    set_patterns(ev, &p, 1, 0);
    EXPECT(saEvtEventPublish(ev, data, 2048, &id), SA_AIS_OK);
    CHECK(id > SA_EVT_EVENTID_LOST, "event id %llu", (unsigned long long)id);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);
    wait_events(h, 1, 5000);
    CHECK(nseen == 1 && seen[0].size == 2048, "delivered %d", nseen);
    if (nseen == 1) {
        EXPECT(saEvtEventDataGet(seen[0].event, back, &size), SA_AIS_OK);
        CHECK(size == 2048 && memcmp(back, data, 2048) == 0, "data differs");
    }
    forget_seen();
    EXPECT(saEvtEventUnsubscribe(ch, 3), SA_AIS_OK);
}

/* Attributes of an event allocated and never published. */
static void test_unpublished_attributes(SaEvtChannelHandleT ch)
{
    SaEvtEventHandleT ev;
    SaEvtEventPatternT p[2], out[2];
    SaEvtEventPatternArrayT a;
    SaEvtEventPriorityT prio = 99;
    SaTimeT retention = -1, published = 0;
    SaNameT pub;
    SaEvtEventIdT id = 77;
    char b0[16], b1[16];

    EXPECT(saEvtEventAllocate(ch, &ev), SA_AIS_OK);
    EXPECT(saEvtEventAttributesGet(ev, NULL, &prio, &retention, &pub, &published, &id), SA_AIS_OK);
    CHECK(published == (SaTimeT)SA_TIME_UNKNOWN, "publish time %llx", (unsigned long long)published);
    CHECK(id == SA_EVT_EVENTID_NONE, "id %llu", (unsigned long long)id);
    CHECK(prio == SA_EVT_LOWEST_PRIORITY && retention == 0, "prio %u retention %lld", prio,
          (long long)retention);

    p[0] = pattern("first");
    p[1] = pattern("second");
    set_patterns(ev, p, 2, 5000000000LL);

    /* Too few patterns given: NO_SPACE, the count needed, the rest filled. */
    memset(&pub, 0, sizeof pub);
    prio = 99;
    retention = -1;
    published = 0;
    id = 77;
    out[0].allocatedSize = sizeof b0;
    out[0].patternSize = 0;
    out[0].pattern = (SaUint8T *)b0;
    a.allocatedNumber = 1;
    a.patternsNumber = 0;
    a.patterns = out;
    EXPECT(saEvtEventAttributesGet(ev, &a, &prio, &retention, &pub, &published, &id), SA_AIS_ERR_NO_SPACE);
    CHECK(a.patternsNumber == 2, "patternsNumber %llu", (unsigned long long)a.patternsNumber);
    CHECK(prio == SA_EVT_LOWEST_PRIORITY, "prio %u", prio);
    CHECK(retention == 5000000000LL, "retention %lld", (long long)retention);
    CHECK(pub.length == 11 && memcmp(pub.value, "evt_classic", 11) == 0, "publisher length %u", pub.length);
    CHECK(published == (SaTimeT)SA_TIME_UNKNOWN, "publish time %llx", (unsigned long long)published);
    CHECK(id == SA_EVT_EVENTID_NONE, "id %llu", (unsigned long long)id);

    /* Room for both, the second buffer too short: the first is copied. */
    prio = 99;
    published = 0;
    memset(b0, 0, sizeof b0);
    out[1].allocatedSize = 3;
    out[1].patternSize = 0;
    out[1].pattern = (SaUint8T *)b1;
    a.allocatedNumber = 2;
    EXPECT(saEvtEventAttributesGet(ev, &a, &prio, &retention, &pub, &published, &id), SA_AIS_ERR_NO_SPACE);
    CHECK(out[0].patternSize == 5 && memcmp(b0, "first", 5) == 0, "first pattern size %llu",
          (unsigned long long)out[0].patternSize);
    CHECK(out[1].patternSize == 6, "second pattern size %llu", (unsigned long long)out[1].patternSize);
    CHECK(prio == SA_EVT_LOWEST_PRIORITY && published == (SaTimeT)SA_TIME_UNKNOWN, "prio %u", prio);
    EXPECT(saEvtEventFree(ev), SA_AIS_OK);
}

int main(void)
{
    SaVersionT v = { 'B', 1, 1 };
    SaEvtCallbacksT cb = { NULL, on_event };
    SaEvtHandleT h;
    SaEvtChannelHandleT ch;
    char chan[64];
    SaNameT name;

    snprintf(chan, sizeof chan, "evt-classic-%d", (int)getpid());
    name = name_of(chan);
    EXPECT(saEvtInitialize(&h, &cb, &v), SA_AIS_OK);
    EXPECT(saEvtChannelOpen(h, &name,
                            SA_EVT_CHANNEL_PUBLISHER | SA_EVT_CHANNEL_SUBSCRIBER | SA_EVT_CHANNEL_CREATE,
                            SA_TIME_END, &ch),
           SA_AIS_OK);
    if (failed == 0) {
        test_data_get(h, ch);
        test_fewer_patterns_than_filters(h, ch);
        test_publish_2048_retention_0(h, ch);
        test_unpublished_attributes(ch);
        EXPECT(saEvtChannelClose(ch), SA_AIS_OK);
        EXPECT(saEvtChannelUnlink(h, &name), SA_AIS_OK);
    }
    EXPECT(saEvtFinalize(h), SA_AIS_OK);
    return check_summary("evt_classic");
}
