/*
 * Criterion kind: decides which units to prune.
 *
 * Units come in groups. Structured criteria see two groups, `heads` ([layers, heads]) and `ffn`
 * ([layers, intermediate]); unstructured criteria see one group per encoder weight matrix
 * ([out, in]). Every mask is float32 with 1 = kept, 0 = pruned, on the context's device.
 *
 * Two styles fit this table, and info() says which one a plugin follows:
 *  - importance-based (first-order, taylor, wanda): reset(), accumulate() once per batch of an
 *    importance pass, importance(), then select() writes the new masks; these four entries are
 *    required of such plugins. The host calls them at each stage of a stage schedule (one_shot,
 *    iterative), structured or (ABI 1.3) unstructured;
 *  - score-based (movement, soft movement): the host trains one score tensor per group and calls
 *    binarize() in every forward pass (required of such plugins); regularizer() adds a penalty
 *    on the scores.
 * Every call that takes groups receives every group of the model at once, so a criterion can
 * rank globally (e.g. global top-k).
 *
 * ABI 1.2: what a structured criterion can see of the weights. When its needs ask for weights,
 * weight gradients or input statistics, the `heads` group's `linears` are the query, key, value
 * and attention-output linears of every layer and the `ffn` group's the intermediate and output
 * linears, in layer order, each a cap_unit_group of unit_kind CAP_UNITS_WEIGHTS with its
 * linear_role. Weights are [out_features, in_features] as in PyTorch. Head h of layer l owns
 * rows [h * head_size, (h + 1) * head_size) of that layer's query, key and value weights and the
 * same columns of its attention-output weight; FFN neuron j owns row j of the intermediate
 * weight and column j of the output weight. That is all the BERT a plugin needs.
 *
 * ABI 1.3: an unstructured, importance-based criterion's groups are the linears themselves, each
 * with its mask (pruned weights stay 0 in the pass's forward), its weight, and, per batch in
 * accumulate(), the weight gradient (zero where pruned) and input statistics its needs ask for.
 * selection->keep_fraction is the fraction of all masked weights to keep after the event.
 */
#ifndef CAP_CRITERION_H
#define CAP_CRITERION_H

#include "cap/abi.h"
#include "cap/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cap_granularity {
    CAP_GRANULARITY_STRUCTURED = 1,  /* attention heads and FFN neurons */
    CAP_GRANULARITY_UNSTRUCTURED = 2 /* individual weights of the encoder linears */
} cap_granularity;

/* What the host must put in each cap_unit_group it passes to accumulate() and select(). */
typedef enum cap_criterion_needs {
    CAP_NEEDS_MASK_GRADS = 1u << 0,   /* d loss / d mask for the batch */
    CAP_NEEDS_WEIGHTS = 1u << 1,      /* the weight the mask multiplies */
    CAP_NEEDS_WEIGHT_GRADS = 1u << 2, /* d loss / d weight for the batch */
    CAP_NEEDS_SCORES = 1u << 3,       /* learnable scores, trained by the host's optimizer */
    /* ABI 1.2, importance-based criteria (unstructured ones from 1.3): per linear, the sum over
     * the batch's non-padding tokens of x_k^2 for each input feature k (the squared column norms
     * of the input X) */
    CAP_NEEDS_INPUT_NORMS = 1u << 4,
    CAP_NEEDS_INPUT_GRAM = 1u << 5 /* ABI 1.2, importance-based: per linear, X^T X [in, in] */
} cap_criterion_needs;

/* ABI 1.2: which linear of an encoder layer a CAP_UNITS_WEIGHTS group is. */
typedef enum cap_linear_role {
    CAP_LINEAR_QUERY = 1,            /* attention.self.query: [hidden, hidden] */
    CAP_LINEAR_KEY = 2,              /* attention.self.key */
    CAP_LINEAR_VALUE = 3,            /* attention.self.value */
    CAP_LINEAR_ATTENTION_OUTPUT = 4, /* attention.output.dense: [hidden, hidden] */
    CAP_LINEAR_INTERMEDIATE = 5,     /* intermediate.dense: [intermediate, hidden] */
    CAP_LINEAR_OUTPUT = 6            /* output.dense: [hidden, intermediate] */
} cap_linear_role;

typedef struct cap_criterion_info {
    uint32_t struct_size;
    int32_t granularity;         /* cap_granularity */
    uint32_t needs;              /* cap_criterion_needs bits */
    int32_t score_based;         /* 1: binarize() gives the forward mask every step */
    double scores_learning_rate; /* score-based: the scores' own learning rate (0: see below) */
    /* ABI 1.2: 1 = scores_learning_rate is the rate as given, so 0 freezes the scores; 0 (what
     * every 1.0/1.1 plugin leaves here) = a scores_learning_rate of 0 means the model's rate. */
    int32_t scores_learning_rate_literal;
} cap_criterion_info;

typedef enum cap_unit_kind {
    CAP_UNITS_HEADS = 1,       /* [layers, heads] */
    CAP_UNITS_FFN_NEURONS = 2, /* [layers, intermediate] */
    CAP_UNITS_WEIGHTS = 3      /* [out_features, in_features] of one linear */
} cap_unit_kind;

/* One group of prunable units and the evidence about it. Host-owned, borrowed for the call.
 * Fields the criterion did not ask for (see needs) may be NULL. */
typedef struct cap_unit_group {
    uint32_t struct_size;
    const char* name;  /* "heads", "ffn", or e.g. "encoder.layer.3.attention.self.query" */
    int32_t unit_kind; /* cap_unit_kind */
    int32_t layer;     /* layer index, or -1 when the group spans layers */
    const DLTensor*
        mask; /* current mask; never NULL, except for the linears of a structured group */
    const DLTensor* mask_grad;
    const DLTensor* weight;      /* [out, in] float32, the parameter itself: read, never write */
    const DLTensor* weight_grad; /* d loss / d weight of this batch (accumulate() only) */
    const DLTensor* scores;
    /* ABI 1.2 (read with CAP_HAS_FIELD; the C++ helper's Groups does). */
    int32_t linear_role; /* cap_linear_role of a CAP_UNITS_WEIGHTS group; 0 otherwise */
    int32_t head_size;   /* heads group and attention linears: query/key/value rows per head */
    const DLTensor* input_sq_norms; /* [in] float32 of this batch (CAP_NEEDS_INPUT_NORMS) */
    const DLTensor* input_gram;     /* [in, in] float32 of this batch (CAP_NEEDS_INPUT_GRAM) */
    /* Structured groups whose criterion needs weights, weight gradients or input statistics:
     * the linears holding the units' weights (see the top of this file); else NULL and 0. */
    const struct cap_unit_group* const* linears;
    uint32_t linear_count;
} cap_unit_group;

/* What one pruning event must achieve. Host-owned, borrowed for the call. */
typedef struct cap_selection {
    uint32_t struct_size;
    int64_t heads_to_prune;             /* structured: heads to prune newly in this event */
    int64_t ffn_to_prune;               /* structured: FFN neurons to prune newly in this event */
    double keep_fraction;               /* unstructured: fraction of weights kept after the event */
    const cap_constraints* constraints; /* limits to respect; never NULL */
} cap_selection;

/* The batch behind one accumulate() call. Host-owned, borrowed for the call. */
typedef struct cap_batch_info {
    uint32_t struct_size;
    int64_t examples; /* examples (or SQuAD features) in the batch */
    int64_t tokens;   /* non-padding tokens in the batch */
} cap_batch_info;

typedef struct cap_criterion_api {
    uint32_t struct_size;
    /* Fills what the criterion is and needs; `out` is host-owned. The only entry every
     * criterion must have; the host then requires the entries of the style it declares. The
     * run's thread (validation's too), after create(). */
    cap_status* (*info)(void* self, cap_criterion_info* out);
    /* Importance-based: forgets accumulated importance; called before each importance pass.
     * The run's thread; the criterion frees or keeps its own state. */
    cap_status* (*reset)(void* self);
    /* Importance-based: adds one batch's evidence to the running importance. The run's
     * thread; groups and their tensors are borrowed for the call (copy what you keep). */
    cap_status* (*accumulate)(void* self, const cap_exec_context* ctx, const cap_batch_info* batch,
                              const cap_unit_group* const* groups, uint32_t count);
    /* Importance-based: writes the accumulated importance of each group into out[i]
     * (host-allocated, float32, the shape of groups[i]->mask). Higher = more important.
     * The run's thread; groups borrowed, outputs host-owned. */
    cap_status* (*importance)(void* self, const cap_exec_context* ctx,
                              const cap_unit_group* const* groups, uint32_t count,
                              DLTensor* const* out);
    /* Importance-based: writes the masks after this event into new_masks[i] (host-allocated,
     * float32, the shape of groups[i]->mask). Units pruned before stay pruned. The run's
     * thread; `selection` and groups borrowed, outputs host-owned. */
    cap_status* (*select)(void* self, const cap_exec_context* ctx, const cap_selection* selection,
                          const cap_unit_group* const* groups, uint32_t count,
                          DLTensor* const* new_masks);
    /* Score-based only (else NULL): writes each group's initial scores into out[i]
     * (host-allocated, float32, the shape of groups[i]->mask). NULL: scores start at zero.
     * The run's thread, once; groups borrowed, outputs host-owned. */
    cap_status* (*init_scores)(void* self, const cap_exec_context* ctx,
                               const cap_unit_group* const* groups, uint32_t count,
                               DLTensor* const* out);
    /* Score-based: forward binarization of groups[i]->scores into masks_out[i]
     * (host-allocated, float32) at the schedule's `point` (its target_kind says whether
     * point->target is a kept fraction or a score threshold) and `progress`. Every step, on
     * the run's thread; inputs borrowed, outputs host-owned. */
    cap_status* (*binarize)(void* self, const cap_exec_context* ctx,
                            const cap_schedule_point* point, const cap_progress* progress,
                            const cap_unit_group* const* groups, uint32_t count,
                            DLTensor* const* masks_out);
    /* Optional: gradient of the loss w.r.t. the scores from the gradient w.r.t. the masks,
     * written into grad_scores[i] (host-allocated). NULL: straight-through (identity). Every
     * step, on the run's thread; inputs borrowed, outputs host-owned. */
    cap_status* (*binarize_backward)(void* self, const cap_exec_context* ctx,
                                     const cap_schedule_point* point, const cap_progress* progress,
                                     const cap_unit_group* const* groups, uint32_t count,
                                     const DLTensor* const* grad_masks,
                                     DLTensor* const* grad_scores);
    /* Optional: penalty on the scores at `point` and `progress`, weight included (e.g. the
     * ramped lambda_t times the L1 of sigmoid(scores)): writes its value and its gradient
     * w.r.t. groups[i]->scores into grad_scores[i] (host-allocated, float32). NULL: none.
     * Every step, on the run's thread; inputs borrowed, `value` and outputs host-owned. */
    cap_status* (*regularizer)(void* self, const cap_exec_context* ctx,
                               const cap_schedule_point* point, const cap_progress* progress,
                               const cap_unit_group* const* groups, uint32_t count, double* value,
                               DLTensor* const* grad_scores);
} cap_criterion_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_CRITERION_H */
