#include "prune/objective.hpp"

#include <ATen/ATen.h>

#include <stdexcept>

#include "cap/plugin_torch.hpp"

namespace cap::prune {

Objective::Objective(const data::Task& task, double ce_weight, model::Pooling pooling,
                     const host::DistillPlugin* distill, std::vector<ContrastiveModule>& modules,
                     const TrainingSetEncoding* teacher, cap_exec_context context)
    : task_(task),
      ce_weight_(ce_weight),
      pooling_(pooling),
      distill_(distill),
      modules_(modules),
      teacher_(teacher),
      context_(context) {
    if (distill_ && !teacher_) throw std::invalid_argument("distillation needs the teacher's logits");
}

double Objective::distill(const at::Tensor& student, const at::Tensor& teacher, const at::Tensor& labels,
                          const at::Tensor& valid, const cap_progress& progress, at::Tensor& surrogate) const {
    at::Tensor s = student.detach().contiguous();
    at::Tensor t = teacher.contiguous();
    at::Tensor grad = at::empty_like(s);
    DLTensor s_view = cap::to_dl(s), t_view = cap::to_dl(t), grad_view = cap::to_dl(grad), labels_view{}, valid_view{};
    cap_distill_batch b{};
    b.struct_size = sizeof(b);
    b.student_logits = &s_view;
    b.teacher_logits = &t_view;
    if (labels.defined()) {
        labels_view = cap::to_dl(labels);
        b.labels = &labels_view;
    }
    if (valid.defined()) {
        valid_view = cap::to_dl(valid);
        b.valid = &valid_view;
    }
    b.progress = &progress;
    const double value = distill_->loss(context_, b, &grad_view);
    surrogate = surrogate + (student * grad).sum();
    return value;
}

train::StepLoss Objective::compute(model::Bert& model, const data::Batch& batch, const model::ForwardOptions& masks,
                                   const cap_progress& progress) const {
    bool contrast = false;
    for (const auto& m : modules_) contrast = contrast || m.banks > 0;
    model::ForwardOptions options = masks;
    options.representation = contrast ? pooling_ : model::Pooling::kNone;
    model::BertOutputs out = model->forward(batch.inputs, options);

    train::StepLoss step;
    at::Tensor ce = train::task_loss(task_, out, batch);
    at::Tensor surrogate = ce * ce_weight_;
    const double ce_value = ce.item<double>();
    step.value = ce_weight_ * ce_value;
    step.terms.emplace_back("ce", ce_value);

    if (distill_) {
        const bool span = task_.head() == model::TaskHead::kSpan;
        double value;
        if (!span) {
            value = distill(
                out.logits,
                teacher_->logits.index_select(0, batch.indices.to(teacher_->logits.device())).to(out.logits.device()),
                batch.labels, at::Tensor(), progress, surrogate);
        } else {
            // Start and end separately, averaged as the reference does.
            const int64_t S = out.start_logits.size(1);
            at::Tensor valid = batch.inputs.attention_mask.to(at::kFloat).contiguous();
            at::Tensor half_surrogate = at::zeros({}, out.start_logits.options());
            const double v_start =
                distill(out.start_logits,
                        gather_positions(teacher_->start_logits, batch.indices, S).to(out.start_logits.device()),
                        batch.start_positions, valid, progress, half_surrogate);
            const double v_end = distill(
                out.end_logits, gather_positions(teacher_->end_logits, batch.indices, S).to(out.end_logits.device()),
                batch.end_positions, valid, progress, half_surrogate);
            surrogate = surrogate + half_surrogate / 2;
            value = (v_start + v_end) / 2;
        }
        step.value += value;
        step.terms.emplace_back("distill", value);
    }

    if (contrast) {
        at::Tensor anchors = out.representation.detach().contiguous();
        at::Tensor indices = batch.indices.to(anchors.device()).contiguous();
        at::Tensor labels = task_.head() == model::TaskHead::kClassification
                                ? batch.labels.to(anchors.device()).contiguous()
                                : at::Tensor();
        DLTensor a_view = cap::to_dl(anchors), i_view = cap::to_dl(indices), l_view{};
        if (labels.defined()) l_view = cap::to_dl(labels);
        for (const auto& m : modules_) {
            if (m.banks == 0) continue;
            at::Tensor grad = at::empty_like(anchors);
            DLTensor g_view = cap::to_dl(grad);
            cap_contrastive_batch b{};
            b.struct_size = sizeof(b);
            b.anchors = &a_view;
            b.indices = &i_view;
            b.labels = labels.defined() ? &l_view : nullptr;
            b.progress = &progress;
            const cap_loss_terms t = m.plugin->loss(context_, b, &g_view);
            surrogate = surrogate + (out.representation * grad).sum();
            step.value += t.total;
            step.terms.emplace_back(m.name + ".unsupervised", t.unsupervised);
            step.terms.emplace_back(m.name + ".supervised", t.supervised);
        }
    }
    step.loss = surrogate;
    return step;
}

}  // namespace cap::prune
