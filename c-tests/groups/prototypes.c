/*
 * The prototypes of evs.h and cpg.h are those of the classic openais 0.80
 * headers: each function is assigned to a pointer of the classic type,
 * which -Werror turns into a build failure on any difference.
 */
#include <corosync/cpg.h>
#include <corosync/evs.h>

#include <stdio.h>

int main(void)
{
    cpg_error_t (*c_init)(cpg_handle_t *, cpg_callbacks_t *) = cpg_initialize;
    cpg_error_t (*c_fin)(cpg_handle_t) = cpg_finalize;
    cpg_error_t (*c_fd)(cpg_handle_t, int *) = cpg_fd_get;
    cpg_error_t (*c_cget)(cpg_handle_t, void **) = cpg_context_get;
    cpg_error_t (*c_cset)(cpg_handle_t, void *) = cpg_context_set;
    cpg_error_t (*c_disp)(cpg_handle_t, cpg_dispatch_t) = cpg_dispatch;
    cpg_error_t (*c_join)(cpg_handle_t, struct cpg_name *) = cpg_join;
    cpg_error_t (*c_leave)(cpg_handle_t, struct cpg_name *) = cpg_leave;
    cpg_error_t (*c_mcast)(cpg_handle_t, cpg_guarantee_t, struct iovec *, int) = cpg_mcast_joined;
    cpg_error_t (*c_memb)(cpg_handle_t, struct cpg_name *, struct cpg_address *, int *) = cpg_membership_get;
    cpg_error_t (*c_local)(cpg_handle_t, unsigned int *) = cpg_local_get;
    cpg_error_t (*c_flow)(cpg_handle_t, cpg_flow_control_state_t *) = cpg_flow_control_state_get;

    evs_error_t (*e_init)(evs_handle_t *, evs_callbacks_t *) = evs_initialize;
    evs_error_t (*e_fin)(evs_handle_t) = evs_finalize;
    evs_error_t (*e_fd)(evs_handle_t, int *) = evs_fd_get;
    evs_error_t (*e_disp)(evs_handle_t, evs_dispatch_t) = evs_dispatch;
    evs_error_t (*e_join)(evs_handle_t, struct evs_group *, int) = evs_join;
    evs_error_t (*e_leave)(evs_handle_t, struct evs_group *, int) = evs_leave;
    evs_error_t (*e_mj)(evs_handle_t, evs_guarantee_t, struct iovec *, int) = evs_mcast_joined;
    evs_error_t (*e_mg)(evs_handle_t, evs_guarantee_t, struct evs_group *, int, struct iovec *, int) =
        evs_mcast_groups;
    evs_error_t (*e_memb)(evs_handle_t, unsigned int *, unsigned int *, unsigned int *) = evs_membership_get;

    /* Use them, so nothing is optimized into a false pass. */
    printf("prototypes: %d functions match\n",
           !!c_init + !!c_fin + !!c_fd + !!c_cget + !!c_cset + !!c_disp + !!c_join + !!c_leave +
               !!c_mcast + !!c_memb + !!c_local + !!c_flow + !!e_init + !!e_fin + !!e_fd + !!e_disp +
               !!e_join + !!e_leave + !!e_mj + !!e_mg + !!e_memb);
    return 0;
}
