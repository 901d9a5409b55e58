// The ABI's struct layouts are frozen for ABI 1.x on LP64 (x86-64, aarch64 Linux): a change
// here is a break that needs a major version bump (docs/abi.md). The static_asserts stop the
// build; the test case checks that the C compiler lays the structs out as C++ does.
#include <doctest/doctest.h>

#include <cstddef>

#include "cap/cap.h"

static_assert(sizeof(void*) == 8, "the frozen layouts below are for LP64 platforms");

#define CAP_FROZEN_SIZE(type, bytes) static_assert(sizeof(type) == (bytes), #type " size changed")
#define CAP_FROZEN_OFFSET(type, field, bytes) static_assert(offsetof(type, field) == (bytes), #type "." #field " moved")

// Fields whose place never changes, even across major versions: the loader reads them first.
CAP_FROZEN_OFFSET(cap_plugin_descriptor, struct_size, 0);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, abi_major, 4);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, abi_minor, 6);

CAP_FROZEN_SIZE(cap_status, 24);
CAP_FROZEN_OFFSET(cap_status, code, 4);
CAP_FROZEN_OFFSET(cap_status, message, 8);
CAP_FROZEN_OFFSET(cap_status, release, 16);
CAP_FROZEN_SIZE(cap_option_spec, 104);
CAP_FROZEN_OFFSET(cap_option_spec, type, 4);
CAP_FROZEN_OFFSET(cap_option_spec, name, 8);
CAP_FROZEN_OFFSET(cap_option_spec, flags, 24);
CAP_FROZEN_OFFSET(cap_option_spec, min_value, 32);
CAP_FROZEN_OFFSET(cap_option_spec, default_int, 56);
CAP_FROZEN_OFFSET(cap_option_spec, default_list_count, 88);
CAP_FROZEN_OFFSET(cap_option_spec, choices, 96);
CAP_FROZEN_SIZE(cap_host_api, 88);  // 1.2 appended make_status
CAP_FROZEN_OFFSET(cap_host_api, host_data, 16);
CAP_FROZEN_OFFSET(cap_host_api, log, 24);
CAP_FROZEN_OFFSET(cap_host_api, seed, 32);
CAP_FROZEN_OFFSET(cap_host_api, option_float_list, 72);
CAP_FROZEN_OFFSET(cap_host_api, make_status, 80);  // 1.2
CAP_FROZEN_SIZE(cap_exec_context, 32);
CAP_FROZEN_OFFSET(cap_exec_context, device, 4);
CAP_FROZEN_OFFSET(cap_exec_context, stream, 16);
CAP_FROZEN_OFFSET(cap_exec_context, num_threads, 24);
CAP_FROZEN_SIZE(cap_model_shape, 20);
CAP_FROZEN_SIZE(cap_constraints, 8);
CAP_FROZEN_SIZE(cap_plugin_descriptor, 80);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, kind, 8);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, name, 16);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, options, 40);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, num_options, 48);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, create, 56);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, destroy, 64);
CAP_FROZEN_OFFSET(cap_plugin_descriptor, functions, 72);
CAP_FROZEN_SIZE(cap_backend_probe, 276);
CAP_FROZEN_OFFSET(cap_backend_probe, reason, 20);
CAP_FROZEN_SIZE(cap_precision_policy, 16);
CAP_FROZEN_SIZE(cap_memory_info, 32);
CAP_FROZEN_SIZE(cap_backend_api, 56);
CAP_FROZEN_OFFSET(cap_backend_api, describe, 48);
CAP_FROZEN_SIZE(cap_criterion_info, 32);  // 24 before 1.2
CAP_FROZEN_OFFSET(cap_criterion_info, scores_learning_rate, 16);
CAP_FROZEN_OFFSET(cap_criterion_info, scores_learning_rate_literal, 24);  // 1.2
CAP_FROZEN_SIZE(cap_unit_group, 104);                                     // 64 before 1.2
CAP_FROZEN_OFFSET(cap_unit_group, mask, 24);
CAP_FROZEN_OFFSET(cap_unit_group, scores, 56);
CAP_FROZEN_OFFSET(cap_unit_group, linear_role, 64);  // 1.2
CAP_FROZEN_OFFSET(cap_unit_group, head_size, 68);
CAP_FROZEN_OFFSET(cap_unit_group, input_sq_norms, 72);
CAP_FROZEN_OFFSET(cap_unit_group, input_gram, 80);
CAP_FROZEN_OFFSET(cap_unit_group, linears, 88);
CAP_FROZEN_OFFSET(cap_unit_group, linear_count, 96);
CAP_FROZEN_SIZE(cap_selection, 40);
CAP_FROZEN_OFFSET(cap_selection, constraints, 32);
CAP_FROZEN_SIZE(cap_batch_info, 24);
CAP_FROZEN_SIZE(cap_criterion_api, 80);
CAP_FROZEN_OFFSET(cap_criterion_api, select, 40);
CAP_FROZEN_OFFSET(cap_criterion_api, init_scores, 48);
CAP_FROZEN_OFFSET(cap_criterion_api, regularizer, 72);
CAP_FROZEN_SIZE(cap_progress, 48);
CAP_FROZEN_SIZE(cap_schedule_point, 32);
CAP_FROZEN_OFFSET(cap_schedule_point, final_target, 24);  // 1.1
CAP_FROZEN_SIZE(cap_stage, 40);
CAP_FROZEN_SIZE(cap_schedule_api, 40);
CAP_FROZEN_OFFSET(cap_schedule_api, at, 32);
CAP_FROZEN_SIZE(cap_bank, 48);
CAP_FROZEN_OFFSET(cap_bank, representations, 32);
CAP_FROZEN_SIZE(cap_contrastive_batch, 40);
CAP_FROZEN_SIZE(cap_loss_terms, 32);
CAP_FROZEN_SIZE(cap_contrastive_api, 40);
CAP_FROZEN_OFFSET(cap_contrastive_api, memory, 32);
CAP_FROZEN_SIZE(cap_distill_batch, 48);
CAP_FROZEN_SIZE(cap_distill_api, 16);
CAP_FROZEN_OFFSET(cap_distill_api, loss, 8);

extern "C" size_t cap_test_c_layout(int index);

TEST_CASE("ABI: the C compiler and the C++ compiler agree on every struct layout") {
    // Laid out by hand: the same pairs, in the same order, as support/abi_layout_c.c.
    // clang-format off
    const size_t cpp[] = {
        sizeof(cap_status), offsetof(cap_status, release),
        sizeof(cap_option_spec), offsetof(cap_option_spec, choices),
        sizeof(cap_host_api), offsetof(cap_host_api, option_float_list),
        sizeof(cap_exec_context), offsetof(cap_exec_context, num_threads),
        sizeof(cap_model_shape), sizeof(cap_constraints),
        sizeof(cap_plugin_descriptor), offsetof(cap_plugin_descriptor, functions),
        sizeof(cap_backend_probe), sizeof(cap_precision_policy), sizeof(cap_memory_info),
        sizeof(cap_backend_api), offsetof(cap_backend_api, describe),
        sizeof(cap_criterion_info), sizeof(cap_unit_group), sizeof(cap_selection),
        sizeof(cap_criterion_api), offsetof(cap_criterion_api, regularizer),
        sizeof(cap_progress), sizeof(cap_schedule_point), sizeof(cap_stage),
        sizeof(cap_schedule_api), offsetof(cap_schedule_api, at),
        sizeof(cap_bank), sizeof(cap_contrastive_batch), sizeof(cap_loss_terms),
        sizeof(cap_contrastive_api), offsetof(cap_contrastive_api, memory),
        sizeof(cap_distill_api), offsetof(cap_distill_api, loss), sizeof(cap_distill_batch), sizeof(cap_batch_info),
        offsetof(cap_host_api, make_status), offsetof(cap_unit_group, input_sq_norms), offsetof(cap_unit_group, linear_count)};
    // clang-format on
    const int n = static_cast<int>(sizeof(cpp) / sizeof(cpp[0]));
    for (int i = 0; i < n; ++i) {
        CAPTURE(i);
        CHECK(cap_test_c_layout(i) == cpp[i]);
    }
    CHECK(cap_test_c_layout(n) == static_cast<size_t>(-1));  // same number of entries
}

TEST_CASE("ABI: CAP_HAS_FIELD tells an older caller's struct from a newer one") {
    cap_stage full{};
    full.struct_size = sizeof(cap_stage);
    CHECK(CAP_HAS_FIELD(&full, cap_stage, retrain_epochs));
    cap_stage older{};
    older.struct_size = offsetof(cap_stage, retrain_epochs);  // a struct from before that field
    CHECK_FALSE(CAP_HAS_FIELD(&older, cap_stage, retrain_epochs));
    CHECK(CAP_HAS_FIELD(&older, cap_stage, ffn_to_prune));
}
