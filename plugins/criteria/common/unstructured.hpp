// Helpers shared by the unstructured criteria (movement, soft_movement, magnitude): top-k
// selection that keeps an exact count, per matrix or across all of them, and score
// initialisation. Header-only; each plugin compiles its own copy, so no symbol is shared.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cap/plugin_torch.hpp"

namespace cap::criteria {

// The count the reference keeps: int(keep_fraction * numel), truncated like Python's int().
inline int64_t kept_count(double keep_fraction, int64_t numel) {
    if (keep_fraction >= 1.0) return numel;
    if (keep_fraction <= 0.0) return 0;
    return static_cast<int64_t>(keep_fraction * static_cast<double>(numel));
}

// Ones at exactly `k` largest entries of `values` (ties broken by the selection, never by
// keeping more), zeros elsewhere; float32, the shape of `values`. A selection (topk unsorted,
// an nth_element on CPU) and not a full sort: this runs for every matrix at every step.
inline at::Tensor top_count_mask(const at::Tensor& values, int64_t k) {
    const int64_t n = values.numel();
    at::Tensor mask = at::zeros({n}, values.options().dtype(at::kFloat));
    if (k >= n) return mask.fill_(1.0).view(values.sizes());
    if (k > 0) {
        at::Tensor idx = std::get<1>(values.reshape(-1).topk(k, /*dim=*/0, /*largest=*/true, /*sorted=*/false));
        mask.index_fill_(0, idx, 1.0);
    }
    return mask.view(values.sizes());
}

// The kept fraction a schedule point asks for: a threshold target is the fraction kept (the
// reference's topK threshold), a sparsity target the fraction pruned.
inline double keep_fraction_of(const cap_schedule_point& point) {
    return point.target_kind == CAP_TARGET_SPARSITY ? 1.0 - point.target : point.target;
}

// Top-k masks of values[i] (one per group): per matrix, or over all matrices at once.
inline std::vector<at::Tensor> top_k_masks(const std::vector<at::Tensor>& values, double keep_fraction, bool global) {
    std::vector<at::Tensor> out;
    if (!global) {
        for (const auto& v : values) out.push_back(top_count_mask(v, kept_count(keep_fraction, v.numel())));
        return out;
    }
    std::vector<at::Tensor> flat;
    for (const auto& v : values) flat.push_back(v.reshape(-1));
    at::Tensor all = at::cat(flat);
    at::Tensor mask = top_count_mask(all, kept_count(keep_fraction, all.numel()));
    int64_t offset = 0;
    for (const auto& v : values) {
        out.push_back(mask.slice(0, offset, offset + v.numel()).view(v.sizes()));
        offset += v.numel();
    }
    return out;
}

// Options and initialisation of learnable scores, as the reference's mask_init / mask_scale.
inline std::vector<cap::Option> score_init_options() {
    return {cap::Option::String("mask_init", "constant",
                                "initial scores: constant (all mask_scale) or uniform (in [-mask_scale, mask_scale])")
                .choices({"constant", "uniform"}),
            cap::Option::Float("mask_scale", 0.0, "the constant, or the half-width of the uniform range")};
}

inline at::Tensor initial_scores(const at::Tensor& like, const std::string& init, double scale, uint64_t seed) {
    if (init == "constant") return at::full_like(like, scale, at::kFloat);
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return at::empty(like.sizes(), at::kFloat).uniform_(-scale, scale, gen).to(like.device());
}

// Base of the criteria that learn one score per weight: the scores' options and learning rate,
// info(), and init_scores() from mask_init / mask_scale.
class LearnedScores : public cap::Criterion {
public:
    static std::vector<cap::Option> options() {
        auto out = score_init_options();
        out.push_back(cap::Option::Float("scores_learning_rate", 1e-2,
                                         "the scores' own learning rate (--mask_scores_learning_rate; 0 freezes "
                                         "them)")
                          .range(0, 10));
        out.push_back(cap::Option::Bool("scores_at_model_rate", false,
                                        "train the scores at the model's learning rate instead of "
                                        "scores_learning_rate"));
        return out;
    }

    LearnedScores(const cap::Host& host, const cap::Options& options, const char* seed_stream)
        : init_(options.get_string("mask_init")),
          scale_(options.get_float("mask_scale")),
          lr_(options.get_float("scores_learning_rate")),
          at_model_rate_(options.get_bool("scores_at_model_rate")),
          seed_(host.seed(seed_stream)) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_UNSTRUCTURED;
        i.needs = CAP_NEEDS_SCORES;
        i.score_based = 1;
        i.scores_learning_rate = at_model_rate_ ? 0.0 : lr_;
        i.scores_learning_rate_literal = at_model_rate_ ? 0 : 1;
        return i;
    }

    void init_scores(const cap_exec_context&, cap::Groups groups, cap::Outputs out) override {
        for (uint32_t i = 0; i < groups.size(); ++i)
            cap::write(out[i], initial_scores(cap::to_aten(groups[i].mask), init_, scale_, seed_ + i));
    }

private:
    std::string init_;
    double scale_, lr_;
    bool at_model_rate_;
    uint64_t seed_;
};

}  // namespace cap::criteria
