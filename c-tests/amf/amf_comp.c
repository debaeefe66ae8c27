/*
 * An SA-aware AMF component for the tests: started by clc.sh (the
 * instantiate command), it takes its name from saAmfComponentNameGet,
 * registers, starts the AMF-invoked healthcheck "key1", answers every
 * callback with saAmfResponse, and appends one line per event to the file
 * named by $AMF_LOG (set in amf.conf's saAmfCompCmdEnv):
 *
 *   <ns since epoch> <pid> <component> REGISTERED
 *   <ns> <pid> <component> CSISET <ACTIVE|STANDBY|QUIESCED> <csi> flags=<f> peer=<comp> attr=<name>=<value> get=<ACTIVE|STANDBY|err> response=<r> transition=<t>
 *   <ns> <pid> <component> HEALTHCHECK key1
 *   <ns> <pid> <component> CSIREMOVE <csi>
 *   <ns> <pid> <component> TERMINATE          (answered; it exits)
 *   <ns> <pid> <component> IGNORED <CSISET|TERMINATE> ...
 *
 * (get= is what saAmfHAStateGet says inside the callback.) A test makes
 * it leave a callback unanswered (IGNORED) by creating the file
 * $AMF_PID_DIR/<component name, [^A-Za-z0-9=] as _>.ignore-<csiset|terminate>.
 * It exits when
 * the executive's connection breaks (so a killed executive takes its
 * components with it, as a node failure would).
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
#include <ctype.h>

#include <corosync/saAmf.h>

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

/* Whether the test asked this component to leave callback `what` unanswered. */
static int ignoring(const char *what)
{
    const char *dir = getenv("AMF_PID_DIR");
    char name[SA_MAX_NAME_LENGTH + 1], path[1024];
    size_t i;
    if (!dir)
        return 0;
    for (i = 0; i < me.length && i < SA_MAX_NAME_LENGTH; i++)
        name[i] = isalnum(me.value[i]) || me.value[i] == '=' ? (char)me.value[i] : '_';
    name[i] = 0;
    snprintf(path, sizeof path, "%s/%s.ignore-%s", dir, name, what);
    return access(path, F_OK) == 0;
}

static const char *ha_name(SaAmfHAStateT s)
{
    switch (s) {
    case SA_AMF_HA_ACTIVE: return "ACTIVE";
    case SA_AMF_HA_STANDBY: return "STANDBY";
    case SA_AMF_HA_QUIESCED: return "QUIESCED";
    case SA_AMF_HA_QUIESCING: return "QUIESCING";
    }
    return "?";
}

static void csi_set(SaInvocationT invocation, const SaNameT *comp, SaAmfHAStateT ha, SaAmfCSIDescriptorT *d)
{
    SaAmfHAStateT got = 0;
    const SaNameT *peer = ha == SA_AMF_HA_STANDBY ? &d->csiStateDescriptor.standbyDescriptor.activeCompName
                                                  : &d->csiStateDescriptor.activeDescriptor.activeCompName;
    if (ignoring("csiset")) {
        note("IGNORED CSISET %s %.*s", ha_name(ha), (int)d->csiName.length, (const char *)d->csiName.value);
        return;
    }
    SaAisErrorT r = saAmfResponse(handle, invocation, SA_AIS_OK);
    SaAisErrorT g = saAmfHAStateGet(handle, comp, &d->csiName, &got);
    note("CSISET %s %.*s flags=%u peer=%.*s attr=%s=%s get=%s response=%d transition=%d", ha_name(ha), (int)d->csiName.length,
         (const char *)d->csiName.value, (unsigned)d->csiFlags, (int)peer->length, (const char *)peer->value,
         d->csiAttr.number ? (const char *)d->csiAttr.attr[0].attrName : "-",
         d->csiAttr.number ? (const char *)d->csiAttr.attr[0].attrValue : "-", g == SA_AIS_OK ? ha_name(got) : "err",
         (int)r, ha == SA_AMF_HA_ACTIVE ? (int)d->csiStateDescriptor.activeDescriptor.transitionDescriptor : 0);
}

static void csi_remove(SaInvocationT invocation, const SaNameT *comp, const SaNameT *csi, SaAmfCSIFlagsT flags)
{
    (void)comp;
    (void)flags;
    saAmfResponse(handle, invocation, SA_AIS_OK);
    note("CSIREMOVE %.*s", (int)csi->length, (const char *)csi->value);
}

static void healthcheck(SaInvocationT invocation, const SaNameT *comp, SaAmfHealthcheckKeyT *key)
{
    (void)comp;
    saAmfResponse(handle, invocation, SA_AIS_OK);
    note("HEALTHCHECK %.*s", (int)key->keyLen, (const char *)key->key);
}

static void terminate(SaInvocationT invocation, const SaNameT *comp)
{
    (void)comp;
    if (ignoring("terminate")) {
        note("IGNORED TERMINATE");
        return;
    }
    saAmfResponse(handle, invocation, SA_AIS_OK);
    note("TERMINATE");
    exit(0);
}

int main(void)
{
    SaAmfCallbacksT cb = {0};
    SaVersionT v = {'B', 1, 1};
    SaAmfHealthcheckKeyT key = {"key1", 4};
    SaSelectionObjectT fd;
    SaAisErrorT r;
    const char *log = getenv("AMF_LOG");
    int i;

    out = log ? fopen(log, "a") : stderr;
    if (!out)
        return 2;
    cb.saAmfCSISetCallback = csi_set;
    cb.saAmfCSIRemoveCallback = csi_remove;
    cb.saAmfHealthcheckCallback = healthcheck;
    cb.saAmfComponentTerminateCallback = terminate;
    if ((r = saAmfInitialize(&handle, &cb, &v)) != SA_AIS_OK) {
        note("FAILED initialize %d", (int)r);
        return 1;
    }
    if ((r = saAmfComponentNameGet(handle, &me)) != SA_AIS_OK) {
        note("FAILED namget %d", (int)r);
        return 1;
    }
    /* TRY_AGAIN while the executive syncs: retry for a while. */
    for (i = 0; i < 200; i++) {
        r = saAmfComponentRegister(handle, &me, NULL);
        if (r != SA_AIS_ERR_TRY_AGAIN)
            break;
        struct timespec pause = {0, 20000000};
        nanosleep(&pause, NULL);
    }
    if (r != SA_AIS_OK) {
        note("FAILED register %d", (int)r);
        return 1;
    }
    note("REGISTERED");
    r = saAmfHealthcheckStart(handle, &me, &key, SA_AMF_HEALTHCHECK_AMF_INVOKED, SA_AMF_NO_RECOMMENDATION);
    if (r != SA_AIS_OK)
        note("FAILED healthcheck start %d", (int)r);
    saAmfSelectionObjectGet(handle, &fd);
    for (;;) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return 1;
        r = saAmfDispatch(handle, SA_DISPATCH_ALL);
        if (r != SA_AIS_OK) {
            note("EXIT dispatch %d", (int)r);
            return 0;
        }
    }
}
