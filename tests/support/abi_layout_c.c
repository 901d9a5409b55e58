/* The ABI layouts as the C compiler sees them, for comparison with the C++ view. */
#include "cap/cap.h"

#define ENTRY(type, field) offsetof(type, field)

size_t cap_test_c_layout(int index);

/* Pairs of (sizeof or offsetof) values in a fixed order; test_abi_layout.cpp lists the same. */
size_t cap_test_c_layout(int index) {
    /* Laid out by hand: the same pairs, in the same order, as test_abi_layout.cpp. */
    /* clang-format off */
    static const size_t values[] = {
        sizeof(cap_status), ENTRY(cap_status, release),
        sizeof(cap_option_spec), ENTRY(cap_option_spec, choices),
        sizeof(cap_host_api), ENTRY(cap_host_api, option_float_list),
        sizeof(cap_exec_context), ENTRY(cap_exec_context, num_threads),
        sizeof(cap_model_shape), sizeof(cap_constraints),
        sizeof(cap_plugin_descriptor), ENTRY(cap_plugin_descriptor, functions),
        sizeof(cap_backend_probe), sizeof(cap_precision_policy), sizeof(cap_memory_info),
        sizeof(cap_backend_api), ENTRY(cap_backend_api, describe),
        sizeof(cap_criterion_info), sizeof(cap_unit_group), sizeof(cap_selection),
        sizeof(cap_criterion_api), ENTRY(cap_criterion_api, regularizer),
        sizeof(cap_progress), sizeof(cap_schedule_point), sizeof(cap_stage),
        sizeof(cap_schedule_api), ENTRY(cap_schedule_api, at),
        sizeof(cap_bank), sizeof(cap_contrastive_batch), sizeof(cap_loss_terms),
        sizeof(cap_contrastive_api), ENTRY(cap_contrastive_api, memory),
        sizeof(cap_distill_api), ENTRY(cap_distill_api, loss), sizeof(cap_distill_batch), sizeof(cap_batch_info),
        ENTRY(cap_host_api, make_status), ENTRY(cap_unit_group, input_sq_norms), ENTRY(cap_unit_group, linear_count)};
    /* clang-format on */
    if (index < 0 || index >= (int)(sizeof(values) / sizeof(values[0]))) return (size_t)-1;
    return values[index];
}
