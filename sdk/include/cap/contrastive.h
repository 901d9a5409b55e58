/*
 * Contrastive kind: a loss that pulls the student's representation of an example towards
 * representations of the same example (and, supervised, of the same label) that a reference
 * model produced, and away from the rest. PrC, SnC and FiC are three plugins of this kind that
 * differ in which reference model fills their bank.
 *
 * Representations are rows of length H (the hidden size), L2-normalised by the host, so a dot
 * product is a cosine. Bank row i always belongs to training example i.
 */
#ifndef CAP_CONTRASTIVE_H
#define CAP_CONTRASTIVE_H

#include "cap/abi.h"
#include "cap/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which models the host should encode the training set with, for this module. */
typedef enum cap_capture_source {
    CAP_CAPTURE_PRETRAINED = 1u << 0, /* the pre-trained model, once, before any pruning */
    CAP_CAPTURE_FINETUNED = 1u << 1,  /* the fine-tuned teacher, once */
    CAP_CAPTURE_SNAPSHOT = 1u << 2    /* the student at each snapshot point (stage or epoch) */
} cap_capture_source;

/* One captured representation bank. The struct and `labels` are borrowed for the call;
 * `representations` is handed over: the module owns it from the call on (whether the call
 * succeeds or not) and calls its deleter when done with it. The host shares one capture
 * between the modules that asked for it, so keeping it costs no copy. */
typedef struct cap_bank {
    uint32_t struct_size;
    uint32_t source;                  /* one cap_capture_source bit */
    int32_t snapshot_index;           /* 0, 1, ... for snapshots; -1 otherwise */
    int64_t step;                     /* optimizer step at capture time */
    double sparsity;                  /* fraction of prunable units pruned in the captured model */
    DLManagedTensor* representations; /* [N, H] float32, owned by the module from now on */
    const DLTensor* labels;           /* [N] int64 class ids, or NULL (e.g. extractive QA) */
} cap_bank;

/* One training batch of anchors. Host-owned, borrowed for the call. */
typedef struct cap_contrastive_batch {
    uint32_t struct_size;
    const DLTensor* anchors;      /* [B, H] float32: the student's representations */
    const DLTensor* indices;      /* [B] int64: training-example index of each anchor */
    const DLTensor* labels;       /* [B] int64, or NULL when the task has no class labels */
    const cap_progress* progress; /* where training is; progress->step seeds negative sampling */
} cap_contrastive_batch;

/* The loss of one batch, weights already applied: total = unsupervised + supervised. */
typedef struct cap_loss_terms {
    uint32_t struct_size;
    double total;
    double unsupervised;
    double supervised;
} cap_loss_terms;

typedef struct cap_contrastive_api {
    uint32_t struct_size;
    /* Writes the cap_capture_source bits this module wants banks for. Required. The run's
     * thread, once after create(); `sources` is host-owned. */
    cap_status* (*wants)(void* self, uint32_t* sources);
    /* Hands over one bank (see cap_bank for what the module then owns). Called once per
     * capture event the module asked for, snapshots in order. Required. The run's thread;
     * `bank->representations` becomes the module's, everything else is borrowed. */
    cap_status* (*receive_bank)(void* self, const cap_exec_context* ctx, const cap_bank* bank);
    /* Computes the loss of a batch and writes d total / d anchors into grad_anchors
     * (host-allocated, [B, H] float32). Required. The run's thread, every step; `batch` is
     * borrowed for the call, `out` and `grad_anchors` are host-owned. */
    cap_status* (*loss)(void* self, const cap_exec_context* ctx, const cap_contrastive_batch* batch,
                        cap_loss_terms* out, DLTensor* grad_anchors);
    /* Writes the bytes the module's banks occupy. Required. The run's thread; `bytes` is
     * host-owned. */
    cap_status* (*memory)(void* self, uint64_t* bytes);
} cap_contrastive_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_CONTRASTIVE_H */
