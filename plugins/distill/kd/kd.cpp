// distill/kd: knowledge distillation on logits, as the reference computes it:
//   weight * T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch
// (PyTorch's kl_div with reduction "batchmean"). The gradient is analytic:
//   d/d student = weight * T * (softmax(student / T) - softmax(teacher / T)) / B.
#include <cmath>

#include "cap/plugin_torch.hpp"

namespace {

class KnowledgeDistillation : public cap::Distiller {
public:
    static cap::Metadata metadata() {
        return {"kd",
                "1.0.0",
                "KL divergence to the fine-tuned teacher's softened logits",
                {cap::Option::Float("weight", 0.9, "weight of this term in the training loss").min(0),
                 cap::Option::Float("temperature", 1.0, "softmax temperature T (CAP-f uses 1, CAP-m/soft 2)")
                     .range(1e-6, 1e6)}};
    }

    KnowledgeDistillation(const cap::Host&, const cap::Options& options)
        : weight_(options.get_float("weight")), temperature_(options.get_float("temperature")) {}

    double loss(const cap_exec_context&, const cap_distill_batch& batch, DLTensor* grad_student) override {
        at::Tensor s = cap::expect(batch.student_logits, at::kFloat, 2, "student_logits");
        at::Tensor t = cap::expect(batch.teacher_logits, at::kFloat, 2, "teacher_logits");
        if (!s.sizes().equals(t.sizes()))
            cap::fail("student logits " + c10::str(s.sizes()) + " and teacher logits " + c10::str(t.sizes()) +
                      " differ in shape");
        const double T = temperature_;
        const auto rows = static_cast<double>(s.size(0));
        // Positions outside `valid` (padding of a QA window) take no part: -inf logits give them
        // zero probability on both sides. The reference uses no mask (all positions count).
        if (batch.valid) {
            at::Tensor valid = cap::expect(batch.valid, at::kFloat, 2, "valid");
            if (!valid.sizes().equals(s.sizes())) cap::fail("valid mask shape differs from the logits");
            s = s.masked_fill(valid == 0, -INFINITY);
            t = t.masked_fill(valid == 0, -INFINITY);
        }
        at::Tensor log_q = at::log_softmax(s / T, 1);
        at::Tensor log_p = at::log_softmax(t / T, 1);
        at::Tensor p = log_p.exp();
        at::Tensor terms = at::where(p > 0, p * (log_p - log_q), at::zeros_like(p));
        const double kl = terms.sum().item<double>() / rows;
        if (grad_student) cap::write(grad_student, (log_q.exp() - p) * (weight_ * T / rows));
        return weight_ * T * T * kl;
    }

private:
    double weight_;
    double temperature_;
};

}  // namespace

CAP_PLUGIN(KnowledgeDistillation)
