/*
 * libSaAmf API test, run as a client of a node of the two-node AMF test
 * (c-tests/amf/cluster.sh) while both components are registered and
 * assigned:
 *
 *   amf_api check     every function's error paths and the answers that
 *                     need no component of its own (HA state, protection
 *                     group into each kind of buffer); exit 0 if all pass
 *   amf_api track N   tracks the protection group of CSI1 with
 *                     SA_TRACK_CHANGES_ONLY for N seconds, printing one line
 *                     per callback: "PG <members> <comp>=<ha>/<change> ..."
 *   amf_api report C R
 *                     saAmfComponentErrorReport of component C with
 *                     recommended recovery R (a number); exit 0 if OK
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/saAmf.h>

static int failures;
#define CHECK(expr, want)                                                                           \
    do {                                                                                            \
        long long got_ = (long long)(expr);                                                         \
        if (got_ != (long long)(want)) {                                                            \
            fprintf(stderr, "amf_api:%d: %s is %lld, expected %lld\n", __LINE__, #expr, got_,        \
                    (long long)(want));                                                             \
            failures++;                                                                             \
        }                                                                                           \
    } while (0)

static SaNameT name(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static const char *C1 = "safComp=C,safSu=SU1,safSg=SG,safApp=APP";
static const char *C2 = "safComp=C,safSu=SU2,safSg=SG,safApp=APP";
static const char *CSI = "safCsi=CSI1,safSi=SI1,safApp=APP";

static void set_cb(SaInvocationT i, const SaNameT *c, SaAmfHAStateT h, SaAmfCSIDescriptorT *d)
{
    (void)i, (void)c, (void)h, (void)d;
}
static void remove_cb(SaInvocationT i, const SaNameT *c, const SaNameT *s, SaAmfCSIFlagsT f)
{
    (void)i, (void)c, (void)s, (void)f;
}
static void term_cb(SaInvocationT i, const SaNameT *c)
{
    (void)i, (void)c;
}
static int pg_calls;
static void pg_cb(const SaNameT *csi, SaAmfProtectionGroupNotificationBufferT *b, SaUint32T n, SaAisErrorT e)
{
    SaUint32T i;
    pg_calls++;
    printf("PG %u %.*s err=%d", (unsigned)n, (int)csi->length, (const char *)csi->value, (int)e);
    for (i = 0; i < b->numberOfItems; i++) {
        SaAmfProtectionGroupNotificationT *x = &b->notification[i];
        printf(" %.*s=%d/%d", (int)x->member.compName.length, (const char *)x->member.compName.value,
               (int)x->member.haState, (int)x->change);
    }
    printf("\n");
    fflush(stdout);
}

static int track(int seconds)
{
    SaAmfCallbacksT cb = {0};
    SaVersionT v = {'B', 1, 1};
    SaAmfHandleT h;
    SaSelectionObjectT fd;
    SaNameT csi = name(CSI);
    time_t end = time(NULL) + seconds;
    cb.saAmfProtectionGroupTrackCallback = pg_cb;
    CHECK(saAmfInitialize(&h, &cb, &v), SA_AIS_OK);
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CHANGES_ONLY, NULL), SA_AIS_OK);
    CHECK(saAmfSelectionObjectGet(h, &fd), SA_AIS_OK);
    printf("TRACKING\n");
    fflush(stdout);
    while (time(NULL) < end) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && saAmfDispatch(h, SA_DISPATCH_ALL) != SA_AIS_OK)
            break;
    }
    CHECK(saAmfProtectionGroupTrackStop(h, &csi), SA_AIS_OK);
    CHECK(saAmfProtectionGroupTrackStop(h, &csi), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfFinalize(h), SA_AIS_OK);
    return failures != 0;
}

static int check(void)
{
    SaAmfCallbacksT cb = {0}, none = {0};
    SaVersionT v = {'B', 1, 1}, bad = {'A', 1, 1}, newer = {'B', 2, 1};
    SaAmfHandleT h, h0;
    SaNameT c1 = name(C1), c2 = name(C2), csi = name(CSI), nobody = name("safComp=X"), got, other = name("safCsi=Z");
    SaNameT toolong = name("x");
    SaAmfHAStateT ha1 = 0, ha2 = 0;
    SaAmfHealthcheckKeyT key = {"key1", 4}, longkey = {"key1", 40};
    SaAmfProtectionGroupNotificationT items[4];
    SaAmfProtectionGroupNotificationBufferT buf;
    SaSelectionObjectT fd;
    toolong.length = 300;

    /* Versions, NULLs, handles. */
    CHECK(saAmfInitialize(&h, NULL, &bad), SA_AIS_ERR_VERSION);
    CHECK(bad.releaseCode, 'B');
    CHECK(saAmfInitialize(&h, NULL, &newer), SA_AIS_ERR_VERSION);
    CHECK(newer.majorVersion, 1);
    CHECK(saAmfInitialize(NULL, NULL, &v), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfInitialize(&h, NULL, NULL), SA_AIS_ERR_INVALID_PARAM);
    cb.saAmfCSISetCallback = set_cb;
    cb.saAmfCSIRemoveCallback = remove_cb;
    cb.saAmfComponentTerminateCallback = term_cb;
    CHECK(saAmfInitialize(&h, &cb, &v), SA_AIS_OK);
    CHECK(saAmfInitialize(&h0, &none, &v), SA_AIS_OK);
    CHECK(saAmfSelectionObjectGet(h, &fd), SA_AIS_OK);
    CHECK(saAmfSelectionObjectGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfSelectionObjectGet(h + 12345, &fd), SA_AIS_ERR_BAD_HANDLE);
    CHECK(saAmfDispatch(h, 77), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);

    /* The name comes from the environment. */
    unsetenv("SA_AMF_COMPONENT_NAME");
    CHECK(saAmfComponentNameGet(h, &got), SA_AIS_ERR_NOT_EXIST);
    setenv("SA_AMF_COMPONENT_NAME", C2, 1);
    CHECK(saAmfComponentNameGet(h, &got), SA_AIS_OK);
    CHECK(got.length == c2.length && memcmp(got.value, c2.value, got.length) == 0, 1);
    CHECK(saAmfComponentNameGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);

    /* Registration: callbacks needed, no proxies, configured and free names only. */
    CHECK(saAmfComponentRegister(h0, &c1, NULL), SA_AIS_ERR_INIT);
    CHECK(saAmfComponentRegister(h, &c1, &c2), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfComponentRegister(h, &toolong, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfComponentRegister(h, NULL, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfComponentRegister(h, &nobody, NULL), SA_AIS_ERR_NOT_EXIST);
    {
        /* The one hosted here is registered already; the other is hosted elsewhere. */
        SaAisErrorT r1 = saAmfComponentRegister(h, &c1, NULL), r2 = saAmfComponentRegister(h, &c2, NULL);
        CHECK((r1 == SA_AIS_ERR_EXIST && r2 == SA_AIS_ERR_NOT_EXIST) ||
                  (r2 == SA_AIS_ERR_EXIST && r1 == SA_AIS_ERR_NOT_EXIST), 1);
    }
    CHECK(saAmfComponentUnregister(h, &c1, NULL), SA_AIS_ERR_NOT_EXIST);

    /* HA states: one ACTIVE, one STANDBY, as every node knows. */
    CHECK(saAmfHAStateGet(h, &c1, &csi, &ha1), SA_AIS_OK);
    CHECK(saAmfHAStateGet(h, &c2, &csi, &ha2), SA_AIS_OK);
    CHECK((ha1 == SA_AMF_HA_ACTIVE && ha2 == SA_AMF_HA_STANDBY) || (ha2 == SA_AMF_HA_ACTIVE && ha1 == SA_AMF_HA_STANDBY),
          1);
    CHECK(saAmfHAStateGet(h, &c1, &other, &ha1), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfHAStateGet(h, &c1, &csi, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfHAStateGet(h + 12345, &c1, &csi, &ha1), SA_AIS_ERR_BAD_HANDLE);

    /* Answers and reports. */
    CHECK(saAmfResponse(h, 987654, SA_AIS_OK), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfCSIQuiescingComplete(h, 5, SA_AIS_OK), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfComponentErrorReport(h, &c1, 0, 99, 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfComponentErrorReport(h, &nobody, 0, SA_AMF_COMPONENT_RESTART, 0), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfComponentErrorClear(h, &nobody, 0), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfComponentErrorClear(h, &c1, 0), SA_AIS_OK);

    /* Healthchecks and monitoring are for the component's own process. */
    CHECK(saAmfHealthcheckStart(h, &c1, &key, SA_AMF_HEALTHCHECK_COMPONENT_INVOKED, SA_AMF_NO_RECOMMENDATION),
          SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfHealthcheckStart(h, &c1, &longkey, SA_AMF_HEALTHCHECK_COMPONENT_INVOKED, SA_AMF_NO_RECOMMENDATION),
          SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfHealthcheckStart(h, &c1, &key, 9, SA_AMF_NO_RECOMMENDATION), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfHealthcheckStart(h, &c1, &key, SA_AMF_HEALTHCHECK_AMF_INVOKED, 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfHealthcheckStart(h0, &c1, &key, SA_AMF_HEALTHCHECK_AMF_INVOKED, SA_AMF_NO_RECOMMENDATION),
          SA_AIS_ERR_INIT);
    CHECK(saAmfHealthcheckConfirm(h, &c1, &key, SA_AIS_OK), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfHealthcheckStop(h, &c1, &key), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfPmStart(h, &c1, (SaUint64T)getpid(), 0, SA_AMF_PM_ABNORMAL_END, SA_AMF_NO_RECOMMENDATION),
          SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfPmStop(h, &c1, SA_AMF_PM_PROC, getpid(), 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfPmStop(h, &c1, 7, getpid(), SA_AMF_PM_ABNORMAL_END), SA_AIS_ERR_INVALID_PARAM);
    CHECK(saAmfPmStop(h, &c1, SA_AMF_PM_PROC, getpid(), SA_AMF_PM_ABNORMAL_END), SA_AIS_ERR_NOT_EXIST);

    /* Protection group: the caller's array, too small, allocated. */
    buf.numberOfItems = 4;
    buf.notification = items;
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CURRENT, &buf), SA_AIS_OK);
    CHECK(buf.numberOfItems, 2);
    CHECK(items[0].member.haState + items[1].member.haState, SA_AMF_HA_ACTIVE + SA_AMF_HA_STANDBY);
    CHECK(items[0].change, SA_AMF_PROTECTION_GROUP_NO_CHANGE);
    buf.numberOfItems = 1;
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CURRENT, &buf), SA_AIS_ERR_NO_SPACE);
    CHECK(buf.numberOfItems, 2);
    buf.numberOfItems = 0;
    buf.notification = NULL;
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CURRENT, &buf), SA_AIS_OK);
    CHECK(buf.numberOfItems, 2);
    CHECK(buf.notification != NULL, 1);
    free(buf.notification);
    CHECK(saAmfProtectionGroupTrack(h, &other, SA_TRACK_CURRENT, &buf), SA_AIS_ERR_NOT_EXIST);
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CHANGES | SA_TRACK_CHANGES_ONLY, &buf), SA_AIS_ERR_BAD_FLAGS);
    CHECK(saAmfProtectionGroupTrack(h, &csi, SA_TRACK_CHANGES, NULL), SA_AIS_ERR_INIT);
    CHECK(saAmfProtectionGroupTrackStop(h, &csi), SA_AIS_ERR_NOT_EXIST);

    CHECK(saAmfFinalize(h0), SA_AIS_OK);
    CHECK(saAmfFinalize(h), SA_AIS_OK);
    CHECK(saAmfFinalize(h), SA_AIS_ERR_BAD_HANDLE);
    CHECK(saAmfResponse(h, 1, SA_AIS_OK), SA_AIS_ERR_BAD_HANDLE);
    CHECK(saAmfComponentNameGet(h, &got), SA_AIS_ERR_BAD_HANDLE);
    printf("amf_api: %s\n", failures ? "FAILED" : "passed");
    return failures != 0;
}

static int report(const char *comp, int recovery)
{
    SaAmfCallbacksT cb = {0};
    SaVersionT v = {'B', 1, 1};
    SaAmfHandleT h;
    SaNameT c = name(comp);
    SaAisErrorT r = saAmfInitialize(&h, &cb, &v);
    if (r == SA_AIS_OK)
        r = saAmfComponentErrorReport(h, &c, 0, (SaAmfRecommendedRecoveryT)recovery, 0);
    printf("REPORT %s %d: %d\n", comp, recovery, (int)r);
    return r == SA_AIS_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "report") == 0)
        return report(argv[2], atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "track") == 0)
        return track(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "check") == 0)
        return check();
    fprintf(stderr, "usage: amf_api check | amf_api track <seconds> | amf_api report <comp> <recovery>\n");
    return 2;
}
