/*
 * The header items that differed from openais 0.80, used as a classic
 * program uses them (issue 22): SA_AIS_ERR_SECURITY, CPG_ERR_BUSY and
 * struct evs_address compile; saCkptSectionCreate reads its last
 * argument as the SaSizeT it is (a size past 4 GiB is not taken for its
 * low 32 bits); saCkptCheckpointSynchronizeAsync takes the checkpoint
 * handle and the invocation, and its callback comes on the library
 * handle that opened the checkpoint.
 *
 *   header_items       (run by c-tests/classic/run.sh through with-exec.sh)
 *
 * Prints "header_items: N passed, N failed"; exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/cpg.h>
#include <corosync/evs.h>
#include <corosync/saAis.h>
#include <corosync/saCkpt.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "../lib/check.h"

/* As sa_error.c in the classic test directory: every error by name. */
static const char *error_name(SaAisErrorT e)
{
    switch (e) {
    case SA_AIS_ERR_NO_SECTIONS:
        return "SA_AIS_ERR_NO_SECTIONS";
    case SA_AIS_ERR_SECURITY:
        return "SA_AIS_ERR_SECURITY";
    default:
        return "other";
    }
}

static int sync_calls;
static SaInvocationT sync_invocation;
static SaAisErrorT sync_error;

static void sync_cb(SaInvocationT invocation, SaAisErrorT error)
{
    sync_calls++;
    sync_invocation = invocation;
    sync_error = error;
}

int main(void)
{
    SaCkptCallbacksT callbacks = { NULL, sync_cb };
    SaVersionT v = { 'B', 1, 1 };
    SaCkptHandleT lib, other;
    SaCkptCheckpointHandleT h;
    SaCkptCheckpointCreationAttributesT attrs;
    SaCkptSectionCreationAttributesT section;
    SaCkptSectionIdT id;
    SaSelectionObjectT fd, other_fd;
    SaNameT name;
    struct pollfd p;
    struct evs_address address;
    cpg_error_t busy = CPG_ERR_BUSY;
    char data[8] = "abcdefg";

    CHECK(SA_AIS_ERR_SECURITY == 29 && strcmp(error_name(SA_AIS_ERR_SECURITY), "SA_AIS_ERR_SECURITY") == 0);
    CHECK(busy == 10);
    memset(&address, 0, sizeof address);
    address.family = AF_INET6;
    CHECK(sizeof address.addr == TOTEMIP_ADDRLEN && TOTEMIP_ADDRLEN == sizeof(struct in6_addr));

    CHECK_RC(saCkptInitialize(&lib, &callbacks, &v), SA_AIS_OK);
    CHECK_RC(saCkptInitialize(&other, &callbacks, &v), SA_AIS_OK);
    memset(&name, 0, sizeof name);
    strcpy((char *)name.value, "classic-header-items");
    name.length = (SaUint16T)strlen((char *)name.value);
    memset(&attrs, 0, sizeof attrs);
    attrs.creationFlags = SA_CKPT_WR_ACTIVE_REPLICA | SA_CKPT_CHECKPOINT_COLLOCATED;
    attrs.checkpointSize = 400;
    attrs.maxSections = 4;
    attrs.maxSectionSize = 100;
    attrs.maxSectionIdSize = 8;
    CHECK_RC(saCkptCheckpointOpen(lib, &name, &attrs,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_WRITE, 0, &h),
             SA_AIS_OK);
    CHECK_RC(saCkptActiveReplicaSet(h), SA_AIS_OK);

    /* 4 GiB + 5 bytes: refused, and nothing is created (a library that
     * read 32 bits would create a 5-byte section). */
    id.id = (SaUint8T *)"big";
    id.idLen = 3;
    section.sectionId = &id;
    section.expirationTime = SA_TIME_END;
    CHECK(saCkptSectionCreate(h, &section, data, ((SaSizeT)1 << 32) + 5) != SA_AIS_OK);
    CHECK_RC(saCkptSectionCreate(h, &section, data, 5), SA_AIS_OK);

    /* Two arguments; the callback comes on `lib`, not on `other`. */
    CHECK_RC(saCkptSelectionObjectGet(lib, &fd), SA_AIS_OK);
    CHECK_RC(saCkptSelectionObjectGet(other, &other_fd), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointSynchronizeAsync(h, 4711), SA_AIS_OK);
    p.fd = (int)fd;
    p.events = POLLIN;
    CHECK(poll(&p, 1, 5000) == 1);
    CHECK_RC(saCkptDispatch(lib, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK(sync_calls == 1 && sync_invocation == 4711 && sync_error == SA_AIS_OK);
    p.fd = (int)other_fd;
    CHECK(poll(&p, 1, 0) == 0);
    CHECK_RC(saCkptCheckpointSynchronizeAsync(0x99, 1), SA_AIS_ERR_BAD_HANDLE);

    CHECK_RC(saCkptCheckpointUnlink(lib, &name), SA_AIS_OK);
    CHECK_RC(saCkptCheckpointClose(h), SA_AIS_OK);
    CHECK_RC(saCkptFinalize(other), SA_AIS_OK);
    CHECK_RC(saCkptFinalize(lib), SA_AIS_OK);
    return check_summary("header_items");
}
