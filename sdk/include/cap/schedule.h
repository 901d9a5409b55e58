/*
 * Schedule kind: how far pruning has gone at each point of training.
 *
 * Iterative schedules (CAP-f) are a list of stages: prune to a target, then retrain for some
 * epochs with a fresh optimizer. Continuous schedules (CAP-m, CAP-soft) have no stages
 * (num_stages = 0) and give a threshold at every step.
 */
#ifndef CAP_SCHEDULE_H
#define CAP_SCHEDULE_H

#include "cap/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where training is. Host-owned, borrowed for the call. Steps and epochs count from 0. */
typedef struct cap_progress {
    uint32_t struct_size;
    int64_t step;        /* optimizer steps taken so far in the whole run */
    int64_t total_steps; /* optimizer steps the whole run will take */
    int64_t epoch;
    int64_t total_epochs;
    int64_t steps_per_epoch;
} cap_progress;

typedef enum cap_target_kind {
    CAP_TARGET_SPARSITY = 1, /* fraction of units pruned, 0..1 */
    CAP_TARGET_THRESHOLD = 2 /* a value the criterion's binarize() interprets */
} cap_target_kind;

/* The schedule's answer at one point of training. Host-owned; the plugin fills it. */
typedef struct cap_schedule_point {
    uint32_t struct_size;
    int32_t target_kind; /* cap_target_kind */
    double target;
    int32_t prune_now; /* 1: run an importance pass and select() before this step */
    int32_t stage;     /* index of the stage this step belongs to; -1 without stages */
    /* ABI 1.1: the target at the end of training, which evaluation binarizes at. The host fills
     * it in the point it passes to a criterion (a schedule need not); 0 from a 1.0 host. */
    double final_target;
} cap_schedule_point;

/* One stage of an iterative plan. Host-owned; the plugin fills it. */
typedef struct cap_stage {
    uint32_t struct_size;
    double target_sparsity; /* fraction of heads and of FFN neurons pruned after the stage */
    int64_t heads_to_prune; /* newly pruned in this stage */
    int64_t ffn_to_prune;   /* newly pruned in this stage */
    double retrain_epochs;  /* epochs of training after the stage's pruning */
} cap_stage;

typedef struct cap_schedule_api {
    uint32_t struct_size;
    /* Tells the schedule the model's shape and the limits; called once after create(), before
     * any other call. Returns an error when the plan cannot be met (e.g. a target prunes more
     * heads than the constraints allow). Required. The run's thread (validation's too); both
     * structs are borrowed for the call. */
    cap_status* (*bind)(void* self, const cap_model_shape* shape,
                        const cap_constraints* constraints);
    /* Writes the number of stages (0 for continuous schedules). Required. The run's thread;
     * `out` is host-owned. */
    cap_status* (*num_stages)(void* self, uint32_t* out);
    /* Fills stage `index` (< num_stages). Required. The run's thread; `out` is host-owned. */
    cap_status* (*stage)(void* self, uint32_t index, cap_stage* out);
    /* Fills the target and whether a pruning event happens at `progress`. Required. The run's
     * thread, every step; `progress` is borrowed, `out` host-owned. */
    cap_status* (*at)(void* self, const cap_progress* progress, cap_schedule_point* out);
} cap_schedule_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_SCHEDULE_H */
