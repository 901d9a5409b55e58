/*
 * Distillation kind: a loss between the student's logits and the fine-tuned teacher's.
 *
 * A sibling of the contrastive kind rather than a member: it needs no bank and works on logits,
 * not on representations. For extractive QA the host calls loss() once for start and once for
 * end logits and averages the two, as the reference does.
 */
#ifndef CAP_DISTILL_H
#define CAP_DISTILL_H

#include "cap/abi.h"
#include "cap/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One batch of logits. Host-owned, borrowed for the call. */
typedef struct cap_distill_batch {
    uint32_t struct_size;
    const DLTensor* student_logits; /* [B, C] float32 */
    const DLTensor* teacher_logits; /* [B, C] float32 */
    const DLTensor* labels;         /* [B] int64 gold labels, or NULL */
    const DLTensor* valid;          /* [B, C] float32 1/0 mask of positions that count (e.g. the
                                       tokens of a QA window), or NULL: all count */
    const cap_progress* progress;   /* where training is, or NULL */
} cap_distill_batch;

typedef struct cap_distill_api {
    uint32_t struct_size;
    /* Computes the weighted loss of the batch, writes it to *value and d value / d
     * student_logits into grad_student (host-allocated, [B, C] float32). Required. The run's
     * thread, every step; `batch` is borrowed, `value` and `grad_student` are host-owned. */
    cap_status* (*loss)(void* self, const cap_exec_context* ctx, const cap_distill_batch* batch,
                        double* value, DLTensor* grad_student);
} cap_distill_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_DISTILL_H */
