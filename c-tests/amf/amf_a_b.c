/*
 * The B.01.01 half of amf_a: a translation unit includes one AMF header,
 * so the calls through <corosync/saAmf.h> live here. With amf_a.c in one
 * program, the 9 names both APIs share resolve per translation unit:
 * saAmfInitialize here is saAmfInitialize@@OPENAIS_AMF_B.01.01, in
 * amf_a.c saAmfInitialize@OPENAIS_AMF_A.01.01.
 */
#include <corosync/saAmf.h>

#include "amf_a_b.h"

int b_initialize(unsigned long long *handle, char release)
{
    SaAmfCallbacksT cb = {0};
    SaVersionT v = {release, 1, 1};
    SaAmfHandleT h = 0;
    SaAisErrorT r = saAmfInitialize(&h, &cb, &v);
    *handle = h;
    return (int)r;
}

int b_selection_object(unsigned long long handle)
{
    SaSelectionObjectT fd;
    return (int)saAmfSelectionObjectGet(handle, &fd);
}

int b_finalize(unsigned long long handle)
{
    return (int)saAmfFinalize(handle);
}
