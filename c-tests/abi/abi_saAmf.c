/*
 * ABI of <saAmf.h> (AIS AMF B.01.01, as the classic openais header defined
 * it): type sizes and exact C types, struct layouts, every constant's
 * value and type, the enums' values (the lower-case typedef names and the
 * misspelt SA_AMF_N_WAY_ACTIVE_REDUNDACY_MODEL included), and the
 * callback order of SaAmfCallbacksT. The expected numbers are written here
 * from the spec for x86_64 (LP64); nothing is computed from the header.
 */
#include <corosync/saAmf.h>
#include <stdint.h>

#include "abi_check.h"

static int set_calls;
static void hc_cb(SaInvocationT i, const SaNameT *c, SaAmfHealthcheckKeyT *k)
{
    (void)i;
    (void)c;
    (void)k;
}
static void term_cb(SaInvocationT i, const SaNameT *c)
{
    (void)i;
    (void)c;
}
static void set_cb(SaInvocationT i, const SaNameT *c, SaAmfHAStateT ha, SaAmfCSIDescriptorT *d)
{
    set_calls += (i == 3 && c == NULL && ha == SA_AMF_HA_STANDBY && d == NULL);
}
static void remove_cb(SaInvocationT i, const SaNameT *c, const SaNameT *csi, SaAmfCSIFlagsT f)
{
    (void)i;
    (void)c;
    (void)csi;
    (void)f;
}
static void pg_cb(const SaNameT *csi, SaAmfProtectionGroupNotificationBufferT *b, SaUint32T n, SaAisErrorT e)
{
    (void)csi;
    (void)b;
    (void)n;
    (void)e;
}
static void ext_cb(SaInvocationT i, const SaNameT *c)
{
    (void)i;
    (void)c;
}

static void types(void)
{
    ABI_SAME_TYPE(SaAmfHandleT, uint64_t);
    ABI_SAME_TYPE(SaAmfPmErrorsT, uint32_t);
    ABI_SAME_TYPE(SaAmfCSIFlagsT, uint32_t);
    ABI_SAME_TYPE(saAmfCompCategoryT, uint32_t);
    ABI_SIZE(SaAmfHAStateT, 4);
    ABI_IS_ENUM(SaAmfHAStateT);
    ABI_SIZE(SaAmfRecommendedRecoveryT, 4);
    ABI_IS_ENUM(SaAmfRecommendedRecoveryT);
    ABI_IS_ENUM(saAmfRedundancyModelT);
    ABI_IS_ENUM(saAmfCompCapabilityModelT);
}

static void structs(void)
{
    ABI_SIZE(SaAmfHealthcheckKeyT, 34);
    ABI_FIELD(SaAmfHealthcheckKeyT, key, 0, 32);
    ABI_FIELD(SaAmfHealthcheckKeyT, keyLen, 32, 2);
    ABI_SIZE(SaAmfCSIActiveDescriptorT, 264);
    ABI_FIELD(SaAmfCSIActiveDescriptorT, activeCompName, 4, 258);
    ABI_SIZE(SaAmfCSIStandbyDescriptorT, 264);
    ABI_FIELD(SaAmfCSIStandbyDescriptorT, standbyRank, 260, 4);
    ABI_SIZE(SaAmfCSIStateDescriptorT, 264);
    ABI_SIZE(SaAmfCSIAttributeT, 16);
    ABI_FIELD(SaAmfCSIAttributeT, attrValue, 8, 8);
    ABI_SIZE(SaAmfCSIAttributeListT, 16);
    ABI_FIELD(SaAmfCSIAttributeListT, number, 8, 4);
    ABI_SIZE(SaAmfCSIDescriptorT, 544);
    ABI_ALIGN(SaAmfCSIDescriptorT, 8);
    ABI_FIELD(SaAmfCSIDescriptorT, csiFlags, 0, 4);
    ABI_FIELD(SaAmfCSIDescriptorT, csiName, 4, 258);
    ABI_FIELD(SaAmfCSIDescriptorT, csiStateDescriptor, 264, 264);
    ABI_FIELD(SaAmfCSIDescriptorT, csiAttr, 528, 16);
    ABI_SIZE(SaAmfProtectionGroupMemberT, 268);
    ABI_FIELD(SaAmfProtectionGroupMemberT, haState, 260, 4);
    ABI_FIELD(SaAmfProtectionGroupMemberT, rank, 264, 4);
    ABI_SIZE(SaAmfProtectionGroupNotificationT, 272);
    ABI_FIELD(SaAmfProtectionGroupNotificationT, change, 268, 4);
    ABI_SIZE(SaAmfProtectionGroupNotificationBufferT, 16);
    ABI_FIELD(SaAmfProtectionGroupNotificationBufferT, notification, 8, 8);
    ABI_SIZE(SaAmfCallbacksT, 56);
    {
        /* Programs initialize it positionally, in this order. */
        SaAmfCallbacksT cb = { hc_cb, term_cb, set_cb, remove_cb, pg_cb, ext_cb, ext_cb };
        cb.saAmfCSISetCallback(3, NULL, SA_AMF_HA_STANDBY, NULL);
        ABI_EQ(set_calls, 1);
        ABI_TRUE(cb.saAmfHealthcheckCallback == hc_cb && cb.saAmfComponentTerminateCallback == term_cb &&
                 cb.saAmfCSIRemoveCallback == remove_cb && cb.saAmfProtectionGroupTrackCallback == pg_cb &&
                 cb.saAmfExternalComponentCleanupCallback == ext_cb);
    }
}

static void constants(void)
{
    ABI_EQ(SA_AMF_PM_ZERO_EXIT, 0x1);
    ABI_EQ(SA_AMF_PM_NON_ZERO_EXIT, 0x2);
    ABI_EQ(SA_AMF_PM_ABNORMAL_END, 0x4);
    ABI_EXPR_TYPE(SA_AMF_PM_ABNORMAL_END, int);
    ABI_EQ(SA_AMF_HEALTHCHECK_KEY_MAX, 32);
    ABI_EQ(SA_AMF_CSI_ADD_ONE, 0x1);
    ABI_EQ(SA_AMF_CSI_TARGET_ONE, 0x2);
    ABI_EQ(SA_AMF_CSI_TARGET_ALL, 0x4);
    ABI_EQ(SA_AMF_COMP_SA_AWARE, 0x1);
    ABI_EQ(SA_AMF_COMP_LOCAL, 0x8);
#if SA_AMF_CSI_TARGET_ALL != 4 || SA_AMF_HEALTHCHECK_KEY_MAX != 32
#error the AMF macros must be usable in #if
#endif
    ABI_EQ(SA_AMF_PM_PROC, 1);
    ABI_EQ(SA_AMF_PM_ALL_PROCESSES, 3);
    ABI_EQ(SA_AMF_HEALTHCHECK_AMF_INVOKED, 1);
    ABI_EQ(SA_AMF_HEALTHCHECK_COMPONENT_INVOKED, 2);
    ABI_EQ(SA_AMF_HA_ACTIVE, 1);
    ABI_EQ(SA_AMF_HA_QUIESCING, 4);
    ABI_EQ(SA_AMF_READINESS_STOPPING, 3);
    ABI_EQ(SA_AMF_PRESENCE_TERMINATION_FAILED, 7);
    ABI_EQ(SA_AMF_OPERATIONAL_DISABLED, 2);
    ABI_EQ(SA_AMF_ADMIN_SHUTTING_DOWN, 4);
    ABI_EQ(SA_AMF_ASSIGNMENT_PARTIALLY_ASSIGNED, 3);
    ABI_EQ(SA_AMF_PROXY_STATUS_PROXIED, 2);
    ABI_EQ(SA_AMF_PROXY_STATUS, 7);
    ABI_EQ(SA_AMF_CSI_NEW_ASSIGN, 1);
    ABI_EQ(SA_AMF_CSI_STILL_ACTIVE, 4);
    ABI_EQ(SA_AMF_PROTECTION_GROUP_STATE_CHANGE, 4);
    ABI_EQ(SA_AMF_NO_RECOMMENDATION, 1);
    ABI_EQ(SA_AMF_COMPONENT_FAILOVER, 3);
    ABI_EQ(SA_AMF_APPLICATION_RESTART, 8);
    ABI_EQ(SA_AMF_2N_REDUNDANCY_MODEL, 1);
    ABI_EQ(SA_AMF_N_WAY_ACTIVE_REDUNDACY_MODEL, 4);
    ABI_EQ(SA_AMF_NO_REDUNDANCY_MODEL, 5);
    ABI_EQ(SA_AMF_COMP_X_ACTIVE_AND_Y_STANDBY, 1);
    ABI_EQ(SA_AMF_COMP_NON_PRE_INSTANTIABLE, 7);
    ABI_EQ(SA_AMF_NODE_NAME, 1);
    ABI_EQ(SA_AMF_SI_NAME, 2);
}

int main(void)
{
    types();
    structs();
    constants();
    return ABI_DONE("abi_saAmf");
}
