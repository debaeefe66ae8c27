/*
 * ABI of <saCkpt.h> (AIS CKPT B.01.01, as the classic openais header
 * defined it): every type's size and exact C type, every struct's layout,
 * every constant's value and type, every enum's values, the initializer
 * macros, and the exact signature of each callback typedef. The expected
 * numbers are written here from the spec for x86_64 (LP64); nothing is
 * computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/saCkpt.h>
#include <stdint.h>

#include "abi_check.h"

/* Callbacks with the classic signatures (the handle parameter is declared
 * const there; a top-level const does not change the function type). */
static int open_calls;
static void open_cb(SaInvocationT invocation, const SaCkptCheckpointHandleT checkpointHandle,
                    SaAisErrorT error)
{
    open_calls += (invocation == 3 && checkpointHandle == 5 && error == SA_AIS_ERR_EXIST);
}
static void sync_cb(SaInvocationT invocation, SaAisErrorT error)
{
    (void)invocation;
    (void)error;
}

static void types(void)
{
    ABI_SAME_TYPE(SaCkptHandleT, uint64_t);
    ABI_SAME_TYPE(SaCkptCheckpointHandleT, uint64_t);
    ABI_SAME_TYPE(SaCkptSectionIterationHandleT, uint64_t);
    ABI_SAME_TYPE(SaCkptCheckpointCreationFlagsT, uint32_t);
    ABI_SAME_TYPE(SaCkptCheckpointOpenFlagsT, uint32_t);
    ABI_SAME_TYPE(SaOffsetT, uint64_t);
    ABI_SIZE(SaCkptHandleT, 8);
    ABI_SIZE(SaCkptCheckpointHandleT, 8);
    ABI_SIZE(SaCkptSectionIterationHandleT, 8);
    ABI_SIZE(SaCkptCheckpointCreationFlagsT, 4);
    ABI_SIZE(SaCkptCheckpointOpenFlagsT, 4);
    ABI_SIZE(SaOffsetT, 8);
    ABI_SIZE(SaCkptSectionStateT, 4);
    ABI_IS_ENUM(SaCkptSectionStateT);
    ABI_SIZE(SaCkptSectionsChosenT, 4);
    ABI_IS_ENUM(SaCkptSectionsChosenT);
    ABI_SIZE(SaCkptCheckpointOpenCallbackT, 8);
    ABI_SIZE(SaCkptCheckpointSynchronizeCallbackT, 8);
}

static void structs(void)
{
    SaCkptCheckpointCreationAttributesT attrs;
    SaCkptSectionDescriptorT descriptor;
    SaCkptIOVectorElementT element;
    SaCkptCheckpointDescriptorT status;
    SaCkptSectionCreationAttributesT creation;

    ABI_SIZE(SaCkptCheckpointCreationAttributesT, 48);
    ABI_ALIGN(SaCkptCheckpointCreationAttributesT, 8);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, creationFlags, 0, 4);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, checkpointSize, 8, 8);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, retentionDuration, 16, 8);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, maxSections, 24, 4);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, maxSectionSize, 32, 8);
    ABI_FIELD(SaCkptCheckpointCreationAttributesT, maxSectionIdSize, 40, 8);
    {
        SaCkptCheckpointCreationFlagsT *flags = &attrs.creationFlags;
        SaSizeT *size = &attrs.checkpointSize;
        SaTimeT *retention = &attrs.retentionDuration;
        SaUint32T *sections = &attrs.maxSections;
        SaSizeT *section_size = &attrs.maxSectionSize;
        SaSizeT *id_size = &attrs.maxSectionIdSize;
        ABI_TRUE(flags && size && retention && sections && section_size && id_size);
    }

    ABI_SIZE(SaCkptSectionIdT, 16);
    ABI_ALIGN(SaCkptSectionIdT, 8);
    ABI_FIELD(SaCkptSectionIdT, idLen, 0, 2);
    ABI_FIELD(SaCkptSectionIdT, id, 8, 8);
    {
        SaUint16T *len = &element.sectionId.idLen;
        SaUint8T **id = &element.sectionId.id;
        ABI_TRUE(len && id);
    }

    ABI_SIZE(SaCkptSectionCreationAttributesT, 16);
    ABI_ALIGN(SaCkptSectionCreationAttributesT, 8);
    ABI_FIELD(SaCkptSectionCreationAttributesT, sectionId, 0, 8);
    ABI_FIELD(SaCkptSectionCreationAttributesT, expirationTime, 8, 8);
    {
        SaCkptSectionIdT **id = &creation.sectionId;
        SaTimeT *expiration = &creation.expirationTime;
        ABI_TRUE(id && expiration);
    }

    ABI_SIZE(SaCkptSectionDescriptorT, 48);
    ABI_ALIGN(SaCkptSectionDescriptorT, 8);
    ABI_FIELD(SaCkptSectionDescriptorT, sectionId, 0, 16);
    ABI_FIELD(SaCkptSectionDescriptorT, expirationTime, 16, 8);
    ABI_FIELD(SaCkptSectionDescriptorT, sectionSize, 24, 8);
    ABI_FIELD(SaCkptSectionDescriptorT, sectionState, 32, 4);
    ABI_FIELD(SaCkptSectionDescriptorT, lastUpdate, 40, 8);
    {
        SaCkptSectionIdT *id = &descriptor.sectionId;
        SaTimeT *expiration = &descriptor.expirationTime;
        SaSizeT *size = &descriptor.sectionSize;
        SaCkptSectionStateT *state = &descriptor.sectionState;
        SaTimeT *update = &descriptor.lastUpdate;
        ABI_TRUE(id && expiration && size && state && update);
    }

    ABI_SIZE(SaCkptIOVectorElementT, 48);
    ABI_ALIGN(SaCkptIOVectorElementT, 8);
    ABI_FIELD(SaCkptIOVectorElementT, sectionId, 0, 16);
    ABI_FIELD(SaCkptIOVectorElementT, dataBuffer, 16, 8);
    ABI_FIELD(SaCkptIOVectorElementT, dataSize, 24, 8);
    ABI_FIELD(SaCkptIOVectorElementT, dataOffset, 32, 8);
    ABI_FIELD(SaCkptIOVectorElementT, readSize, 40, 8);
    {
        void **buffer = &element.dataBuffer;
        SaSizeT *size = &element.dataSize;
        SaOffsetT *offset = &element.dataOffset;
        SaSizeT *read = &element.readSize;
        ABI_TRUE(buffer && size && offset && read);
    }

    ABI_SIZE(SaCkptCheckpointDescriptorT, 56);
    ABI_ALIGN(SaCkptCheckpointDescriptorT, 8);
    ABI_FIELD(SaCkptCheckpointDescriptorT, checkpointCreationAttributes, 0, 48);
    ABI_FIELD(SaCkptCheckpointDescriptorT, numberOfSections, 48, 4);
    ABI_FIELD(SaCkptCheckpointDescriptorT, memoryUsed, 52, 4);
    {
        SaCkptCheckpointCreationAttributesT *a = &status.checkpointCreationAttributes;
        SaUint32T *sections = &status.numberOfSections;
        SaUint32T *used = &status.memoryUsed;
        ABI_TRUE(a && sections && used);
    }

    ABI_SIZE(SaCkptCallbacksT, 16);
    ABI_ALIGN(SaCkptCallbacksT, 8);
    ABI_FIELD(SaCkptCallbacksT, saCkptCheckpointOpenCallback, 0, 8);
    ABI_FIELD(SaCkptCallbacksT, saCkptCheckpointSynchronizeCallback, 8, 8);
    {
        SaCkptCallbacksT callbacks = { open_cb, sync_cb };
        SaCkptCheckpointOpenCallbackT open = open_cb;
        SaCkptCheckpointSynchronizeCallbackT sync = sync_cb;
        callbacks.saCkptCheckpointOpenCallback(3, 5, SA_AIS_ERR_EXIST);
        ABI_EQ(open_calls, 1);
        ABI_TRUE(open == open_cb && callbacks.saCkptCheckpointSynchronizeCallback == sync);
    }
    {
        /* Programs fill the creation attributes positionally. */
        SaCkptCheckpointCreationAttributesT a = {
            SA_CKPT_WR_ALL_REPLICAS, 100000, SA_TIME_ONE_SECOND, 5, 20000, 10
        };
        ABI_EQ(a.maxSections, 5);
        ABI_EQ(a.maxSectionIdSize, 10);
    }
}

static void constants(void)
{
    ABI_EQ(SA_CKPT_WR_ALL_REPLICAS, 0x01);
    ABI_EQ(SA_CKPT_WR_ACTIVE_REPLICA, 0x02);
    ABI_EQ(SA_CKPT_WR_ACTIVE_REPLICA_WEAK, 0x04);
    ABI_EQ(SA_CKPT_CHECKPOINT_COLLOCATED, 0x08);
    ABI_EXPR_TYPE(SA_CKPT_WR_ALL_REPLICAS, int);
    ABI_EXPR_TYPE(SA_CKPT_CHECKPOINT_COLLOCATED, int);
#if SA_CKPT_WR_ALL_REPLICAS != 1 || SA_CKPT_WR_ACTIVE_REPLICA != 2 || \
    SA_CKPT_WR_ACTIVE_REPLICA_WEAK != 4 || SA_CKPT_CHECKPOINT_COLLOCATED != 8
#error SA_CKPT_WR_* and SA_CKPT_CHECKPOINT_COLLOCATED must be usable in #if
#endif

    ABI_EQ(SA_CKPT_CHECKPOINT_READ, 0x01);
    ABI_EQ(SA_CKPT_CHECKPOINT_WRITE, 0x02);
    ABI_EQ(SA_CKPT_CHECKPOINT_CREATE, 0x04);
    ABI_EXPR_TYPE(SA_CKPT_CHECKPOINT_READ, int);
#if SA_CKPT_CHECKPOINT_READ != 1 || SA_CKPT_CHECKPOINT_WRITE != 2 || SA_CKPT_CHECKPOINT_CREATE != 4
#error SA_CKPT_CHECKPOINT_{READ,WRITE,CREATE} must be usable in #if
#endif

    {
        /* The initializer macros: a section id of length 0, no bytes. */
        SaCkptSectionIdT def = SA_CKPT_DEFAULT_SECTION_ID;
        SaCkptSectionIdT gen = SA_CKPT_GENERATED_SECTION_ID;
        ABI_EQ(def.idLen, 0);
        ABI_TRUE(def.id == NULL);
        ABI_EQ(gen.idLen, 0);
        ABI_TRUE(gen.id == NULL);
    }

    ABI_EQ(SA_CKPT_SECTION_VALID, 1);
    ABI_EQ(SA_CKPT_SECTION_CORRUPTED, 2);

    ABI_EQ(SA_CKPT_SECTIONS_FOREVER, 1);
    ABI_EQ(SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME, 2);
    ABI_EQ(SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME, 3);
    ABI_EQ(SA_CKPT_SECTIONS_CORRUPTED, 4);
    ABI_EQ(SA_CKPT_SECTIONS_ANY, 5);
    {
        SaCkptSectionStateT s = SA_CKPT_SECTION_CORRUPTED;
        SaCkptSectionsChosenT c = SA_CKPT_SECTIONS_ANY;
        int n = 0;
        switch (s) {
        case SA_CKPT_SECTION_VALID: case SA_CKPT_SECTION_CORRUPTED:
            n++;
            break;
        }
        switch (c) {
        case SA_CKPT_SECTIONS_FOREVER: case SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME:
        case SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME: case SA_CKPT_SECTIONS_CORRUPTED:
        case SA_CKPT_SECTIONS_ANY:
            n++;
            break;
        }
        ABI_EQ(n, 2);
    }
}

/* Each function, assigned to a pointer of the classic B.01.01 prototype:
 * a compile error (-Werror, and in C++) if any parameter or return type
 * differs. The assignments sit in sizeof, which does not evaluate them, so
 * this program needs no library to link. */
#define ABI_PROTOTYPE(pointer, function) ABI_EQ(sizeof((pointer) = (function)), sizeof(pointer))
static void prototypes(void)
{
    SaAisErrorT (*initialize)(SaCkptHandleT *, const SaCkptCallbacksT *, SaVersionT *) = 0;
    SaAisErrorT (*selection)(SaCkptHandleT, SaSelectionObjectT *) = 0;
    SaAisErrorT (*dispatch)(SaCkptHandleT, SaDispatchFlagsT) = 0;
    SaAisErrorT (*finalize)(SaCkptHandleT) = 0;
    SaAisErrorT (*open)(SaCkptHandleT, const SaNameT *, const SaCkptCheckpointCreationAttributesT *,
                        SaCkptCheckpointOpenFlagsT, SaTimeT, SaCkptCheckpointHandleT *) = 0;
    SaAisErrorT (*open_async)(SaCkptHandleT, SaInvocationT, const SaNameT *,
                              const SaCkptCheckpointCreationAttributesT *,
                              SaCkptCheckpointOpenFlagsT) = 0;
    SaAisErrorT (*close)(SaCkptCheckpointHandleT) = 0;
    SaAisErrorT (*unlink)(SaCkptHandleT, const SaNameT *) = 0;
    SaAisErrorT (*retention)(SaCkptCheckpointHandleT, SaTimeT) = 0;
    SaAisErrorT (*active)(const SaCkptCheckpointHandleT) = 0;
    SaAisErrorT (*status)(SaCkptCheckpointHandleT, SaCkptCheckpointDescriptorT *) = 0;
    SaAisErrorT (*section_create)(SaCkptCheckpointHandleT, SaCkptSectionCreationAttributesT *,
                                  const void *, SaSizeT) = 0;
    SaAisErrorT (*section_delete)(SaCkptCheckpointHandleT, const SaCkptSectionIdT *) = 0;
    SaAisErrorT (*expiration)(SaCkptCheckpointHandleT, const SaCkptSectionIdT *, SaTimeT) = 0;
    SaAisErrorT (*iter_init)(const SaCkptCheckpointHandleT, SaCkptSectionsChosenT, SaTimeT,
                             SaCkptSectionIterationHandleT *) = 0;
    SaAisErrorT (*iter_next)(SaCkptSectionIterationHandleT, SaCkptSectionDescriptorT *) = 0;
    SaAisErrorT (*iter_fini)(SaCkptSectionIterationHandleT) = 0;
    SaAisErrorT (*write)(SaCkptCheckpointHandleT, const SaCkptIOVectorElementT *, SaUint32T,
                         SaUint32T *) = 0;
    SaAisErrorT (*overwrite)(SaCkptCheckpointHandleT, const SaCkptSectionIdT *, const void *,
                             SaSizeT) = 0;
    SaAisErrorT (*read)(SaCkptCheckpointHandleT, SaCkptIOVectorElementT *, SaUint32T,
                        SaUint32T *) = 0;
    SaAisErrorT (*sync)(SaCkptCheckpointHandleT, SaTimeT) = 0;
    SaAisErrorT (*sync_async)(SaCkptCheckpointHandleT, SaInvocationT) = 0;

    ABI_PROTOTYPE(initialize, saCkptInitialize);
    ABI_PROTOTYPE(selection, saCkptSelectionObjectGet);
    ABI_PROTOTYPE(dispatch, saCkptDispatch);
    ABI_PROTOTYPE(finalize, saCkptFinalize);
    ABI_PROTOTYPE(open, saCkptCheckpointOpen);
    ABI_PROTOTYPE(open_async, saCkptCheckpointOpenAsync);
    ABI_PROTOTYPE(close, saCkptCheckpointClose);
    ABI_PROTOTYPE(unlink, saCkptCheckpointUnlink);
    ABI_PROTOTYPE(retention, saCkptCheckpointRetentionDurationSet);
    ABI_PROTOTYPE(active, saCkptActiveReplicaSet);
    ABI_PROTOTYPE(status, saCkptCheckpointStatusGet);
    ABI_PROTOTYPE(section_create, saCkptSectionCreate);
    ABI_PROTOTYPE(section_delete, saCkptSectionDelete);
    ABI_PROTOTYPE(expiration, saCkptSectionExpirationTimeSet);
    ABI_PROTOTYPE(iter_init, saCkptSectionIterationInitialize);
    ABI_PROTOTYPE(iter_next, saCkptSectionIterationNext);
    ABI_PROTOTYPE(iter_fini, saCkptSectionIterationFinalize);
    ABI_PROTOTYPE(write, saCkptCheckpointWrite);
    ABI_PROTOTYPE(overwrite, saCkptSectionOverwrite);
    ABI_PROTOTYPE(read, saCkptCheckpointRead);
    ABI_PROTOTYPE(sync, saCkptCheckpointSynchronize);
    ABI_PROTOTYPE(sync_async, saCkptCheckpointSynchronizeAsync);
}

int main(void)
{
    types();
    structs();
    constants();
    prototypes();
    return ABI_DONE("abi_saCkpt");
}
