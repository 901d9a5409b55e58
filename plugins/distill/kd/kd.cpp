// distill/kd: knowledge distillation on logits, as the reference computes it:
//   weight * T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch
// (PyTorch's kl_div with reduction "batchmean"). The gradient is analytic:
//   d/d student = weight * T * (softmax(student / T) - softmax(teacher / T)) / B.
#include "cap/plugin_torch.hpp"

namespace {

class KnowledgeDistillation : public cap::Distiller {
public:
    static cap::Metadata metadata() {
        return {"kd", "1.0.0", "KL divergence to the fine-tuned teacher's softened logits",
                {cap::Option::Float("weight", 0.9, "weight of this term in the training loss").min(0),
                 cap::Option::Float("temperature", 1.0, "softmax temperature T (CAP-f uses 1, CAP-m/soft 2)")
                     .range(1e-6, 1e6)}};
    }

    KnowledgeDistillation(const cap::Host&, const cap::Options& options)
        : weight_(options.get_float("weight")), temperature_(options.get_float("temperature")) {}

    double loss(const cap_exec_context&, const DLTensor& student_logits, const DLTensor& teacher_logits,
                DLTensor* grad_student) override {
        at::Tensor s = cap::expect(&student_logits, at::kFloat, 2, "student_logits");
        at::Tensor t = cap::expect(&teacher_logits, at::kFloat, 2, "teacher_logits");
        if (!s.sizes().equals(t.sizes()))
            cap::fail("student logits " + c10::str(s.sizes()) + " and teacher logits " +
                      c10::str(t.sizes()) + " differ in shape");
        const double T = temperature_;
        const auto batch = static_cast<double>(s.size(0));
        at::Tensor log_q = at::log_softmax(s / T, 1);
        at::Tensor log_p = at::log_softmax(t / T, 1);
        at::Tensor p = log_p.exp();
        const double kl = (p * (log_p - log_q)).sum().item<double>() / batch;
        if (grad_student) cap::write(grad_student, (log_q.exp() - p) * (weight_ * T / batch));
        return weight_ * T * T * kl;
    }

private:
    double weight_;
    double temperature_;
};

}  // namespace

CAP_PLUGIN(KnowledgeDistillation)
