/*
 * ABI of <ais_amf.h> (AIS AMF A.01.01, as openais 0.70.1 defined it in its
 * ais_amf.h and the "AMF Definitions" of its saAis.h): type sizes and exact
 * C types, struct layouts, every constant's value, the enums' values
 * (SaErrorT's numbering, which differs from SaAisErrorT's from 17 on; the
 * A recommended recoveries; SA_AMF_LAN_ERROR and SA_AMF_OUT_OF_MEMORY both
 * 13; the misspelt SA_AMF_CSI_ADD_NEW_ISTANCE), the callback order of
 * SaAmfCallbacksT, and the prototypes. The expected numbers are written
 * here from 0.70.1 for x86_64 (LP64); nothing is computed from the header.
 */
#include <corosync/ais_amf.h>
#include <stdint.h>

#include "abi_check.h"

static int calls;
static void hc_cb(SaInvocationT i, const SaNameT *c, SaAmfHealthcheckT t)
{
    calls += (i == 1 && c == NULL && t == SA_AMF_HEARTBEAT);
}
static void ready_cb(SaInvocationT i, const SaNameT *c, SaAmfReadinessStateT r)
{
    calls += (i == 2 && c == NULL && r == SA_AMF_IN_SERVICE) * 10;
}
static void term_cb(SaInvocationT i, const SaNameT *c)
{
    (void)i;
    (void)c;
}
static void set_cb(SaInvocationT i, const SaNameT *c, const SaNameT *csi, SaAmfCSIFlagsT f,
                   SaAmfHAStateT *ha, SaNameT *active, SaAmfCSITransitionDescriptorT t)
{
    calls += (i == 3 && c == NULL && csi == NULL && f == 1 && *ha == SA_AMF_STANDBY &&
              active == NULL && t == SA_AMF_CSI_NEW_ASSIGN) * 100;
}
static void remove_cb(SaInvocationT i, const SaNameT *c, const SaNameT *csi, const SaAmfCSIFlagsT *f)
{
    (void)i;
    (void)c;
    (void)csi;
    (void)f;
}
static void pg_cb(const SaNameT *csi, SaAmfProtectionGroupNotificationT *b, SaUint32T items,
                  SaUint32T members, SaErrorT e)
{
    (void)csi;
    (void)b;
    (void)items;
    (void)members;
    (void)e;
}
static void ext_restart_cb(SaInvocationT i, const SaNameT *c)
{
    (void)i;
    (void)c;
}
static void ext_control_cb(const SaInvocationT i, const SaNameT *c, SaAmfExternalComponentActionT a)
{
    (void)i;
    (void)c;
    (void)a;
}
static void pending_confirm_cb(const SaInvocationT i, const SaNameT *c, SaAmfPendingOperationFlagsT f)
{
    (void)i;
    (void)c;
    (void)f;
}
static void pending_expired_cb(const SaNameT *c, SaAmfPendingOperationFlagsT f)
{
    (void)c;
    (void)f;
}

static void types(void)
{
    ABI_SAME_TYPE(SaAmfHandleT, uint64_t);
    ABI_SAME_TYPE(SaAmfCSIFlagsT, uint32_t);
    ABI_SAME_TYPE(SaAmfPendingOperationFlagsT, uint32_t);
    ABI_SIZE(SaErrorT, 4);
    ABI_IS_ENUM(SaErrorT);
    ABI_IS_ENUM(SaAmfHealthcheckT);
    ABI_IS_ENUM(SaAmfReadinessStateT);
    ABI_IS_ENUM(SaAmfHAStateT);
    ABI_IS_ENUM(SaAmfComponentCapabilityModelT);
    ABI_IS_ENUM(SaAmfCSITransitionDescriptorT);
    ABI_IS_ENUM(SaAmfExternalComponentActionT);
    ABI_IS_ENUM(SaAmfProtectionGroupChangesT);
    ABI_IS_ENUM(SaAmfErrorReportTypeT);
    ABI_IS_ENUM(SaAmfProbableCauseT);
    ABI_IS_ENUM(SaAmfErrorImpactAndSeverityT);
    ABI_IS_ENUM(SaAmfRecommendedRecoveryT);

    ABI_SIZE(SaAmfProtectionGroupMemberT, 268);
    ABI_FIELD(SaAmfProtectionGroupMemberT, compName, 0, 258);
    ABI_FIELD(SaAmfProtectionGroupMemberT, readinessState, 260, 4);
    ABI_FIELD(SaAmfProtectionGroupMemberT, haState, 264, 4);
    ABI_SIZE(SaAmfProtectionGroupNotificationT, 272);
    ABI_FIELD(SaAmfProtectionGroupNotificationT, member, 0, 268);
    ABI_FIELD(SaAmfProtectionGroupNotificationT, change, 268, 4);
    ABI_SIZE(SaAmfErrorDescriptorT, 16);
    ABI_FIELD(SaAmfErrorDescriptorT, errorReportType, 0, 4);
    ABI_FIELD(SaAmfErrorDescriptorT, probableCause, 4, 4);
    ABI_FIELD(SaAmfErrorDescriptorT, errorImpactAndSeverity, 8, 4);
    ABI_FIELD(SaAmfErrorDescriptorT, recommendedRecovery, 12, 4);
    ABI_SIZE(SaAmfErrorBufferT, 16);
    ABI_FIELD(SaAmfErrorBufferT, buffer, 0, 8);
    ABI_FIELD(SaAmfErrorBufferT, size, 8, 8);
    ABI_SAME_TYPE(char *, __typeof__(((SaAmfErrorBufferT *)0)->buffer));
    ABI_SIZE(SaAmfAdditionalDataT, 24);
    ABI_FIELD(SaAmfAdditionalDataT, specificProblem, 0, 8);
    ABI_FIELD(SaAmfAdditionalDataT, additionalText, 8, 8);
    ABI_FIELD(SaAmfAdditionalDataT, additionalInformation, 16, 8);

    ABI_SIZE(SaAmfCallbacksT, 80);
    ABI_FIELD(SaAmfCallbacksT, saAmfHealthcheckCallback, 0, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfReadinessStateSetCallback, 8, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfComponentTerminateCallback, 16, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfCSISetCallback, 24, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfCSIRemoveCallback, 32, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfProtectionGroupTrackCallback, 40, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfExternalComponentRestartCallback, 48, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfExternalComponentControlCallback, 56, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfPendingOperationConfirmCallback, 64, 8);
    ABI_FIELD(SaAmfCallbacksT, saAmfPendingOperationExpiredCallback, 72, 8);
    {
        /* Positional initialization, as the 0.70.1 test programs write it. */
        SaAmfCallbacksT cb = { hc_cb, ready_cb, term_cb, set_cb, remove_cb, pg_cb, ext_restart_cb,
                               ext_control_cb, pending_confirm_cb, pending_expired_cb };
        SaAmfHAStateT ha = SA_AMF_STANDBY;
        cb.saAmfHealthcheckCallback(1, NULL, SA_AMF_HEARTBEAT);
        cb.saAmfReadinessStateSetCallback(2, NULL, SA_AMF_IN_SERVICE);
        cb.saAmfCSISetCallback(3, NULL, NULL, SA_AMF_CSI_ADD_NEW_ISTANCE, &ha, NULL, SA_AMF_CSI_NEW_ASSIGN);
        ABI_EQ(calls, 111);
    }
}

static void values(void)
{
    ABI_EQ(SA_OK, 1);
    ABI_EQ(SA_ERR_LIBRARY, 2);
    ABI_EQ(SA_ERR_VERSION, 3);
    ABI_EQ(SA_ERR_INIT, 4);
    ABI_EQ(SA_ERR_TIMEOUT, 5);
    ABI_EQ(SA_ERR_TRY_AGAIN, 6);
    ABI_EQ(SA_ERR_INVALID_PARAM, 7);
    ABI_EQ(SA_ERR_NO_MEMORY, 8);
    ABI_EQ(SA_ERR_BAD_HANDLE, 9);
    ABI_EQ(SA_ERR_BUSY, 10);
    ABI_EQ(SA_ERR_ACCESS, 11);
    ABI_EQ(SA_ERR_NOT_EXIST, 12);
    ABI_EQ(SA_ERR_NAME_TOO_LONG, 13);
    ABI_EQ(SA_ERR_EXIST, 14);
    ABI_EQ(SA_ERR_NO_SPACE, 15);
    ABI_EQ(SA_ERR_INTERRUPT, 16);
    ABI_EQ(SA_ERR_SYSTEM, 17);
    ABI_EQ(SA_ERR_NAME_NOT_FOUND, 18);
    ABI_EQ(SA_ERR_NO_RESOURCES, 19);
    ABI_EQ(SA_ERR_NOT_SUPPORTED, 20);
    ABI_EQ(SA_ERR_BAD_OPERATION, 21);
    ABI_EQ(SA_ERR_FAILED_OPERATION, 22);
    ABI_EQ(SA_ERR_MESSAGE_ERROR, 23);
    ABI_EQ(SA_ERR_NO_MESSAGE, 24);
    ABI_EQ(SA_ERR_QUEUE_FULL, 25);
    ABI_EQ(SA_ERR_QUEUE_NOT_AVAILABLE, 26);
    ABI_EQ(SA_ERR_BAD_CHECKPOINT, 27);
    ABI_EQ(SA_ERR_BAD_FLAGS, 28);
    /* The B names from saAis.h are there too, with their own numbers. */
    ABI_EQ(SA_AIS_ERR_NAME_NOT_FOUND, 17);
    ABI_EQ(SA_AIS_ERR_BAD_FLAGS, 25);

    ABI_EQ(SA_AMF_HEARTBEAT, 1);
    ABI_EQ(SA_AMF_HEALTHCHECK_LEVEL1, 2);
    ABI_EQ(SA_AMF_HEALTHCHECK_LEVEL2, 3);
    ABI_EQ(SA_AMF_HEALTHCHECK_LEVEL3, 4);
    ABI_EQ(SA_AMF_OUT_OF_SERVICE, 1);
    ABI_EQ(SA_AMF_IN_SERVICE, 2);
    ABI_EQ(SA_AMF_STOPPING, 3);
    ABI_EQ(SA_AMF_ACTIVE, 1);
    ABI_EQ(SA_AMF_STANDBY, 2);
    ABI_EQ(SA_AMF_QUIESCED, 3);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE_AND_Y_STANDBY, 1);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE_OR_Y_STANDBY, 2);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE_OR_Y_STANDBY, 3);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE_OR_1_STANDBY, 4);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE, 5);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE, 6);
    ABI_EQ(SA_AMF_COMPONENT_CAPABILITY_NO_ACTIVE, 7);
    ABI_EQ(SA_AMF_CSI_ADD_NEW_ISTANCE, 0x01);
    ABI_EQ(SA_AMF_CSI_ALL_INSTANCES, 0x02);
    ABI_EQ(SA_AMF_CSI_NEW_ASSIGN, 1);
    ABI_EQ(SA_AMF_CSI_QUIESCED, 2);
    ABI_EQ(SA_AMF_CSI_NOT_QUIESCED, 3);
    ABI_EQ(SA_AMF_CSI_STILL_ACTIVE, 4);
    ABI_EQ(SA_AMF_RESET, 1);
    ABI_EQ(SA_AMF_REBOOT, 2);
    ABI_EQ(SA_AMF_POWER_ON, 3);
    ABI_EQ(SA_AMF_POWER_OFF, 4);
    ABI_EQ(SA_AMF_SWITCHOVER_OPERATION, 0x01);
    ABI_EQ(SA_AMF_SHUTDOWN_OPERATION, 0x02);
    ABI_EQ(SA_AMF_PROTECTION_GROUP_NO_CHANGE, 1);
    ABI_EQ(SA_AMF_PROTECTION_GROUP_ADDED, 2);
    ABI_EQ(SA_AMF_PROTECTION_GROUP_REMOVED, 3);
    ABI_EQ(SA_AMF_PROTECTION_GROUP_STATE_CHANGE, 4);
    ABI_EQ(SA_AMF_COMMUNICATION_ALARM_TYPE, 1);
    ABI_EQ(SA_AMF_ENVIRONMENTAL_ALARM_TYPE, 5);
    ABI_EQ(SA_AMF_APPLICATION_SUBSYSTEM_FAILURE, 1);
    ABI_EQ(SA_AMF_IO_DEVICE_ERROR, 12);
    ABI_EQ(SA_AMF_LAN_ERROR, 13);
    ABI_EQ(SA_AMF_OUT_OF_MEMORY, 13);
    ABI_EQ(SA_AMF_PERFORMANCE_DEGRADED, 14);
    ABI_EQ(SA_AMF_REMOTE_NODE_TRNASMISSION_ERROR, 17);
    ABI_EQ(SA_AMF_UNDERLYING_REOUSRCE_UNAVAILABLE, 26);
    ABI_EQ(SA_AMF_NOT_RESPONDING, 30);
    ABI_EQ(SA_AMF_CLEARED, 1);
    ABI_EQ(SA_AMF_MINOR, 9);
    ABI_EQ(SA_AMF_WARNING, 10);
    ABI_EQ(SA_AMF_NO_RECOMMENDATION, 1);
    ABI_EQ(SA_AMF_INTERNALLY_RECOVERED, 2);
    ABI_EQ(SA_AMF_COMPONENT_RESTART, 3);
    ABI_EQ(SA_AMF_COMPONENT_FAILOVER, 4);
    ABI_EQ(SA_AMF_NODE_SWITCHOVER, 5);
    ABI_EQ(SA_AMF_NODE_FAILOVER, 6);
    ABI_EQ(SA_AMF_NODE_FAILFAST, 7);
    ABI_EQ(SA_AMF_CLUSTER_RESET, 8);
    ABI_EQ(SA_AMF_OPAQUE_BUFFER_SIZE_MAX, 512);
}

/* The prototypes have the 0.70.1 types (a pointer to the declared function
 * converts to a pointer of that type, or the build fails). Nothing is
 * referenced: the ABI test links no library. */
#define ABI_PROTO(f, ptr_type) \
    do { \
        __typeof__(f) *abi_f_ = NULL; \
        ptr_type abi_g_ = abi_f_; \
        abi_passed += (abi_g_ == NULL); \
    } while (0)

typedef SaErrorT (*abi_saAmfInitialize_t)(SaAmfHandleT *, const SaAmfCallbacksT *, const SaVersionT *);
typedef SaErrorT (*abi_saAmfSelectionObjectGet_t)(const SaAmfHandleT *, SaSelectionObjectT *);
typedef SaErrorT (*abi_saAmfDispatch_t)(const SaAmfHandleT *, SaDispatchFlagsT);
typedef SaErrorT (*abi_saAmfFinalize_t)(const SaAmfHandleT *);
typedef SaErrorT (*abi_saAmfComponentRegister_t)(const SaAmfHandleT *, const SaNameT *, const SaNameT *);
typedef SaErrorT (*abi_saAmfComponentUnregister_t)(const SaAmfHandleT *, const SaNameT *, const SaNameT *);
typedef SaErrorT (*abi_saAmfCompNameGet_t)(const SaAmfHandleT *, SaNameT *);
typedef SaErrorT (*abi_saAmfReadinessStateGet_t)(const SaNameT *, SaAmfReadinessStateT *);
typedef SaErrorT (*abi_saAmfStoppingComplete_t)(SaInvocationT, SaErrorT);
typedef SaErrorT (*abi_saAmfHAStateGet_t)(const SaNameT *, const SaNameT *, SaAmfHAStateT *);
typedef SaErrorT (*abi_saAmfProtectionGroupTrackStart_t)(const SaAmfHandleT *, const SaNameT *, SaUint8T, const SaAmfProtectionGroupNotificationT *, SaUint32T);
typedef SaErrorT (*abi_saAmfProtectionGroupTrackStop_t)(const SaAmfHandleT *, const SaNameT *);
typedef SaErrorT (*abi_saAmfErrorReport_t)(const SaNameT *, const SaNameT *, SaTimeT, const SaAmfErrorDescriptorT *, const SaAmfAdditionalDataT *);
typedef SaErrorT (*abi_saAmfErrorCancelAll_t)(const SaNameT *);
typedef SaErrorT (*abi_saAmfComponentCapabilityModelGet_t)(const SaNameT *, SaAmfComponentCapabilityModelT *);
typedef SaErrorT (*abi_saAmfPendingOperationGet_t)(const SaNameT *, SaAmfPendingOperationFlagsT *);
typedef SaErrorT (*abi_saAmfResponse_t)(SaInvocationT, SaErrorT);

static void prototypes(void)
{
    ABI_PROTO(saAmfInitialize, abi_saAmfInitialize_t);
    ABI_PROTO(saAmfSelectionObjectGet, abi_saAmfSelectionObjectGet_t);
    ABI_PROTO(saAmfDispatch, abi_saAmfDispatch_t);
    ABI_PROTO(saAmfFinalize, abi_saAmfFinalize_t);
    ABI_PROTO(saAmfComponentRegister, abi_saAmfComponentRegister_t);
    ABI_PROTO(saAmfComponentUnregister, abi_saAmfComponentUnregister_t);
    ABI_PROTO(saAmfCompNameGet, abi_saAmfCompNameGet_t);
    ABI_PROTO(saAmfReadinessStateGet, abi_saAmfReadinessStateGet_t);
    ABI_PROTO(saAmfStoppingComplete, abi_saAmfStoppingComplete_t);
    ABI_PROTO(saAmfHAStateGet, abi_saAmfHAStateGet_t);
    ABI_PROTO(saAmfProtectionGroupTrackStart, abi_saAmfProtectionGroupTrackStart_t);
    ABI_PROTO(saAmfProtectionGroupTrackStop, abi_saAmfProtectionGroupTrackStop_t);
    ABI_PROTO(saAmfErrorReport, abi_saAmfErrorReport_t);
    ABI_PROTO(saAmfErrorCancelAll, abi_saAmfErrorCancelAll_t);
    ABI_PROTO(saAmfComponentCapabilityModelGet, abi_saAmfComponentCapabilityModelGet_t);
    ABI_PROTO(saAmfPendingOperationGet, abi_saAmfPendingOperationGet_t);
    ABI_PROTO(saAmfResponse, abi_saAmfResponse_t);
}

int main(void)
{
    types();
    values();
    prototypes();
    return ABI_DONE("abi_ais_amf");
}
