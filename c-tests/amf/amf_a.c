/*
 * AMF A.01.01 (<corosync/ais_amf.h>, the API of openais <= 0.70.1) in the
 * tests:
 *
 *   amf_a comp           an SA-aware A.01.01 component (started by clc.sh):
 *                        registers under $SA_AMF_COMPONENT_NAME, answers
 *                        every callback with saAmfResponse(invocation,
 *                        SA_OK), and appends one line per event to $AMF_LOG:
 *     <ns> <pid> <comp> REGISTERED
 *     <ns> <pid> <comp> READINESS IN_SERVICE
 *     <ns> <pid> <comp> CSISET <ACTIVE|STANDBY> <csi> flags=<f> peer=<comp> transition=<t> get=<..> ready=<..> response=<r>
 *     <ns> <pid> <comp> HEALTHCHECK HEARTBEAT
 *   amf_a check <comp1> <comp2> <csi>
 *                        every function's error paths and the answers a
 *                        client gets while comp1 and comp2 carry csi, one
 *                        ACTIVE and one STANDBY (exit status: failures)
 *   amf_a track <csi> <seconds>
 *                        saAmfProtectionGroupTrackStart(SA_TRACK_CHANGES_ONLY)
 *                        into an array of 8, for that long, printing
 *                        "TRACKING", then one line per callback:
 *                        "PG <members> <items> err=<e> buf=<caller|other> <comp>=<ha>/<change>..."
 *   amf_a report <comp> <A recovery>
 *                        saAmfErrorReport of comp with that
 *                        SaAmfRecommendedRecoveryT (A.01.01 number)
 *
 * amf_a_b.c holds the B.01.01 calls (a handle of one API is BAD_HANDLE to
 * the other); built with -DAMF_A_ONLY (against libSaAmf.so.1, which has no
 * B.01.01) the program leaves those checks out.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/ais_amf.h>

#include "../lib/check.h"

#ifndef AMF_A_ONLY
#include "amf_a_b.h"
#endif

static SaAmfHandleT handle;
static SaNameT me;
static FILE *out;

static void note(const char *fmt, ...)
{
    struct timespec ts;
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(out, "%lld %d %.*s ", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid(),
            (int)me.length, (const char *)me.value);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

static const char *ha_name(SaAmfHAStateT s)
{
    switch (s) {
    case SA_AMF_ACTIVE: return "ACTIVE";
    case SA_AMF_STANDBY: return "STANDBY";
    case SA_AMF_QUIESCED: return "QUIESCED";
    }
    return "?";
}

static const char *ready_name(SaAmfReadinessStateT s)
{
    switch (s) {
    case SA_AMF_OUT_OF_SERVICE: return "OUT_OF_SERVICE";
    case SA_AMF_IN_SERVICE: return "IN_SERVICE";
    case SA_AMF_STOPPING: return "STOPPING";
    }
    return "?";
}

static void set_name(SaNameT *n, const char *s)
{
    n->length = (SaUint16T)strlen(s);
    memcpy(n->value, s, n->length);
}

/* ------------------------------------------------------------------ comp */

static void healthcheck(SaInvocationT invocation, const SaNameT *comp, SaAmfHealthcheckT type)
{
    (void)comp;
    saAmfResponse(invocation, SA_OK);
    note("HEALTHCHECK %s", type == SA_AMF_HEARTBEAT ? "HEARTBEAT" : "?");
}

static void readiness(SaInvocationT invocation, const SaNameT *comp, SaAmfReadinessStateT state)
{
    (void)comp;
    note("READINESS %s response=%d", ready_name(state), (int)saAmfResponse(invocation, SA_OK));
}

static void csi_set(SaInvocationT invocation, const SaNameT *comp, const SaNameT *csi, SaAmfCSIFlagsT flags,
                    SaAmfHAStateT *ha, SaNameT *active, SaAmfCSITransitionDescriptorT transition)
{
    SaAmfHAStateT got = 0;
    SaAmfReadinessStateT ready = 0;
    SaErrorT r = saAmfResponse(invocation, SA_OK);
    SaErrorT g = saAmfHAStateGet(comp, csi, &got);
    SaErrorT rd = saAmfReadinessStateGet(comp, &ready);
    note("CSISET %s %.*s flags=%u peer=%.*s transition=%d get=%s ready=%s response=%d", ha_name(*ha),
         (int)csi->length, (const char *)csi->value, (unsigned)flags, (int)active->length,
         (const char *)active->value, (int)transition, g == SA_OK ? ha_name(got) : "err",
         rd == SA_OK ? ready_name(ready) : "err", (int)r);
}

static void csi_remove(SaInvocationT invocation, const SaNameT *comp, const SaNameT *csi, const SaAmfCSIFlagsT *flags)
{
    (void)comp;
    (void)csi;
    (void)flags;
    saAmfResponse(invocation, SA_OK);
    note("CSIREMOVE");
}

static void terminate(SaInvocationT invocation, const SaNameT *comp)
{
    (void)comp;
    saAmfResponse(invocation, SA_OK);
    note("TERMINATE");
    exit(0);
}

static int comp_main(void)
{
    SaAmfCallbacksT cb;
    const SaVersionT v = {'A', 1, 1};
    SaSelectionObjectT fd;
    SaErrorT r;
    const char *log = getenv("AMF_LOG");
    int i;

    out = log ? fopen(log, "a") : stderr;
    if (!out)
        return 2;
    memset(&cb, 0, sizeof cb);
    cb.saAmfHealthcheckCallback = healthcheck;
    cb.saAmfReadinessStateSetCallback = readiness;
    cb.saAmfComponentTerminateCallback = terminate;
    cb.saAmfCSISetCallback = csi_set;
    cb.saAmfCSIRemoveCallback = csi_remove;
    if ((r = saAmfInitialize(&handle, &cb, &v)) != SA_OK) {
        note("FAILED initialize %d", (int)r);
        return 1;
    }
    if ((r = saAmfCompNameGet(&handle, &me)) != SA_OK) {
        note("FAILED namget %d", (int)r);
        return 1;
    }
    /* TRY_AGAIN while the executive syncs: retry for a while. */
    for (i = 0; i < 200; i++) {
        r = saAmfComponentRegister(&handle, &me, NULL);
        if (r != SA_ERR_TRY_AGAIN)
            break;
        struct timespec pause = {0, 20000000};
        nanosleep(&pause, NULL);
    }
    if (r != SA_OK) {
        note("FAILED register %d", (int)r);
        return 1;
    }
    note("REGISTERED");
    saAmfSelectionObjectGet(&handle, &fd);
    for (;;) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return 1;
        r = saAmfDispatch(&handle, SA_DISPATCH_ALL);
        if (r != SA_OK) {
            note("EXIT dispatch %d", (int)r);
            return 0;
        }
    }
}

/* ----------------------------------------------------------------- check */

/* SaErrorT results (CHECK_RC of check.h compares SaAisErrorT values). */
#define CHECK_A(call, want)                                                                      \
    do {                                                                                         \
        long long got_ = (long long)(call);                                                      \
        check_at(got_ == (long long)(want), __FILE__, __LINE__, #call, " is %lld, expected %lld", \
                 got_, (long long)(want));                                                       \
    } while (0)

static SaUint32T pg_items, pg_members, pg_calls;
static SaErrorT pg_error;
static SaAmfProtectionGroupNotificationT *pg_buffer;
static SaAmfProtectionGroupNotificationT pg_copy[4];

static void pg_track(const SaNameT *csi, SaAmfProtectionGroupNotificationT *buffer, SaUint32T items,
                     SaUint32T members, SaErrorT error)
{
    (void)csi;
    pg_calls++;
    pg_items = items;
    pg_members = members;
    pg_error = error;
    pg_buffer = buffer;
    memcpy(pg_copy, buffer, sizeof pg_copy[0] * (items < 4 ? items : 4));
}

/* Dispatches until a track callback came (at most 5 s). */
static int await_pg(SaAmfHandleT *h)
{
    SaSelectionObjectT fd;
    SaUint32T before = pg_calls;
    int i;
    saAmfSelectionObjectGet(h, &fd);
    for (i = 0; i < 50 && pg_calls == before; i++) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0)
            saAmfDispatch(h, SA_DISPATCH_ALL);
    }
    return pg_calls != before;
}

static int check_main(const char *c1, const char *c2, const char *csi_dn)
{
    SaAmfCallbacksT cb, none;
    SaVersionT v = {'A', 1, 1};
    SaVersionT vb = {'B', 1, 1};
    SaVersionT v2 = {'A', 2, 1};
    SaAmfHandleT h, h2, bad = 0x1234567;
    unsigned long long bh;
    SaAmfHandleT bh_a;
    SaSelectionObjectT fd;
    SaNameT comp1, comp2, csi, unknown, longname, got;
    SaAmfHAStateT ha1 = 0, ha2 = 0;
    SaAmfReadinessStateT ready = 0;
    SaAmfComponentCapabilityModelT cap = 0;
    SaAmfPendingOperationFlagsT pending = 99;
    SaAmfErrorDescriptorT desc = {SA_AMF_PROCESSING_ERROR_ALARM_TYPE, SA_AMF_SOFTWARE_ERROR, SA_AMF_MINOR,
                                  SA_AMF_INTERNALLY_RECOVERED};
    SaAmfProtectionGroupNotificationT buffer[64], small[1];
    int i, actives = 0;

    out = stdout;
    memset(&cb, 0, sizeof cb);
    memset(&none, 0, sizeof none);
    cb.saAmfProtectionGroupTrackCallback = pg_track;
    set_name(&comp1, c1);
    set_name(&comp2, c2);
    set_name(&csi, csi_dn);
    set_name(&unknown, "safComp=nobody,safSu=SU9,safSg=SG,safApp=APP");
    longname.length = 300;
    memset(longname.value, 'x', sizeof longname.value);

    /* Versions: B is the other API's; A.02 is not supported. */
    CHECK_A(saAmfInitialize(&h, &cb, &vb), SA_ERR_VERSION);
    CHECK_A(saAmfInitialize(&h, &cb, &v2), SA_ERR_VERSION);
    CHECK_A(saAmfInitialize(NULL, &cb, &v), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfInitialize(&h, &cb, NULL), SA_ERR_INVALID_PARAM);
#ifndef AMF_A_ONLY
    CHECK_A(b_initialize(&bh, 'A'), SA_ERR_VERSION); /* SA_AIS_ERR_VERSION, also 3 */
#endif
    CHECK_A(saAmfInitialize(&h, &cb, &v), SA_OK);
    CHECK_A(saAmfInitialize(&h2, &none, &v), SA_OK);

    /* Handles: unknown ones, and one API's handle given to the other. */
    CHECK_A(saAmfSelectionObjectGet(&bad, &fd), SA_ERR_BAD_HANDLE);
    CHECK_A(saAmfSelectionObjectGet(NULL, &fd), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfSelectionObjectGet(&h, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfSelectionObjectGet(&h, &fd), SA_OK);
#ifndef AMF_A_ONLY
    CHECK_A(b_initialize(&bh, 'B'), SA_OK);
    bh_a = (SaAmfHandleT)bh;
    CHECK_A(saAmfSelectionObjectGet(&bh_a, &fd), SA_ERR_BAD_HANDLE);
    CHECK_A(saAmfFinalize(&bh_a), SA_ERR_BAD_HANDLE);
    CHECK_A(b_selection_object(h), SA_ERR_BAD_HANDLE); /* SA_AIS_ERR_BAD_HANDLE, also 9 */
    CHECK_A(b_finalize(h), SA_ERR_BAD_HANDLE);
    CHECK_A(b_selection_object(bh), SA_OK);
    CHECK_A(b_finalize(bh), SA_OK);
#else
    (void)bh;
    (void)bh_a;
#endif
    CHECK_A(saAmfDispatch(&bad, SA_DISPATCH_ALL), SA_ERR_BAD_HANDLE);
    CHECK_A(saAmfDispatch(&h, (SaDispatchFlagsT)99), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfDispatch(&h, SA_DISPATCH_ALL), SA_OK);

    /* Component name from the environment. */
    unsetenv("SA_AMF_COMPONENT_NAME");
    CHECK_A(saAmfCompNameGet(&h, &got), SA_ERR_NOT_EXIST);
    setenv("SA_AMF_COMPONENT_NAME", c1, 1);
    CHECK_A(saAmfCompNameGet(&h, &got), SA_OK);
    CHECK_A(got.length == comp1.length && memcmp(got.value, comp1.value, got.length) == 0, 1);
    CHECK_A(saAmfCompNameGet(&h, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfCompNameGet(&bad, &got), SA_ERR_BAD_HANDLE);

    /* Registration: callbacks needed; names; no proxies; the component is
     * registered already (by its own process) or hosted elsewhere. */
    CHECK_A(saAmfComponentRegister(&h2, &comp1, NULL), SA_ERR_INIT);
    CHECK_A(saAmfComponentRegister(&bad, &comp1, NULL), SA_ERR_BAD_HANDLE);
    cb.saAmfCSISetCallback = csi_set;
    cb.saAmfCSIRemoveCallback = csi_remove;
    cb.saAmfReadinessStateSetCallback = readiness;
    CHECK_A(saAmfFinalize(&h), SA_OK);
    CHECK_A(saAmfInitialize(&h, &cb, &v), SA_OK);
    CHECK_A(saAmfComponentRegister(&h, NULL, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfComponentRegister(&h, &longname, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfComponentRegister(&h, &comp1, &comp2), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfComponentRegister(&h, &unknown, NULL), SA_ERR_NOT_EXIST);
    {
        SaErrorT r1 = saAmfComponentRegister(&h, &comp1, NULL);
        SaErrorT r2 = saAmfComponentRegister(&h, &comp2, NULL);
        /* One is hosted by another node (NOT_EXIST), the other is
         * registered by its process already (EXIST). */
        CHECK_A((r1 == SA_ERR_EXIST && r2 == SA_ERR_NOT_EXIST) || (r1 == SA_ERR_NOT_EXIST && r2 == SA_ERR_EXIST), 1);
    }
    CHECK_A(saAmfComponentUnregister(&h, &unknown, NULL), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfComponentUnregister(&h, &comp1, &comp2), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfComponentUnregister(&h, &comp1, NULL), SA_ERR_NOT_EXIST); /* not this handle's */

    /* States. */
    CHECK_A(saAmfHAStateGet(&comp1, &csi, &ha1), SA_OK);
    CHECK_A(saAmfHAStateGet(&comp2, &csi, &ha2), SA_OK);
    CHECK_A((ha1 == SA_AMF_ACTIVE && ha2 == SA_AMF_STANDBY) || (ha1 == SA_AMF_STANDBY && ha2 == SA_AMF_ACTIVE), 1);
    CHECK_A(saAmfHAStateGet(&comp1, &unknown, &ha1), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfHAStateGet(&unknown, &csi, &ha1), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfHAStateGet(&comp1, &csi, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfHAStateGet(&longname, &csi, &ha1), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfReadinessStateGet(&comp1, &ready), SA_OK);
    CHECK_A(ready, SA_AMF_IN_SERVICE);
    CHECK_A(saAmfReadinessStateGet(&unknown, &ready), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfReadinessStateGet(&comp1, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfComponentCapabilityModelGet(&comp2, &cap), SA_OK);
    CHECK_A(cap, SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE_OR_Y_STANDBY);
    CHECK_A(saAmfComponentCapabilityModelGet(&unknown, &cap), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfPendingOperationGet(&comp1, &pending), SA_OK);
    CHECK_A(pending, 0);
    CHECK_A(saAmfPendingOperationGet(&unknown, &pending), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfPendingOperationGet(NULL, &pending), SA_ERR_INVALID_PARAM);

    /* Errors: the A recovery values, checked; INTERNALLY_RECOVERED asks
     * AMF for nothing. */
    CHECK_A(saAmfErrorReport(&comp2, &comp1, 0, NULL, NULL), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfErrorReport(NULL, &comp1, 0, &desc, NULL), SA_ERR_INVALID_PARAM);
    desc.recommendedRecovery = (SaAmfRecommendedRecoveryT)9;
    CHECK_A(saAmfErrorReport(&comp2, &comp1, 0, &desc, NULL), SA_ERR_INVALID_PARAM);
    desc.recommendedRecovery = SA_AMF_INTERNALLY_RECOVERED;
    CHECK_A(saAmfErrorReport(&comp2, &unknown, 0, &desc, NULL), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfErrorReport(&comp2, &comp1, 0, &desc, NULL), SA_OK);
    CHECK_A(saAmfErrorCancelAll(&comp1), SA_OK);
    CHECK_A(saAmfErrorCancelAll(&unknown), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfResponse(0x7777777777ULL, SA_OK), SA_ERR_INVALID_PARAM);
    CHECK_A(saAmfStoppingComplete(0x7777777777ULL, SA_OK), SA_ERR_INVALID_PARAM);

    /* Protection group: the members into the caller's buffer, by the
     * callback; too small a buffer: SA_ERR_NO_SPACE there. */
    CHECK_A(saAmfProtectionGroupTrackStart(&h2, &csi, SA_TRACK_CURRENT, buffer, 64), SA_ERR_INIT);
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &csi, 0x8, buffer, 64), SA_ERR_BAD_FLAGS); /* 28, not 25 */
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &csi, SA_TRACK_CHANGES | SA_TRACK_CHANGES_ONLY, buffer, 64),
          SA_ERR_BAD_FLAGS);
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &unknown, SA_TRACK_CURRENT, buffer, 64), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfProtectionGroupTrackStart(&bad, &csi, SA_TRACK_CURRENT, buffer, 64), SA_ERR_BAD_HANDLE);
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &csi, SA_TRACK_CURRENT | SA_TRACK_CHANGES, buffer, 64), SA_OK);
    CHECK_A(await_pg(&h), 1);
    CHECK_A(pg_buffer == buffer, 1);
    CHECK_A(pg_items, 2);
    CHECK_A(pg_members, 2);
    CHECK_A(pg_error, SA_OK);
    for (i = 0; i < 2; i++) {
        CHECK_A(pg_copy[i].member.readinessState, SA_AMF_IN_SERVICE);
        CHECK_A(pg_copy[i].change, SA_AMF_PROTECTION_GROUP_NO_CHANGE);
        actives += pg_copy[i].member.haState == SA_AMF_ACTIVE;
    }
    CHECK_A(actives, 1);
    CHECK_A(saAmfProtectionGroupTrackStop(&h, &csi), SA_OK);
    CHECK_A(saAmfProtectionGroupTrackStop(&h, &csi), SA_ERR_NOT_EXIST);
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &csi, SA_TRACK_CURRENT, small, 1), SA_OK);
    CHECK_A(await_pg(&h), 1);
    CHECK_A(pg_buffer == small, 1);
    CHECK_A(pg_items, 1);
    CHECK_A(pg_members, 2);
    CHECK_A(pg_error, SA_ERR_NO_SPACE);
    CHECK_A(saAmfProtectionGroupTrackStop(&bad, &csi), SA_ERR_BAD_HANDLE);

    CHECK_A(saAmfFinalize(&h2), SA_OK);
    CHECK_A(saAmfFinalize(&h), SA_OK);
    CHECK_A(saAmfFinalize(&h), SA_ERR_BAD_HANDLE);
    /* The functions without a handle work without one open. */
    CHECK_A(saAmfReadinessStateGet(&comp2, &ready), SA_OK);
    CHECK_A(ready, SA_AMF_IN_SERVICE);
    return check_summary("amf_a check");
}

static SaAmfProtectionGroupNotificationT track_buffer[8];

static void track_cb(const SaNameT *csi, SaAmfProtectionGroupNotificationT *buffer, SaUint32T items,
                     SaUint32T members, SaErrorT error)
{
    SaUint32T i;
    (void)csi;
    printf("PG %u %u err=%d buf=%s", (unsigned)members, (unsigned)items, (int)error,
           buffer == track_buffer ? "caller" : "other");
    for (i = 0; i < items; i++)
        printf(" %.*s=%d/%d", (int)buffer[i].member.compName.length, (const char *)buffer[i].member.compName.value,
               (int)buffer[i].member.haState, (int)buffer[i].change);
    printf("\n");
    fflush(stdout);
}

static int track_main(const char *csi_dn, int seconds)
{
    SaAmfCallbacksT cb;
    const SaVersionT v = {'A', 1, 1};
    SaAmfHandleT h;
    SaSelectionObjectT fd;
    SaNameT csi;
    time_t end = time(NULL) + seconds;
    memset(&cb, 0, sizeof cb);
    cb.saAmfProtectionGroupTrackCallback = track_cb;
    set_name(&csi, csi_dn);
    CHECK_A(saAmfInitialize(&h, &cb, &v), SA_OK);
    CHECK_A(saAmfProtectionGroupTrackStart(&h, &csi, SA_TRACK_CHANGES_ONLY, track_buffer, 8), SA_OK);
    CHECK_A(saAmfSelectionObjectGet(&h, &fd), SA_OK);
    printf("TRACKING\n");
    fflush(stdout);
    while (time(NULL) < end) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && saAmfDispatch(&h, SA_DISPATCH_ALL) != SA_OK)
            break;
    }
    CHECK_A(saAmfProtectionGroupTrackStop(&h, &csi), SA_OK);
    CHECK_A(saAmfFinalize(&h), SA_OK);
    return check_summary("amf_a track");
}

static int report_main(const char *comp, int recovery)
{
    SaNameT name;
    SaAmfErrorDescriptorT d = {SA_AMF_PROCESSING_ERROR_ALARM_TYPE, SA_AMF_SOFTWARE_ERROR, SA_AMF_MAJOR,
                               (SaAmfRecommendedRecoveryT)recovery};
    SaErrorT r;
    set_name(&name, comp);
    r = saAmfErrorReport(&name, &name, 0, &d, NULL);
    printf("saAmfErrorReport: %d\n", (int)r);
    return r != SA_OK;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "comp") == 0)
        return comp_main();
    if (argc == 5 && strcmp(argv[1], "check") == 0)
        return check_main(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "track") == 0)
        return track_main(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "report") == 0)
        return report_main(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: amf_a comp | check <comp1> <comp2> <csi> | track <csi> <seconds> | report <comp> <recovery>\n");
    return 2;
}
