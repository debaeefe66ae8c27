/*
 * libSaCkpt against a live executive: every function of CKPT B.01.01 and
 * its error paths, and several threads using one library handle at once.
 * Uses only <corosync/saCkpt.h> and -lSaCkpt (and -lpthread).
 *
 *   ckpt_api           (run by c-tests/ckpt/run.sh through with-exec.sh)
 *
 * Prints "ckpt_api: N passed, N failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saCkpt.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)
#define MILLISECOND ((SaTimeT)SA_TIME_ONE_MILLISECOND)

static SaVersionT b0101(void)
{
    SaVersionT v;
    v.releaseCode = 'B';
    v.majorVersion = 1;
    v.minorVersion = 1;
    return v;
}

static SaNameT name_of(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen(s);
    memcpy(n.value, s, n.length);
    return n;
}

static SaTimeT now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (SaTimeT)ts.tv_sec * SECOND + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static SaCkptCheckpointCreationAttributesT attrs(SaCkptCheckpointCreationFlagsT flags,
                                                 SaSizeT size, SaUint32T sections,
                                                 SaSizeT section_size)
{
    SaCkptCheckpointCreationAttributesT a;
    a.creationFlags = flags;
    a.checkpointSize = size;
    a.retentionDuration = 60 * SECOND;
    a.maxSections = sections;
    a.maxSectionSize = section_size;
    a.maxSectionIdSize = 16;
    return a;
}

static SaCkptSectionIdT sid(const char *s)
{
    SaCkptSectionIdT id;
    id.idLen = (SaUint16T)strlen(s);
    id.id = (SaUint8T *)s;
    return id;
}

static SaAisErrorT create_section(SaCkptCheckpointHandleT h, const char *id, const char *data,
                                  SaTimeT expiration)
{
    SaCkptSectionIdT section = sid(id);
    SaCkptSectionCreationAttributesT ca;
    ca.sectionId = &section;
    ca.expirationTime = expiration;
    return saCkptSectionCreate(h, &ca, data, strlen(data));
}

static SaAisErrorT write_one(SaCkptCheckpointHandleT h, const char *id, SaOffsetT offset,
                             const void *data, SaSizeT size, SaUint32T *bad)
{
    SaCkptIOVectorElementT e;
    memset(&e, 0, sizeof e);
    e.sectionId = sid(id);
    e.dataBuffer = (void *)data;
    e.dataSize = size;
    e.dataOffset = offset;
    return saCkptCheckpointWrite(h, &e, 1, bad);
}

/* Reads section `id` into `buf` (size `cap`); returns the error, sets *got. */
static SaAisErrorT read_one(SaCkptCheckpointHandleT h, const char *id, char *buf, SaSizeT cap,
                            SaSizeT *got)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad = 99;
    SaAisErrorT rc;
    memset(&e, 0, sizeof e);
    e.sectionId = sid(id);
    e.dataBuffer = buf;
    e.dataSize = cap;
    rc = saCkptCheckpointRead(h, &e, 1, &bad);
    *got = e.readSize;
    return rc;
}

/* Callbacks. */
static SaInvocationT open_cb_invocation, sync_cb_invocation;
static SaCkptCheckpointHandleT open_cb_handle;
static SaAisErrorT open_cb_error = SA_AIS_ERR_LIBRARY, sync_cb_error = SA_AIS_ERR_LIBRARY;
static int open_cb_calls, sync_cb_calls;

static void on_open(SaInvocationT invocation, SaCkptCheckpointHandleT handle, SaAisErrorT error)
{
    open_cb_invocation = invocation;
    open_cb_handle = handle;
    open_cb_error = error;
    open_cb_calls++;
}

static void on_sync(SaInvocationT invocation, SaAisErrorT error)
{
    sync_cb_invocation = invocation;
    sync_cb_error = error;
    sync_cb_calls++;
}

/* Waits up to 5 s for the selection object, then dispatches one callback. */
static void dispatch_one(SaCkptHandleT lib)
{
    SaSelectionObjectT so;
    struct pollfd p;
    CHECK_RC(saCkptSelectionObjectGet(lib, &so), SA_AIS_OK);
    p.fd = (int)so;
    p.events = POLLIN;
    CHECK(poll(&p, 1, 5000) == 1);
    CHECK_RC(saCkptDispatch(lib, SA_DISPATCH_ONE), SA_AIS_OK);
}

static void test_library(void)
{
    SaCkptHandleT lib;
    SaVersionT v = b0101();
    SaSelectionObjectT so;
    SaCkptCallbacksT cbs = { on_open, on_sync };

    v.releaseCode = 'A';
    CHECK_RC(saCkptInitialize(&lib, &cbs, &v), SA_AIS_ERR_VERSION);
    CHECK(v.releaseCode == 'B' && v.majorVersion == 1);
    v = b0101();
    CHECK_RC(saCkptInitialize(NULL, &cbs, &v), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptInitialize(&lib, &cbs, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptInitialize(&lib, NULL, &v), SA_AIS_OK);
    CHECK_RC(saCkptSelectionObjectGet(lib, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSelectionObjectGet(lib, &so), SA_AIS_OK);
    CHECK_RC(saCkptDispatch(lib, 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptDispatch(lib, SA_DISPATCH_ALL), SA_AIS_OK);
    /* No open callback given: async open is INIT. */
    {
        SaNameT n = name_of("lib-async");
        CHECK_RC(saCkptCheckpointOpenAsync(lib, 1, &n, NULL, SA_CKPT_CHECKPOINT_READ),
                 SA_AIS_ERR_INIT);
    }
    CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
    CHECK_RC(saCkptFinalize(lib), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptDispatch(lib, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptSelectionObjectGet(lib, &so), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptFinalize(0x1234), SA_AIS_ERR_BAD_HANDLE);
}

static void test_open(SaCkptHandleT lib)
{
    SaNameT n = name_of("open-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 100, 2, 50);
    SaCkptCheckpointCreationAttributesT other = a;
    SaCkptCheckpointCreationAttributesT bad;
    SaCkptCheckpointHandleT h, h2;
    SaCkptCheckpointDescriptorT st;
    const SaCkptCheckpointOpenFlagsT rwc =
        SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE | SA_CKPT_CHECKPOINT_CREATE;

    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &h),
             SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptCheckpointOpen(lib, NULL, &a, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, SECOND, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, SA_CKPT_CHECKPOINT_READ, SECOND, &h),
             SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc | 0x100, SECOND, &h), SA_AIS_ERR_BAD_FLAGS);
    CHECK_RC(saCkptCheckpointOpen(0x55, &n, &a, rwc, SECOND, &h), SA_AIS_ERR_BAD_HANDLE);
    /* Creation attributes checked. */
    bad = a;
    bad.checkpointSize = 101; /* more than 2 x 50 */
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &bad, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    bad = a;
    bad.creationFlags = SA_CKPT_WR_ALL_REPLICAS | SA_CKPT_WR_ACTIVE_REPLICA;
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &bad, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    bad = a;
    bad.creationFlags = 0;
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &bad, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    bad = a;
    bad.maxSections = 0;
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &bad, rwc, SECOND, &h), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, -1, &h), SA_AIS_ERR_INVALID_PARAM);

    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, SECOND, &h), SA_AIS_OK);
    other.maxSectionSize = 60;
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &other, rwc, SECOND, &h2), SA_AIS_ERR_EXIST);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, SA_TIME_END, &h2), SA_AIS_OK);
    CHECK(h != h2);
    CHECK_RC(saCkptCheckpointStatusGet(h2, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointStatusGet(h2, &st), SA_AIS_OK);
    CHECK(st.checkpointCreationAttributes.checkpointSize == 100);
    CHECK(st.checkpointCreationAttributes.maxSections == 2);
    CHECK(st.checkpointCreationAttributes.maxSectionSize == 50);
    CHECK(st.checkpointCreationAttributes.creationFlags == SA_CKPT_WR_ALL_REPLICAS);
    CHECK(st.numberOfSections == 0 && st.memoryUsed == 0);
    CHECK_RC(saCkptCheckpointClose(h2), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h2), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptCheckpointStatusGet(h2, &st), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

static void test_sections_and_io(SaCkptHandleT lib)
{
    SaNameT n = name_of("io-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 300, 4, 100);
    SaCkptCheckpointHandleT h, ro;
    SaCkptSectionIdT gen = SA_CKPT_GENERATED_SECTION_ID;
    SaCkptSectionCreationAttributesT ca;
    SaCkptCheckpointDescriptorT st;
    SaCkptIOVectorElementT v[2];
    SaUint32T bad = 99;
    char buf[200];
    SaSizeT got = 0;
    char big[120];

    memset(big, 'b', sizeof big);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE |
                                      SA_CKPT_CHECKPOINT_CREATE,
                                  SECOND, &h),
             SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &ro), SA_AIS_OK);

    CHECK_RC(create_section(h, "alpha", "hello", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(create_section(h, "alpha", "again", SA_TIME_END), SA_AIS_ERR_EXIST);
    CHECK_RC(create_section(h, "an-id-longer-than-16", "x", SA_TIME_END),
             SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(create_section(ro, "beta", "x", SA_TIME_END), SA_AIS_ERR_ACCESS);
    CHECK_RC(saCkptSectionCreate(h, NULL, "x", 1), SA_AIS_ERR_INVALID_PARAM);
    /* A generated id, written back in memory from malloc. */
    ca.sectionId = &gen;
    ca.expirationTime = SA_TIME_END;
    CHECK_RC(saCkptSectionCreate(h, &ca, "gen", 3), SA_AIS_OK);
    CHECK(gen.idLen > 0 && gen.id != NULL);
    CHECK_RC(create_section(h, "beta", "", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(create_section(h, "gamma", "", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(create_section(h, "delta", "", SA_TIME_END), SA_AIS_ERR_NO_SPACE); /* 4 max */

    /* A two-element write, read back into caller buffers. */
    memset(v, 0, sizeof v);
    v[0].sectionId = sid("alpha");
    v[0].dataBuffer = (void *)"HE";
    v[0].dataSize = 2;
    v[1].sectionId = sid("beta");
    v[1].dataBuffer = (void *)"0123456789";
    v[1].dataSize = 10;
    v[1].dataOffset = 5;
    CHECK_RC(saCkptCheckpointWrite(h, v, 2, &bad), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointWrite(ro, v, 2, &bad), SA_AIS_ERR_ACCESS);
    CHECK_RC(saCkptCheckpointWrite(h, NULL, 2, &bad), SA_AIS_ERR_INVALID_PARAM);
    memset(buf, 0, sizeof buf);
    CHECK_RC(read_one(ro, "alpha", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 5 && memcmp(buf, "HEllo", 5) == 0);
    CHECK_RC(read_one(ro, "beta", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 15 && memcmp(buf, "\0\0\0\0\0" "0123456789", 15) == 0);
    /* A smaller buffer gets what fits. */
    CHECK_RC(read_one(ro, "alpha", buf, 3, &got), SA_AIS_OK);
    CHECK(got == 3);
    /* Library-allocated buffer when dataBuffer is NULL; offset honoured. */
    memset(v, 0, sizeof v);
    v[0].sectionId = sid("beta");
    v[0].dataOffset = 10;
    v[1].sectionId = gen;
    CHECK_RC(saCkptCheckpointRead(ro, v, 2, &bad), SA_AIS_OK);
    CHECK(v[0].dataBuffer != NULL && v[0].readSize == 5 &&
          memcmp(v[0].dataBuffer, "56789", 5) == 0);
    CHECK(v[1].dataBuffer != NULL && v[1].readSize == 3 && memcmp(v[1].dataBuffer, "gen", 3) == 0);
    free(v[0].dataBuffer);
    free(v[1].dataBuffer);

    /* Errors with the erroneous vector index. */
    memset(v, 0, sizeof v);
    v[0].sectionId = sid("alpha");
    v[0].dataBuffer = (void *)"ok";
    v[0].dataSize = 2;
    v[1].sectionId = sid("nosuch");
    v[1].dataBuffer = (void *)"no";
    v[1].dataSize = 2;
    bad = 99;
    CHECK_RC(saCkptCheckpointWrite(h, v, 2, &bad), SA_AIS_ERR_NOT_EXIST);
    CHECK(bad == 1);
    bad = 99;
    /* Past maxSectionSize (offset 90 + 20 > 100): INVALID_PARAM, as the
     * classic stack answered for a dataSize over it (it let an offset take
     * a section past the limit; we do not). */
    CHECK_RC(write_one(h, "gamma", 90, big, 20, &bad), SA_AIS_ERR_INVALID_PARAM);
    CHECK(bad == 0);
    /* 300 bytes in all: alpha 5 + beta 15 + gen 3 = 23 used. */
    CHECK_RC(write_one(h, "gamma", 0, big, 100, &bad), SA_AIS_OK);
    CHECK_RC(saCkptSectionOverwrite(h, &v[0].sectionId, big, 100), SA_AIS_OK);
    /* Past checkpointSize (300) in all, each section within
     * maxSectionSize: accepted, as openais 0.80 did (testckpt relies on
     * it); before, NO_SPACE. */
    bad = 99;
    CHECK_RC(write_one(h, "beta", 0, big, 100, &bad), SA_AIS_OK);
    CHECK_RC(read_one(ro, "nosuch", buf, sizeof buf, &got), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptCheckpointRead(ro, NULL, 1, &bad), SA_AIS_ERR_INVALID_PARAM);

    /* Overwrite replaces the whole section. */
    {
        SaCkptSectionIdT alpha = sid("alpha");
        SaCkptSectionIdT nosuch = sid("nosuch");
        CHECK_RC(saCkptSectionOverwrite(h, &alpha, "short", 5), SA_AIS_OK);
        CHECK_RC(read_one(ro, "alpha", buf, sizeof buf, &got), SA_AIS_OK);
        CHECK(got == 5 && memcmp(buf, "short", 5) == 0);
        CHECK_RC(saCkptSectionOverwrite(h, &alpha, big, 101), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(saCkptSectionOverwrite(h, &nosuch, "x", 1), SA_AIS_ERR_NOT_EXIST);
        CHECK_RC(saCkptSectionOverwrite(ro, &alpha, "x", 1), SA_AIS_ERR_ACCESS);
        CHECK_RC(saCkptSectionOverwrite(h, NULL, "x", 1), SA_AIS_ERR_INVALID_PARAM);
    }

    CHECK_RC(saCkptCheckpointStatusGet(ro, &st), SA_AIS_OK);
    CHECK(st.numberOfSections == 4);
    CHECK(st.memoryUsed == 5 + 100 + 3 + 100); /* beta grew to 100 past checkpointSize */

    /* Delete. */
    CHECK_RC(saCkptSectionDelete(ro, &gen), SA_AIS_ERR_ACCESS);
    CHECK_RC(saCkptSectionDelete(h, &gen), SA_AIS_OK);
    CHECK_RC(saCkptSectionDelete(h, &gen), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptSectionDelete(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    free(gen.id);
    CHECK_RC(saCkptCheckpointStatusGet(ro, &st), SA_AIS_OK);
    CHECK(st.numberOfSections == 3);

    CHECK_RC(saCkptCheckpointClose(ro), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

/* Counts the sections an iteration returns. */
static int iterate(SaCkptCheckpointHandleT h, SaCkptSectionsChosenT chosen, SaTimeT when,
                   char *names, size_t cap)
{
    SaCkptSectionIterationHandleT it;
    SaCkptSectionDescriptorT d;
    SaAisErrorT rc;
    int count = 0;
    names[0] = 0;
    CHECK_RC(saCkptSectionIterationInitialize(h, chosen, when, &it), SA_AIS_OK);
    while ((rc = saCkptSectionIterationNext(it, &d)) == SA_AIS_OK) {
        count++;
        if (strlen(names) + d.sectionId.idLen + 2 < cap) {
            strncat(names, (const char *)d.sectionId.id, d.sectionId.idLen);
            strcat(names, ",");
        }
        CHECK(d.sectionState == SA_CKPT_SECTION_VALID);
    }
    CHECK_RC(rc, SA_AIS_ERR_NO_SECTIONS);
    CHECK_RC(saCkptSectionIterationNext(it, &d), SA_AIS_ERR_NO_SECTIONS);
    CHECK_RC(saCkptSectionIterationFinalize(it), SA_AIS_OK);
    CHECK_RC(saCkptSectionIterationNext(it, &d), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptSectionIterationFinalize(it), SA_AIS_ERR_BAD_HANDLE);
    return count;
}

static void test_iteration_and_expiration(SaCkptHandleT lib)
{
    SaNameT n = name_of("iter-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 1000, 10, 100);
    SaCkptCheckpointHandleT h;
    SaCkptSectionIterationHandleT it;
    SaTimeT t0 = now_ns();
    SaTimeT soon = t0 + 400 * MILLISECOND, later = t0 + 3600 * SECOND;
    char names[256], buf[16];
    SaSizeT got;
    SaCkptSectionIdT s2 = sid("s2");

    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE |
                                      SA_CKPT_CHECKPOINT_CREATE,
                                  SECOND, &h),
             SA_AIS_OK);
    CHECK_RC(create_section(h, "s1", "1", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(create_section(h, "s2", "2", soon), SA_AIS_OK);
    CHECK_RC(create_section(h, "s3", "3", later), SA_AIS_OK);

    CHECK(iterate(h, SA_CKPT_SECTIONS_ANY, 0, names, sizeof names) == 3);
    CHECK(strcmp(names, "s1,s2,s3,") == 0);
    CHECK(iterate(h, SA_CKPT_SECTIONS_FOREVER, 0, names, sizeof names) == 1);
    CHECK(strcmp(names, "s1,") == 0);
    CHECK(iterate(h, SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME, t0 + SECOND, names, sizeof names) == 1);
    CHECK(strcmp(names, "s2,") == 0);
    CHECK(iterate(h, SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME, t0 + SECOND, names, sizeof names) == 2);
    CHECK(strcmp(names, "s1,s3,") == 0);
    CHECK(iterate(h, SA_CKPT_SECTIONS_CORRUPTED, 0, names, sizeof names) == 0);
    CHECK_RC(saCkptSectionIterationInitialize(h, 0, 0, &it), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionIterationInitialize(h, 6, 0, &it), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionIterationInitialize(h, SA_CKPT_SECTIONS_ANY, 0, NULL),
             SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionIterationInitialize(0x77, SA_CKPT_SECTIONS_ANY, 0, &it),
             SA_AIS_ERR_BAD_HANDLE);

    /* s2 expires; s3's expiration moves earlier too. */
    {
        SaCkptSectionIdT s3 = sid("s3"), none = sid("none");
        SaCkptSectionIdT def = SA_CKPT_DEFAULT_SECTION_ID;
        CHECK_RC(saCkptSectionExpirationTimeSet(h, &s3, soon), SA_AIS_OK);
        CHECK_RC(saCkptSectionExpirationTimeSet(h, &none, soon), SA_AIS_ERR_NOT_EXIST);
        CHECK_RC(saCkptSectionExpirationTimeSet(h, &def, soon), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(saCkptSectionExpirationTimeSet(h, NULL, soon), SA_AIS_ERR_INVALID_PARAM);
    }
    CHECK_RC(read_one(h, "s2", buf, sizeof buf, &got), SA_AIS_OK);
    while (now_ns() < soon + 50 * MILLISECOND)
        sleep_ms(20);
    CHECK_RC(read_one(h, "s2", buf, sizeof buf, &got), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(read_one(h, "s3", buf, sizeof buf, &got), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptSectionDelete(h, &s2), SA_AIS_ERR_NOT_EXIST);
    CHECK(iterate(h, SA_CKPT_SECTIONS_ANY, 0, names, sizeof names) == 1);
    /* Closing the checkpoint ends its iterations. */
    CHECK_RC(saCkptSectionIterationInitialize(h, SA_CKPT_SECTIONS_ANY, 0, &it), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    {
        SaCkptSectionDescriptorT d;
        CHECK_RC(saCkptSectionIterationNext(it, &d), SA_AIS_ERR_BAD_HANDLE);
    }
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

static void test_default_section_unlink_retention(SaCkptHandleT lib)
{
    SaNameT n = name_of("default-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 64, 1, 64);
    SaCkptCheckpointHandleT h, h2;
    char buf[64];
    SaSizeT got;
    SaUint32T bad;
    SaCkptSectionIdT def = SA_CKPT_DEFAULT_SECTION_ID;
    const SaCkptCheckpointOpenFlagsT rwc =
        SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE | SA_CKPT_CHECKPOINT_CREATE;

    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, SECOND, &h), SA_AIS_OK);
    /* maxSections 1: the default section exists; no other can be made. */
    CHECK_RC(write_one(h, "", 0, "default data", 12, &bad), SA_AIS_OK);
    CHECK_RC(read_one(h, "", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 12 && memcmp(buf, "default data", 12) == 0);
    CHECK_RC(create_section(h, "x", "", SA_TIME_END), SA_AIS_ERR_NO_SPACE);
    CHECK_RC(saCkptSectionDelete(h, &def), SA_AIS_ERR_INVALID_PARAM);

    /* Unlink: the name goes at once, the data stays while open. */
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &h2),
             SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(read_one(h, "", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 12);
    CHECK_RC(saCkptCheckpointRetentionDurationSet(h, SECOND), SA_AIS_ERR_BAD_OPERATION);
    /* The name can be reused meanwhile by a new checkpoint. */
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a, rwc, SECOND, &h2), SA_AIS_OK);
    CHECK_RC(read_one(h2, "", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 0);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);

    /* Retention: kept after the last close until the duration passes. */
    CHECK_RC(saCkptCheckpointRetentionDurationSet(h2, -5), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointRetentionDurationSet(h2, 600 * MILLISECOND), SA_AIS_OK);
    CHECK_RC(write_one(h2, "", 0, "retained", 8, &bad), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h2), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &h2), SA_AIS_OK);
    CHECK_RC(read_one(h2, "", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 8 && memcmp(buf, "retained", 8) == 0);
    CHECK_RC(saCkptCheckpointRetentionDurationSet(h2, SECOND), SA_AIS_OK); /* read-only open */
    CHECK_RC(saCkptCheckpointRetentionDurationSet(h2, 600 * MILLISECOND), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h2), SA_AIS_OK);
    sleep_ms(900);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &h2),
             SA_AIS_ERR_NOT_EXIST);
}

static void test_replica_and_sync(SaCkptHandleT lib)
{
    SaNameT all_name = name_of("sync-all"), act_name = name_of("sync-active");
    SaNameT coll_name = name_of("sync-collocated");
    SaCkptCheckpointCreationAttributesT all = attrs(SA_CKPT_WR_ALL_REPLICAS, 64, 2, 32);
    SaCkptCheckpointCreationAttributesT act = attrs(SA_CKPT_WR_ACTIVE_REPLICA, 64, 2, 32);
    SaCkptCheckpointCreationAttributesT coll =
        attrs(SA_CKPT_WR_ACTIVE_REPLICA | SA_CKPT_CHECKPOINT_COLLOCATED, 64, 2, 32);
    SaCkptCheckpointHandleT ha, hb, hr, hc, hcr;
    SaCkptCheckpointDescriptorT st;
    const SaCkptCheckpointOpenFlagsT rwc =
        SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE | SA_CKPT_CHECKPOINT_CREATE;

    CHECK_RC(saCkptCheckpointOpen(lib, &all_name, &all, rwc, SECOND, &ha), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &act_name, &act, rwc, SECOND, &hb), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &act_name, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &hr),
             SA_AIS_OK);
    /* Active replicas are set by the application only for collocated
     * checkpoints with an asynchronous update option. */
    CHECK_RC(saCkptActiveReplicaSet(ha), SA_AIS_ERR_BAD_OPERATION);
    CHECK_RC(saCkptActiveReplicaSet(hb), SA_AIS_ERR_BAD_OPERATION);
    CHECK_RC(saCkptActiveReplicaSet(hr), SA_AIS_ERR_BAD_OPERATION);
    CHECK_RC(saCkptActiveReplicaSet(0x99), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptCheckpointOpen(lib, &coll_name, &coll, rwc, SECOND, &hc), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &coll_name, NULL, SA_CKPT_CHECKPOINT_READ, SECOND, &hcr),
             SA_AIS_OK);
    /* No active replica yet: nothing to read, change or synchronize. */
    CHECK_RC(saCkptCheckpointSynchronize(hc, SECOND), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptCheckpointStatusGet(hcr, &st), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(create_section(hc, "s", "x", SA_TIME_END), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptActiveReplicaSet(hcr), SA_AIS_ERR_ACCESS);
    CHECK_RC(saCkptActiveReplicaSet(hc), SA_AIS_OK);
    CHECK_RC(saCkptActiveReplicaSet(hc), SA_AIS_OK);
    CHECK_RC(create_section(hc, "s", "x", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointStatusGet(hcr, &st), SA_AIS_OK);
    CHECK(st.numberOfSections == 1);
    CHECK_RC(saCkptCheckpointSynchronize(hc, SECOND), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &coll_name), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(hc), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(hcr), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointSynchronize(ha, SECOND), SA_AIS_ERR_BAD_OPERATION);
    CHECK_RC(saCkptCheckpointSynchronize(hb, SECOND), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointSynchronize(hr, SECOND), SA_AIS_ERR_ACCESS);
    CHECK_RC(saCkptCheckpointSynchronize(hb, -1), SA_AIS_ERR_INVALID_PARAM);

    sync_cb_calls = 0;
    CHECK_RC(saCkptCheckpointSynchronizeAsync(hb, 4242), SA_AIS_OK);
    dispatch_one(lib);
    CHECK(sync_cb_calls == 1 && sync_cb_invocation == 4242 && sync_cb_error == SA_AIS_OK);
    CHECK_RC(saCkptCheckpointSynchronizeAsync(ha, 4343), SA_AIS_OK);
    dispatch_one(lib);
    CHECK(sync_cb_calls == 2 && sync_cb_invocation == 4343 &&
          sync_cb_error == SA_AIS_ERR_BAD_OPERATION);
    CHECK_RC(saCkptCheckpointSynchronizeAsync(0x99, 1), SA_AIS_ERR_BAD_HANDLE);

    CHECK_RC(saCkptCheckpointClose(ha), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(hb), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(hr), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &all_name), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &act_name), SA_AIS_OK);
}

static void test_open_async(SaCkptHandleT lib)
{
    SaNameT n = name_of("async-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 64, 2, 32);
    SaCkptCheckpointDescriptorT st;

    open_cb_calls = 0;
    CHECK_RC(saCkptCheckpointOpenAsync(lib, 77, &n, NULL, SA_CKPT_CHECKPOINT_READ), SA_AIS_OK);
    dispatch_one(lib);
    CHECK(open_cb_calls == 1 && open_cb_invocation == 77 && open_cb_error == SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saCkptCheckpointOpenAsync(lib, 78, &n, &a,
                                       SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE),
             SA_AIS_OK);
    dispatch_one(lib);
    CHECK(open_cb_calls == 2 && open_cb_invocation == 78 && open_cb_error == SA_AIS_OK);
    CHECK_RC(saCkptCheckpointStatusGet(open_cb_handle, &st), SA_AIS_OK);
    CHECK(st.checkpointCreationAttributes.checkpointSize == 64);
    CHECK_RC(create_section(open_cb_handle, "via-async", "x", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpenAsync(lib, 79, NULL, NULL, SA_CKPT_CHECKPOINT_READ),
             SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointOpenAsync(lib, 79, &n, NULL, 0x80), SA_AIS_ERR_BAD_FLAGS);
    CHECK_RC(saCkptCheckpointClose(open_cb_handle), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

/* A section larger than one message: written in pieces, read whole. */
static void test_large_section(SaCkptHandleT lib)
{
    SaNameT n = name_of("large-test");
    const SaSizeT piece = 768 * 1024, total = 4 * 768 * 1024;
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, total, 1, total);
    SaCkptCheckpointHandleT h;
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    unsigned char *data = malloc(total), *back = malloc(total);
    SaSizeT i;

    if (!data || !back) {
        CHECK(!"out of memory");
        return;
    }
    for (i = 0; i < total; i++)
        data[i] = (unsigned char)(i * 7 + i / 1000);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE |
                                      SA_CKPT_CHECKPOINT_READ,
                                  SECOND, &h),
             SA_AIS_OK);
    for (i = 0; i < total; i += piece)
        CHECK_RC(write_one(h, "", i, data + i, piece, &bad), SA_AIS_OK);
    /* More than one message in one write is TOO_BIG. */
    CHECK_RC(write_one(h, "", 0, data, total, &bad), SA_AIS_ERR_TOO_BIG);
    memset(&e, 0, sizeof e);
    CHECK_RC(saCkptCheckpointRead(h, &e, 1, &bad), SA_AIS_OK);
    CHECK(e.readSize == total && e.dataBuffer && memcmp(e.dataBuffer, data, total) == 0);
    free(e.dataBuffer);
    memset(&e, 0, sizeof e);
    memset(back, 0, total);
    e.dataBuffer = back;
    e.dataSize = total;
    e.dataOffset = 100;
    CHECK_RC(saCkptCheckpointRead(h, &e, 1, &bad), SA_AIS_OK);
    CHECK(e.readSize == total - 100 && memcmp(back, data + 100, total - 100) == 0);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
    free(data);
    free(back);
}

/* Finalize drops the library handle's checkpoint handles. */
static void test_finalize_drops_checkpoints(void)
{
    SaCkptHandleT lib;
    SaVersionT v = b0101();
    SaNameT n = name_of("finalize-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 64, 2, 32);
    SaCkptCheckpointHandleT h;
    SaCkptCheckpointDescriptorT st;

    CHECK_RC(saCkptInitialize(&lib, NULL, &v), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE, SECOND,
                                  &h),
             SA_AIS_OK);
    CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointStatusGet(h, &st), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_ERR_BAD_HANDLE);
    /* The executive closed the open: retention (60 s) keeps the data, and
       unlink (no opener left) deletes it at once. */
    CHECK_RC(saCkptInitialize(&lib, NULL, &v), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
    CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
}

/* Threads sharing one library handle, each with its own section. */
#define THREADS 8
#define ROUNDS 100
struct worker {
    SaCkptHandleT lib;
    int index;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    SaNameT n = name_of("threads-test");
    SaCkptCheckpointHandleT h;
    char id[8], data[32], buf[32];
    SaSizeT got;
    SaUint32T bad;
    int i, ok = 1;

    snprintf(id, sizeof id, "t%d", w->index);
    if (saCkptCheckpointOpen(w->lib, &n, NULL, SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE,
                             5 * SECOND, &h) != SA_AIS_OK)
        return (void *)0;
    if (create_section(h, id, "", SA_TIME_END) != SA_AIS_OK)
        ok = 0;
    for (i = 0; i < ROUNDS && ok; i++) {
        int len = snprintf(data, sizeof data, "%s-%d", id, i);
        if (write_one(h, id, 0, data, (SaSizeT)len, &bad) != SA_AIS_OK)
            ok = 0;
        else if (read_one(h, id, buf, sizeof buf, &got) != SA_AIS_OK || got != (SaSizeT)len ||
                 memcmp(buf, data, (size_t)len) != 0)
            ok = 0;
    }
    if (saCkptCheckpointClose(h) != SA_AIS_OK)
        ok = 0;
    return ok ? (void *)1 : (void *)0;
}

static void test_threads(SaCkptHandleT lib)
{
    SaNameT n = name_of("threads-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 32 * THREADS, THREADS, 32);
    SaCkptCheckpointHandleT h;
    SaCkptCheckpointDescriptorT st;
    pthread_t t[THREADS];
    struct worker w[THREADS];
    int i, ok = 0;
    double t0, t1;
    struct timespec ts;

    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_READ, SECOND, &h),
             SA_AIS_OK);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec + ts.tv_nsec / 1e9;
    for (i = 0; i < THREADS; i++) {
        w[i].lib = lib;
        w[i].index = i;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += r == (void *)1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t1 = ts.tv_sec + ts.tv_nsec / 1e9;
    CHECK(ok == THREADS);
    CHECK_RC(saCkptCheckpointStatusGet(h, &st), SA_AIS_OK);
    CHECK(st.numberOfSections == THREADS);
    printf("ckpt_api: %d threads x %d write+read pairs in %.2f s\n", THREADS, ROUNDS, t1 - t0);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

/* A section id over the 4096-byte limit: INVALID_PARAM from each of the
 * six calls that take one, and the handle still works (issue 25). */
static void test_long_section_ids(SaCkptHandleT lib)
{
    SaNameT n = name_of("long-id-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 300, 4, 100);
    SaCkptCheckpointHandleT h;
    static SaUint8T long_id[4097];
    SaCkptSectionIdT id = { sizeof long_id, long_id };
    SaCkptSectionCreationAttributesT ca = { &id, SA_TIME_END };
    SaCkptIOVectorElementT e;
    SaUint32T bad = 99;
    char buf[8];
    SaSizeT got = 0;

    memset(long_id, 'L', sizeof long_id);
    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE |
                                      SA_CKPT_CHECKPOINT_CREATE,
                                  SECOND, &h),
             SA_AIS_OK);
    CHECK_RC(create_section(h, "ok", "data", SA_TIME_END), SA_AIS_OK);
    CHECK_RC(saCkptSectionCreate(h, &ca, "x", 1), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionDelete(h, &id), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionExpirationTimeSet(h, &id, SA_TIME_END), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptSectionOverwrite(h, &id, "x", 1), SA_AIS_ERR_INVALID_PARAM);
    memset(&e, 0, sizeof e);
    e.sectionId = id;
    e.dataBuffer = buf;
    e.dataSize = 1;
    CHECK_RC(saCkptCheckpointWrite(h, &e, 1, &bad), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saCkptCheckpointRead(h, &e, 1, &bad), SA_AIS_ERR_INVALID_PARAM);
    /* The connection survived: the same handle reads and writes. */
    CHECK_RC(write_one(h, "ok", 0, "DA", 2, &bad), SA_AIS_OK);
    CHECK_RC(read_one(h, "ok", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 4 && memcmp(buf, "DAta", 4) == 0);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

/* After fork(), the child's inherited handles answer BAD_HANDLE and its
 * finalize closes only its own copy: the parent's handles keep working
 * (issue 25). */
static void test_fork(SaCkptHandleT lib)
{
    SaNameT n = name_of("fork-test");
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 300, 4, 100);
    SaCkptCheckpointHandleT h;
    SaCkptSectionIdT id = sid("f");
    SaSelectionObjectT so;
    SaUint32T bad = 99;
    char buf[8];
    SaSizeT got = 0;
    int status = -1;
    pid_t child;

    CHECK_RC(saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE |
                                      SA_CKPT_CHECKPOINT_CREATE,
                                  SECOND, &h),
             SA_AIS_OK);
    CHECK_RC(create_section(h, "f", "parent", SA_TIME_END), SA_AIS_OK);
    child = fork();
    if (child == 0) {
        int before = failed;
        CHECK_RC(saCkptSectionOverwrite(h, &id, "child", 5), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(read_one(h, "f", buf, sizeof buf, &got), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saCkptSelectionObjectGet(lib, &so), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saCkptDispatch(lib, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saCkptCheckpointClose(h), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
        CHECK_RC(saCkptFinalize(lib), SA_AIS_ERR_BAD_HANDLE);
        _exit(failed == before ? 0 : 1);
    }
    CHECK(child > 0);
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's connection was not touched. */
    CHECK_RC(write_one(h, "f", 0, "PA", 2, &bad), SA_AIS_OK);
    CHECK_RC(read_one(h, "f", buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 6 && memcmp(buf, "PArent", 6) == 0);
    CHECK_RC(saCkptSelectionObjectGet(lib, &so), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

int main(void)
{
    SaCkptHandleT lib;
    SaVersionT v = b0101();
    SaCkptCallbacksT cbs = { on_open, on_sync };

    test_library();
    if (saCkptInitialize(&lib, &cbs, &v) != SA_AIS_OK) {
        fprintf(stderr, "ckpt_api: saCkptInitialize failed\n");
        return 1;
    }
    test_open(lib);
    test_sections_and_io(lib);
    test_long_section_ids(lib);
    test_fork(lib);
    test_iteration_and_expiration(lib);
    test_default_section_unlink_retention(lib);
    test_replica_and_sync(lib);
    test_open_async(lib);
    test_large_section(lib);
    test_finalize_drops_checkpoints();
    test_threads(lib);
    CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
    return check_summary("ckpt_api");
}
