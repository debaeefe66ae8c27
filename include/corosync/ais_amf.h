/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * AMF A.01.01: the availability management API of openais <= 0.70.1
 * (names, values and layouts as its ais_amf.h and the "AMF Definitions"
 * of its saAis.h had them). Self-contained: it includes the B saAis.h and
 * defines what A.01.01 took from the old one (SaErrorT above all).
 *
 * Written by hand, not by cbindgen: every function is bound to its symbol
 * at version node OPENAIS_AMF_A.01.01 (an asm label on the declaration and
 * a .symver directive for that label), so -lSaAmf, -lsaAmf and -lais give a
 * program built with this header the A.01.01 functions, and one built with
 * saAmf.h the B.01.01 functions of the same name, from the same library.
 *
 * The two AMF headers define the same names differently: a translation
 * unit includes one of them.
 */

#ifndef AIS_AMF_A_H_DEFINED
#define AIS_AMF_A_H_DEFINED

#ifdef AIS_AMF_H_DEFINED
#error "ais_amf.h (AMF A.01.01) and saAmf.h (AMF B.01.01) cannot be included together: include one of them"
#endif

#include "saAis.h"

typedef enum {
    SA_OK = 1,
    SA_ERR_LIBRARY = 2,
    SA_ERR_VERSION = 3,
    SA_ERR_INIT = 4,
    SA_ERR_TIMEOUT = 5,
    SA_ERR_TRY_AGAIN = 6,
    SA_ERR_INVALID_PARAM = 7,
    SA_ERR_NO_MEMORY = 8,
    SA_ERR_BAD_HANDLE = 9,
    SA_ERR_BUSY = 10,
    SA_ERR_ACCESS = 11,
    SA_ERR_NOT_EXIST = 12,
    SA_ERR_NAME_TOO_LONG = 13,
    SA_ERR_EXIST = 14,
    SA_ERR_NO_SPACE = 15,
    SA_ERR_INTERRUPT = 16,
    SA_ERR_SYSTEM = 17,
    SA_ERR_NAME_NOT_FOUND = 18,
    SA_ERR_NO_RESOURCES = 19,
    SA_ERR_NOT_SUPPORTED = 20,
    SA_ERR_BAD_OPERATION = 21,
    SA_ERR_FAILED_OPERATION = 22,
    SA_ERR_MESSAGE_ERROR = 23,
    SA_ERR_NO_MESSAGE = 24,
    SA_ERR_QUEUE_FULL = 25,
    SA_ERR_QUEUE_NOT_AVAILABLE = 26,
    SA_ERR_BAD_CHECKPOINT = 27,
    SA_ERR_BAD_FLAGS = 28
} SaErrorT;

typedef SaUint64T SaAmfHandleT;

typedef enum {
    SA_AMF_HEARTBEAT = 1,
    SA_AMF_HEALTHCHECK_LEVEL1 = 2,
    SA_AMF_HEALTHCHECK_LEVEL2 = 3,
    SA_AMF_HEALTHCHECK_LEVEL3 = 4
} SaAmfHealthcheckT;

typedef enum {
    SA_AMF_OUT_OF_SERVICE = 1,
    SA_AMF_IN_SERVICE = 2,
    SA_AMF_STOPPING = 3
} SaAmfReadinessStateT;

typedef enum {
    SA_AMF_ACTIVE = 1,
    SA_AMF_STANDBY = 2,
    SA_AMF_QUIESCED = 3
} SaAmfHAStateT;

typedef enum {
    SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE_AND_Y_STANDBY = 1,
    SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE_OR_Y_STANDBY = 2,
    SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE_OR_Y_STANDBY = 3,
    SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE_OR_1_STANDBY = 4,
    SA_AMF_COMPONENT_CAPABILITY_X_ACTIVE = 5,
    SA_AMF_COMPONENT_CAPABILITY_1_ACTIVE = 6,
    SA_AMF_COMPONENT_CAPABILITY_NO_ACTIVE = 7
} SaAmfComponentCapabilityModelT;

/* The spec's spelling. */
#define SA_AMF_CSI_ADD_NEW_ISTANCE 0x01
#define SA_AMF_CSI_ALL_INSTANCES 0x02

typedef SaUint32T SaAmfCSIFlagsT;

typedef enum {
    SA_AMF_CSI_NEW_ASSIGN = 1,
    SA_AMF_CSI_QUIESCED = 2,
    SA_AMF_CSI_NOT_QUIESCED = 3,
    SA_AMF_CSI_STILL_ACTIVE = 4
} SaAmfCSITransitionDescriptorT;

typedef enum {
    SA_AMF_RESET = 1,
    SA_AMF_REBOOT = 2,
    SA_AMF_POWER_ON = 3,
    SA_AMF_POWER_OFF = 4
} SaAmfExternalComponentActionT;

#define SA_AMF_SWITCHOVER_OPERATION 0x01
#define SA_AMF_SHUTDOWN_OPERATION 0x02
typedef SaUint32T SaAmfPendingOperationFlagsT;

typedef struct {
    SaNameT compName;
    SaAmfReadinessStateT readinessState;
    SaAmfHAStateT haState;
} SaAmfProtectionGroupMemberT;

typedef enum {
    SA_AMF_PROTECTION_GROUP_NO_CHANGE = 1,
    SA_AMF_PROTECTION_GROUP_ADDED = 2,
    SA_AMF_PROTECTION_GROUP_REMOVED = 3,
    SA_AMF_PROTECTION_GROUP_STATE_CHANGE = 4
} SaAmfProtectionGroupChangesT;

typedef struct {
    SaAmfProtectionGroupMemberT member;
    SaAmfProtectionGroupChangesT change;
} SaAmfProtectionGroupNotificationT;

typedef enum {
    SA_AMF_COMMUNICATION_ALARM_TYPE = 1,
    SA_AMF_QUALITY_OF_SERVICE_ALARM_TYPE = 2,
    SA_AMF_PROCESSING_ERROR_ALARM_TYPE = 3,
    SA_AMF_EQUIPMENT_ALARM_TYPE = 4,
    SA_AMF_ENVIRONMENTAL_ALARM_TYPE = 5
} SaAmfErrorReportTypeT;

/* SA_AMF_LAN_ERROR and SA_AMF_OUT_OF_MEMORY are both 13, as in the spec. */
typedef enum {
    SA_AMF_APPLICATION_SUBSYSTEM_FAILURE = 1,
    SA_AMF_BANDWIDTH_REDUCED = 2,
    SA_AMF_CALL_ESTABLISHMENT_ERROR = 3,
    SA_AMF_COMMUNICATION_PROTOCOL_ERROR = 4,
    SA_AMF_COMMUNICATION_SUBSYSTEM_FAILURE = 5,
    SA_AMF_CONFIGURATION_ERROR = 6,
    SA_AMF_CONGESTION = 7,
    SA_AMF_CORRUPT_DATA = 8,
    SA_AMF_CPU_CYCLES_LIMIT_EXCEEDED = 9,
    SA_AMF_EQUIPMENT_MALFUNCTION = 10,
    SA_AMF_FILE_ERROR = 11,
    SA_AMF_IO_DEVICE_ERROR = 12,
    SA_AMF_LAN_ERROR = 13,
    SA_AMF_OUT_OF_MEMORY = 13,
    SA_AMF_PERFORMANCE_DEGRADED = 14,
    SA_AMF_PROCESSOR_PROBLEM = 15,
    SA_AMF_RECEIVE_FAILURE = 16,
    SA_AMF_REMOTE_NODE_TRNASMISSION_ERROR = 17,
    SA_AMF_RESOURCE_AT_OR_NEARING_CAPACITY = 18,
    SA_AMF_RESPONSE_TIME_EXCESSIVE = 19,
    SA_AMF_RETRANSMISSION_RATE_EXCESSIVE = 20,
    SA_AMF_SOFTWARE_ERROR = 21,
    SA_AMF_SOFTWARE_PROGRAM_ABNORMALLY_TERMINATED = 22,
    SA_AMF_SOFTWARE_PROGRAM_ERROR = 23,
    SA_AMF_STORAGE_CAPACITY_PROBLEM = 24,
    SA_AMF_TIMING_PROBLEM = 25,
    SA_AMF_UNDERLYING_REOUSRCE_UNAVAILABLE = 26,
    SA_AMF_INTERNAL_ERROR = 27,
    SA_AMF_NO_SERVICE_ERROR = 28,
    SA_AMF_SOFTWARE_LIBRARY_ERROR = 29,
    SA_AMF_NOT_RESPONDING = 30
} SaAmfProbableCauseT;

typedef enum {
    SA_AMF_CLEARED = 1,
    SA_AMF_NO_IMPACT = 2,
    SA_AMF_INDETERMINATE = 3,
    SA_AMF_CRITICAL = 4,
    SA_AMF_MAJOR = 5,
    SA_AMF_WEDGED_COMPONENT_FAILURE = 6,
    SA_AMF_COMPONENT_TERMINATED_FAILURE = 7,
    SA_AMF_NODE_FAILURE = 8,
    SA_AMF_MINOR = 9,
    SA_AMF_WARNING = 10
} SaAmfErrorImpactAndSeverityT;

/* A.01.01 values: not those of the B.01.01 enum of the same name. */
typedef enum {
    SA_AMF_NO_RECOMMENDATION = 1,
    SA_AMF_INTERNALLY_RECOVERED = 2,
    SA_AMF_COMPONENT_RESTART = 3,
    SA_AMF_COMPONENT_FAILOVER = 4,
    SA_AMF_NODE_SWITCHOVER = 5,
    SA_AMF_NODE_FAILOVER = 6,
    SA_AMF_NODE_FAILFAST = 7,
    SA_AMF_CLUSTER_RESET = 8
} SaAmfRecommendedRecoveryT;

typedef struct {
    SaAmfErrorReportTypeT errorReportType;
    SaAmfProbableCauseT probableCause;
    SaAmfErrorImpactAndSeverityT errorImpactAndSeverity;
    SaAmfRecommendedRecoveryT recommendedRecovery;
} SaAmfErrorDescriptorT;

#define SA_AMF_OPAQUE_BUFFER_SIZE_MAX 512
typedef struct {
    char *buffer;
    SaSizeT size;
} SaAmfErrorBufferT;

typedef struct {
    SaAmfErrorBufferT *specificProblem;
    SaAmfErrorBufferT *additionalText;
    SaAmfErrorBufferT *additionalInformation;
} SaAmfAdditionalDataT;

typedef void (*SaAmfHealthcheckCallbackT)(
    SaInvocationT invocation,
    const SaNameT *compName,
    SaAmfHealthcheckT checkType);

typedef void (*SaAmfReadinessStateSetCallbackT)(
    SaInvocationT invocation,
    const SaNameT *compName,
    SaAmfReadinessStateT readinessState);

typedef void (*SaAmfComponentTerminateCallbackT)(
    SaInvocationT invocation,
    const SaNameT *compName);

typedef void (*SaAmfCSISetCallbackT)(
    SaInvocationT invocation,
    const SaNameT *compName,
    const SaNameT *csiName,
    SaAmfCSIFlagsT csiFlags,
    SaAmfHAStateT *haState,
    SaNameT *activeCompName,
    SaAmfCSITransitionDescriptorT transitionDescriptor);

typedef void (*SaAmfCSIRemoveCallbackT)(
    SaInvocationT invocation,
    const SaNameT *compName,
    const SaNameT *csiName,
    const SaAmfCSIFlagsT *csiFlags);

typedef void (*SaAmfProtectionGroupTrackCallbackT)(
    const SaNameT *csiName,
    SaAmfProtectionGroupNotificationT *notificationBuffer,
    SaUint32T numberOfItems,
    SaUint32T numberOfMembers,
    SaErrorT error);

typedef void (*SaAmfExternalComponentRestartCallbackT)(
    SaInvocationT invocation,
    const SaNameT *externalCompName);

typedef void (*SaAmfExternalComponentControlCallbackT)(
    const SaInvocationT invocation,
    const SaNameT *externalCompName,
    SaAmfExternalComponentActionT controlAction);

typedef void (*SaAmfPendingOperationConfirmCallbackT)(
    const SaInvocationT invocation,
    const SaNameT *compName,
    SaAmfPendingOperationFlagsT pendingOperationFlags);

typedef void (*SaAmfPendingOperationExpiredCallbackT)(
    const SaNameT *compName,
    SaAmfPendingOperationFlagsT pendingOperationFlags);

typedef struct {
    SaAmfHealthcheckCallbackT saAmfHealthcheckCallback;
    SaAmfReadinessStateSetCallbackT saAmfReadinessStateSetCallback;
    SaAmfComponentTerminateCallbackT saAmfComponentTerminateCallback;
    SaAmfCSISetCallbackT saAmfCSISetCallback;
    SaAmfCSIRemoveCallbackT saAmfCSIRemoveCallback;
    SaAmfProtectionGroupTrackCallbackT saAmfProtectionGroupTrackCallback;
    SaAmfExternalComponentRestartCallbackT saAmfExternalComponentRestartCallback;
    SaAmfExternalComponentControlCallbackT saAmfExternalComponentControlCallback;
    SaAmfPendingOperationConfirmCallbackT saAmfPendingOperationConfirmCallback;
    SaAmfPendingOperationExpiredCallbackT saAmfPendingOperationExpiredCallback;
} SaAmfCallbacksT;

/*
 * AIS_AMF_A(f): the declaration of f refers to aisAmfA_f, which the
 * assembler turns into a reference to f@OPENAIS_AMF_A.01.01. (A program
 * that never calls f references nothing.)
 */
#define AIS_AMF_A_LABEL(f) __asm__("aisAmfA_" #f)
#define AIS_AMF_A_SYMVER(f) __asm__(".symver aisAmfA_" #f ", " #f "@OPENAIS_AMF_A.01.01");

#ifdef __cplusplus
extern "C" {
#endif

SaErrorT saAmfInitialize(SaAmfHandleT *amfHandle, const SaAmfCallbacksT *amfCallbacks,
    const SaVersionT *version) AIS_AMF_A_LABEL(saAmfInitialize);
AIS_AMF_A_SYMVER(saAmfInitialize)

SaErrorT saAmfSelectionObjectGet(const SaAmfHandleT *amfHandle,
    SaSelectionObjectT *selectionObject) AIS_AMF_A_LABEL(saAmfSelectionObjectGet);
AIS_AMF_A_SYMVER(saAmfSelectionObjectGet)

SaErrorT saAmfDispatch(const SaAmfHandleT *amfHandle,
    SaDispatchFlagsT dispatchFlags) AIS_AMF_A_LABEL(saAmfDispatch);
AIS_AMF_A_SYMVER(saAmfDispatch)

SaErrorT saAmfFinalize(const SaAmfHandleT *amfHandle) AIS_AMF_A_LABEL(saAmfFinalize);
AIS_AMF_A_SYMVER(saAmfFinalize)

SaErrorT saAmfComponentRegister(const SaAmfHandleT *amfHandle, const SaNameT *compName,
    const SaNameT *proxyCompName) AIS_AMF_A_LABEL(saAmfComponentRegister);
AIS_AMF_A_SYMVER(saAmfComponentRegister)

SaErrorT saAmfComponentUnregister(const SaAmfHandleT *amfHandle, const SaNameT *compName,
    const SaNameT *proxyCompName) AIS_AMF_A_LABEL(saAmfComponentUnregister);
AIS_AMF_A_SYMVER(saAmfComponentUnregister)

SaErrorT saAmfCompNameGet(const SaAmfHandleT *amfHandle,
    SaNameT *compName) AIS_AMF_A_LABEL(saAmfCompNameGet);
AIS_AMF_A_SYMVER(saAmfCompNameGet)

SaErrorT saAmfReadinessStateGet(const SaNameT *compName,
    SaAmfReadinessStateT *readinessState) AIS_AMF_A_LABEL(saAmfReadinessStateGet);
AIS_AMF_A_SYMVER(saAmfReadinessStateGet)

SaErrorT saAmfStoppingComplete(SaInvocationT invocation,
    SaErrorT error) AIS_AMF_A_LABEL(saAmfStoppingComplete);
AIS_AMF_A_SYMVER(saAmfStoppingComplete)

SaErrorT saAmfHAStateGet(const SaNameT *compName, const SaNameT *csiName,
    SaAmfHAStateT *haState) AIS_AMF_A_LABEL(saAmfHAStateGet);
AIS_AMF_A_SYMVER(saAmfHAStateGet)

SaErrorT saAmfProtectionGroupTrackStart(const SaAmfHandleT *amfHandle, const SaNameT *csiName,
    SaUint8T trackFlags, const SaAmfProtectionGroupNotificationT *notificationBuffer,
    SaUint32T numberOfItems) AIS_AMF_A_LABEL(saAmfProtectionGroupTrackStart);
AIS_AMF_A_SYMVER(saAmfProtectionGroupTrackStart)

SaErrorT saAmfProtectionGroupTrackStop(const SaAmfHandleT *amfHandle,
    const SaNameT *csiName) AIS_AMF_A_LABEL(saAmfProtectionGroupTrackStop);
AIS_AMF_A_SYMVER(saAmfProtectionGroupTrackStop)

SaErrorT saAmfErrorReport(const SaNameT *reportingComponent, const SaNameT *erroneousComponent,
    SaTimeT errorDetectionTime, const SaAmfErrorDescriptorT *errorDescriptor,
    const SaAmfAdditionalDataT *additionalData) AIS_AMF_A_LABEL(saAmfErrorReport);
AIS_AMF_A_SYMVER(saAmfErrorReport)

SaErrorT saAmfErrorCancelAll(const SaNameT *compName) AIS_AMF_A_LABEL(saAmfErrorCancelAll);
AIS_AMF_A_SYMVER(saAmfErrorCancelAll)

SaErrorT saAmfComponentCapabilityModelGet(const SaNameT *compName,
    SaAmfComponentCapabilityModelT *componentCapabilityModel)
    AIS_AMF_A_LABEL(saAmfComponentCapabilityModelGet);
AIS_AMF_A_SYMVER(saAmfComponentCapabilityModelGet)

SaErrorT saAmfPendingOperationGet(const SaNameT *compName,
    SaAmfPendingOperationFlagsT *pendingOperationFlags) AIS_AMF_A_LABEL(saAmfPendingOperationGet);
AIS_AMF_A_SYMVER(saAmfPendingOperationGet)

SaErrorT saAmfResponse(SaInvocationT invocation, SaErrorT error) AIS_AMF_A_LABEL(saAmfResponse);
AIS_AMF_A_SYMVER(saAmfResponse)

#ifdef __cplusplus
}
#endif

#endif /* AIS_AMF_A_H_DEFINED */
