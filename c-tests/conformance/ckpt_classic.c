/* Classic conformance, CKPT: the behaviours of the openais 0.80 checkpoint
 * service that programs written against it notice. Written as a classic
 * program is: "saAis.h" and "saCkpt.h" found with -I.../include/corosync,
 * -lSaCkpt, nothing else; it builds unchanged against the classic headers
 * and libraries too, so the same checks can be run against the classic
 * executive for comparison.
 *
 *  - Active replicas (B.01.01): saCkptActiveReplicaSet is for collocated
 *    checkpoints with an asynchronous update option only (otherwise
 *    SA_AIS_ERR_BAD_OPERATION); a collocated checkpoint has no active
 *    replica until one is set, and until then answers
 *    SA_AIS_ERR_NOT_EXIST to write, overwrite, read, status and section
 *    iteration; once set, all of them work, through every open.
 *  - A write or overwrite past maxSectionSize is SA_AIS_ERR_INVALID_PARAM.
 *  - Opening with CREATE and attributes that differ from the checkpoint's
 *    only in retentionDuration is accepted (a process that reopens with
 *    its original attributes after saCkptCheckpointRetentionDurationSet
 *    must not fail); any other difference is SA_AIS_ERR_EXIST.
 *
 * Prints one line per failed check, then "ckpt_classic: N passed, N failed";
 * exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saAis.h"
#include "saCkpt.h"

#include "../lib/check.h"

#define RWC (SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE | SA_CKPT_CHECKPOINT_CREATE)

static SaCkptHandleT lib;

static SaNameT name_of(const char *what)
{
    SaNameT n;
    memset(&n, 0, sizeof(n));
    n.length = (SaUint16T)snprintf((char *)n.value, sizeof n.value, "ckpt-classic-%d-%s", (int)getpid(), what);
    return n;
}

static SaCkptCheckpointCreationAttributesT attrs(SaCkptCheckpointCreationFlagsT flags, SaUint32T sections)
{
    SaCkptCheckpointCreationAttributesT a;
    a.creationFlags = flags;
    a.checkpointSize = (SaSizeT)sections * 100;
    a.retentionDuration = 0;
    a.maxSections = sections;
    a.maxSectionSize = 100;
    a.maxSectionIdSize = 16;
    return a;
}

static SaCkptCheckpointHandleT open_new(const char *what, SaCkptCheckpointCreationAttributesT a)
{
    SaNameT n = name_of(what);
    SaCkptCheckpointHandleT h = 0;
    EXPECT(saCkptCheckpointOpen(lib, &n, &a, RWC, SA_TIME_END, &h), SA_AIS_OK);
    return h;
}

static SaCkptCheckpointHandleT open_again(const char *what, SaCkptCheckpointOpenFlagsT flags)
{
    SaNameT n = name_of(what);
    SaCkptCheckpointHandleT h = 0;
    EXPECT(saCkptCheckpointOpen(lib, &n, NULL, flags, SA_TIME_END, &h), SA_AIS_OK);
    return h;
}

static void unlink_name(const char *what)
{
    SaNameT n = name_of(what);
    EXPECT(saCkptCheckpointUnlink(lib, &n), SA_AIS_OK);
}

static SaAisErrorT write_default(SaCkptCheckpointHandleT h, const char *data, SaSizeT size)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    memset(&e, 0, sizeof e);
    e.sectionId.idLen = 0;
    e.sectionId.id = NULL;
    e.dataBuffer = (void *)data;
    e.dataSize = size;
    return saCkptCheckpointWrite(h, &e, 1, &bad);
}

static SaAisErrorT read_default(SaCkptCheckpointHandleT h, char *buf, SaSizeT size, SaSizeT *got)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    SaAisErrorT err;
    SaCkptSectionIdT def = SA_CKPT_DEFAULT_SECTION_ID;
    memset(&e, 0, sizeof e);
    e.sectionId = def;
    e.dataBuffer = buf;
    e.dataSize = size;
    err = saCkptCheckpointRead(h, &e, 1, &bad);
    *got = e.readSize;
    return err;
}

/* Iterates all sections: the error of initialize, else of the first next. */
static SaAisErrorT iterate(SaCkptCheckpointHandleT h, int *count)
{
    SaCkptSectionIterationHandleT it;
    SaCkptSectionDescriptorT d;
    SaAisErrorT err = saCkptSectionIterationInitialize(h, SA_CKPT_SECTIONS_ANY, 0, &it);
    *count = 0;
    if (err != SA_AIS_OK)
        return err;
    while ((err = saCkptSectionIterationNext(it, &d)) == SA_AIS_OK)
        (*count)++;
    saCkptSectionIterationFinalize(it);
    return err == SA_AIS_ERR_NO_SECTIONS ? SA_AIS_OK : err;
}

/* ActiveReplicaSet only on collocated checkpoints with an asynchronous
 * update option; the others work without it. */
static void test_active_replica_needs_collocated(void)
{
    SaCkptCheckpointHandleT all = open_new("all", attrs(SA_CKPT_WR_ALL_REPLICAS, 1));
    SaCkptCheckpointHandleT act = open_new("act", attrs(SA_CKPT_WR_ACTIVE_REPLICA, 1));
    SaCkptCheckpointHandleT weak = open_new("weak", attrs(SA_CKPT_WR_ACTIVE_REPLICA_WEAK, 1));
    SaCkptCheckpointHandleT allc =
        open_new("allc", attrs(SA_CKPT_WR_ALL_REPLICAS | SA_CKPT_CHECKPOINT_COLLOCATED, 1));
    char buf[16];
    SaSizeT got;

    EXPECT(saCkptActiveReplicaSet(all), SA_AIS_ERR_BAD_OPERATION);
    EXPECT(saCkptActiveReplicaSet(act), SA_AIS_ERR_BAD_OPERATION);
    EXPECT(saCkptActiveReplicaSet(weak), SA_AIS_ERR_BAD_OPERATION);
    EXPECT(saCkptActiveReplicaSet(allc), SA_AIS_ERR_BAD_OPERATION);
    EXPECT(write_default(act, "act", 3), SA_AIS_OK);
    EXPECT(write_default(weak, "weak", 4), SA_AIS_OK);
    EXPECT(write_default(allc, "allc", 4), SA_AIS_OK);
    EXPECT(read_default(act, buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 3 && memcmp(buf, "act", 3) == 0, "read %llu bytes", (unsigned long long)got);
    EXPECT(read_default(allc, buf, sizeof buf, &got), SA_AIS_OK);
    unlink_name("all");
    unlink_name("act");
    unlink_name("weak");
    unlink_name("allc");
    EXPECT(saCkptCheckpointClose(all), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(act), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(weak), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(allc), SA_AIS_OK);
}

/* A collocated checkpoint before and after its active replica is set. */
static void test_collocated_before_and_after_active_set(SaCkptCheckpointCreationFlagsT update, const char *what)
{
    SaCkptCheckpointHandleT h = open_new(what, attrs(update | SA_CKPT_CHECKPOINT_COLLOCATED, 1));
    SaCkptCheckpointHandleT ro = open_again(what, SA_CKPT_CHECKPOINT_READ);
    SaCkptCheckpointHandleT rw = open_again(what, SA_CKPT_CHECKPOINT_READ | SA_CKPT_CHECKPOINT_WRITE);
    SaCkptSectionIdT def = SA_CKPT_DEFAULT_SECTION_ID;
    SaCkptCheckpointDescriptorT st;
    char buf[16];
    SaCkptSectionIterationHandleT it;
    SaSizeT got;
    int count;

    EXPECT(write_default(h, "abc", 3), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saCkptSectionOverwrite(h, &def, "abc", 3), SA_AIS_ERR_NOT_EXIST);
    EXPECT(read_default(h, buf, sizeof buf, &got), SA_AIS_ERR_NOT_EXIST);
    EXPECT(read_default(ro, buf, sizeof buf, &got), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saCkptCheckpointStatusGet(h, &st), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saCkptSectionIterationInitialize(h, SA_CKPT_SECTIONS_ANY, 0, &it), SA_AIS_ERR_NOT_EXIST);

    EXPECT(saCkptActiveReplicaSet(ro), SA_AIS_ERR_ACCESS);
    EXPECT(write_default(h, "abc", 3), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saCkptActiveReplicaSet(rw), SA_AIS_OK);

    /* Set through one open, it is there for every open. */
    EXPECT(write_default(h, "abc", 3), SA_AIS_OK);
    EXPECT(saCkptSectionOverwrite(rw, &def, "defg", 4), SA_AIS_OK);
    EXPECT(read_default(ro, buf, sizeof buf, &got), SA_AIS_OK);
    CHECK(got == 4 && memcmp(buf, "defg", 4) == 0, "read %llu bytes", (unsigned long long)got);
    EXPECT(saCkptCheckpointStatusGet(ro, &st), SA_AIS_OK);
    CHECK(st.numberOfSections == 1 && st.memoryUsed == 4, "%u sections, %u bytes",
          (unsigned)st.numberOfSections, (unsigned)st.memoryUsed);
    EXPECT(iterate(ro, &count), SA_AIS_OK);
    CHECK(count == 1, "%d sections iterated", count);
    EXPECT(saCkptActiveReplicaSet(h), SA_AIS_OK);

    unlink_name(what);
    EXPECT(saCkptCheckpointClose(ro), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(rw), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(h), SA_AIS_OK);
}

static void test_past_max_section_size(void)
{
    SaCkptCheckpointHandleT h = open_new("size", attrs(SA_CKPT_WR_ALL_REPLICAS, 2));
    SaCkptSectionIdT id = { 1, (SaUint8T *)"s" };
    SaCkptSectionCreationAttributesT sa = { &id, SA_TIME_END };
    SaCkptIOVectorElementT e;
    SaUint32T bad = 99;
    static char big[101];

    EXPECT(saCkptSectionCreate(h, &sa, "x", 1), SA_AIS_OK);
    EXPECT(saCkptSectionCreate(h, &sa, big, 101), SA_AIS_ERR_INVALID_PARAM);
    memset(&e, 0, sizeof e);
    e.sectionId = id;
    e.dataBuffer = big;
    e.dataSize = 101;
    EXPECT(saCkptCheckpointWrite(h, &e, 1, &bad), SA_AIS_ERR_INVALID_PARAM);
    CHECK(bad == 0, "erroneous index %u", (unsigned)bad);
    /* (An offset that takes the end past maxSectionSize is INVALID_PARAM
     * on ours; the classic stack wrote past the limit. ckpt_api.c checks.) */
    e.dataSize = 50;
    e.dataOffset = 50;
    EXPECT(saCkptCheckpointWrite(h, &e, 1, &bad), SA_AIS_OK);
    EXPECT(saCkptSectionOverwrite(h, &id, big, 101), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saCkptSectionOverwrite(h, &id, big, 100), SA_AIS_OK);
    unlink_name("size");
    EXPECT(saCkptCheckpointClose(h), SA_AIS_OK);
}

static void test_reopen_with_other_retention(void)
{
    SaCkptCheckpointCreationAttributesT a = attrs(SA_CKPT_WR_ALL_REPLICAS, 2);
    SaNameT n = name_of("reopen");
    SaCkptCheckpointHandleT h, h2 = 0;
    SaCkptCheckpointDescriptorT st;

    a.retentionDuration = 5000000000LL;
    h = open_new("reopen", a);
    EXPECT(saCkptCheckpointRetentionDurationSet(h, 7000000000LL), SA_AIS_OK);
    EXPECT(saCkptCheckpointOpen(lib, &n, &a, RWC, SA_TIME_END, &h2), SA_AIS_OK);
    EXPECT(saCkptCheckpointClose(h2), SA_AIS_OK);
    a.retentionDuration = 1;
    EXPECT(saCkptCheckpointOpen(lib, &n, &a, RWC, SA_TIME_END, &h2), SA_AIS_OK);
    EXPECT(saCkptCheckpointStatusGet(h2, &st), SA_AIS_OK);
    CHECK(st.checkpointCreationAttributes.retentionDuration == 7000000000LL, "retention %lld",
          (long long)st.checkpointCreationAttributes.retentionDuration);
    EXPECT(saCkptCheckpointClose(h2), SA_AIS_OK);
    a.maxSections = 3;
    EXPECT(saCkptCheckpointOpen(lib, &n, &a, RWC, SA_TIME_END, &h2), SA_AIS_ERR_EXIST);
    a.maxSections = 2;
    a.checkpointSize = 199;
    EXPECT(saCkptCheckpointOpen(lib, &n, &a, RWC, SA_TIME_END, &h2), SA_AIS_ERR_EXIST);
    unlink_name("reopen");
    EXPECT(saCkptCheckpointClose(h), SA_AIS_OK);
}

int main(void)
{
    SaVersionT v = { 'B', 1, 1 };
    SaCkptCallbacksT cb = { NULL, NULL };

    EXPECT(saCkptInitialize(&lib, &cb, &v), SA_AIS_OK);
    if (failed == 0) {
        test_active_replica_needs_collocated();
        test_collocated_before_and_after_active_set(SA_CKPT_WR_ACTIVE_REPLICA, "coll");
        test_collocated_before_and_after_active_set(SA_CKPT_WR_ACTIVE_REPLICA_WEAK, "collweak");
        test_past_max_section_size();
        test_reopen_with_other_retention();
    }
    EXPECT(saCkptFinalize(lib), SA_AIS_OK);
    return check_summary("ckpt_classic");
}
