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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cap_distill_api {
    uint32_t struct_size;
    /* Computes the weighted loss between student_logits and teacher_logits (both [B, C]
     * float32, borrowed), writes it to *value and d value / d student_logits into
     * grad_student (host-allocated, [B, C] float32). Required. */
    cap_status* (*loss)(void* self, const cap_exec_context* ctx, const DLTensor* student_logits,
                        const DLTensor* teacher_logits, double* value, DLTensor* grad_student);
} cap_distill_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_DISTILL_H */
