// The contrastive loss of one bank, exactly as the reference computes it (docs/algorithms.md §4),
// shared by contrastive/prc, snc and fic. Header-only so tests can check it directly.
//
// Keys, for a batch of B anchors with r bank slices: every anchor's own current vector
// (detached), its r bank vectors, then r vectors of each of E extra examples. Scores are
// anchor . key / T with the anchor's own copy set to -1e6; log p is the log-softmax over all
// keys. Positives: same training index (unsupervised) or same label (supervised), self copy
// excluded. Each term is -w * sum_i mean_{k in P(i)} log p_ik divided by the total positive
// count (the reference's normalisation: for r slices the unsupervised term shrinks as 1/r).
// The gradient w.r.t. the anchors is analytic, with keys treated as constants.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace cap::contrastive {

struct LossSettings {
    double temperature = 0.1;
    double unsupervised_weight = 0.3;
    double supervised_weight = 3.0;
    // false (reference): divide by the total positive count; true: mean over anchors with a
    // positive, so a bank of r snapshots weighs as much as a bank of one.
    bool per_anchor_mean = false;
};

struct LossValue {
    double unsupervised = 0;
    double supervised = 0;
    at::Tensor grad_anchors;  // [B, H] float32, d (unsupervised + supervised) / d anchors
};

struct KeySet {
    at::Tensor keys;    // [K, H] float32
    at::Tensor index;   // [K] int64 training index of each key
    at::Tensor labels;  // [K] int64, or undefined
};

// The keys for anchors with training indices `idx` (and `labels`, may be undefined), banks
// `slices` (r tensors [N, H], float32 or float16), bank labels (may be undefined), and the
// sampled extra examples `extra` [E].
inline KeySet build_keys(const at::Tensor& anchors, const at::Tensor& idx, const at::Tensor& labels,
                         const std::vector<at::Tensor>& slices, const at::Tensor& bank_labels,
                         const at::Tensor& extra) {
    std::vector<at::Tensor> keys{anchors.detach()}, index{idx}, key_labels;
    const bool supervised = labels.defined() && bank_labels.defined();
    if (supervised) key_labels.push_back(labels);
    for (const auto& s : slices) {
        keys.push_back(s.index_select(0, idx).to(at::kFloat));
        index.push_back(idx);
        if (supervised) key_labels.push_back(labels);
    }
    at::Tensor extra_labels = supervised ? bank_labels.index_select(0, extra) : at::Tensor();
    for (const auto& s : slices) {
        keys.push_back(s.index_select(0, extra).to(at::kFloat));
        index.push_back(extra);
        if (supervised) key_labels.push_back(extra_labels);
    }
    return {at::cat(keys, 0), at::cat(index, 0), supervised ? at::cat(key_labels, 0) : at::Tensor()};
}

namespace detail {

// Coefficients c_ik of log p_ik in one term; `value` receives the term as a 0-d tensor, left on
// the device so that a loss reads its terms back once. positives is [B, K] bool.
inline at::Tensor term_coefficients(const at::Tensor& positives, const at::Tensor& log_p, double weight,
                                    bool per_anchor_mean, at::Tensor& value) {
    at::Tensor pos = positives.to(at::kFloat);
    at::Tensor count = pos.sum(1);  // |P(i)|
    at::Tensor has = count > 0;
    at::Tensor inv = at::where(has, 1.0 / count.clamp_min(1), at::zeros_like(count));
    // No positive at all: every coefficient is 0 whatever the denominator, so clamping it to 1
    // gives the 0 loss without asking the host.
    at::Tensor denominator = (per_anchor_mean ? has.sum() : count.sum()).to(at::kFloat).clamp_min(1);
    at::Tensor coeff = pos * inv.unsqueeze(1) * (-weight / denominator);
    value = (coeff * log_p.masked_fill(positives.logical_not(), 0)).sum();
    return coeff;
}

}  // namespace detail

// The loss of anchors [B, H] (L2-normalised) against `keys`, the first B keys being the anchors'
// own copies in order.
inline LossValue contrastive_loss(const at::Tensor& anchors, const at::Tensor& idx, const at::Tensor& labels,
                                  const KeySet& k, const LossSettings& s) {
    const int64_t B = anchors.size(0);
    at::Tensor scores = at::matmul(anchors, k.keys.t()) / s.temperature;  // [B, K]
    at::Tensor self = at::zeros_like(scores, at::kBool);
    self.slice(1, 0, B).fill_diagonal_(true);
    scores = scores.masked_fill(self, -1e6);
    at::Tensor log_p = at::log_softmax(scores, 1);
    at::Tensor not_self = self.logical_not();

    LossValue out;
    at::Tensor coeff = at::zeros_like(scores);
    at::Tensor zero = at::zeros({}, scores.options());
    at::Tensor unsupervised = zero, supervised = zero;
    if (s.unsupervised_weight != 0) {
        at::Tensor pos = idx.unsqueeze(1).eq(k.index.unsqueeze(0)).logical_and(not_self);
        coeff += detail::term_coefficients(pos, log_p, s.unsupervised_weight, s.per_anchor_mean, unsupervised);
    }
    if (s.supervised_weight != 0 && labels.defined() && k.labels.defined()) {
        at::Tensor pos = labels.unsqueeze(1).eq(k.labels.unsqueeze(0)).logical_and(not_self);
        coeff += detail::term_coefficients(pos, log_p, s.supervised_weight, s.per_anchor_mean, supervised);
    }
    const at::Tensor values = at::stack({unsupervised, supervised}).to(at::kCPU, at::kDouble).contiguous();
    out.unsupervised = values.data_ptr<double>()[0];  // both terms in one read-back
    out.supervised = values.data_ptr<double>()[1];
    // L = sum c_ik log p_ik  =>  dL/ds_ik = c_ik - (sum_k c_ik) softmax_ik; the masked self
    // score is a constant and passes no gradient.
    at::Tensor g = coeff - coeff.sum(1, true) * log_p.exp();
    g = g.masked_fill(self, 0);
    out.grad_anchors = at::matmul(g, k.keys) / s.temperature;
    return out;
}

// E distinct indices drawn uniformly from [0, n) without `excluded` (Floyd's algorithm, so the
// cost is O(E) whatever n is); fewer when fewer exist. Deterministic in `rng`.
template <class Rng>
at::Tensor sample_extra(int64_t n, int64_t count, const std::unordered_set<int64_t>& excluded, Rng& rng) {
    const int64_t pool = n - static_cast<int64_t>(excluded.size());
    count = std::max<int64_t>(0, std::min(count, pool));
    // Draw positions in the pool of non-excluded indices, then map positions to indices.
    std::unordered_set<int64_t> chosen;
    std::vector<int64_t> order;
    order.reserve(static_cast<size_t>(count));
    for (int64_t j = pool - count; j < pool; ++j) {
        const int64_t t = static_cast<int64_t>(rng() % static_cast<uint64_t>(j + 1));
        const int64_t pick = chosen.insert(t).second ? t : j;
        if (pick == j) chosen.insert(j);
        order.push_back(pick);
    }
    std::vector<int64_t> sorted_excluded(excluded.begin(), excluded.end());
    std::sort(sorted_excluded.begin(), sorted_excluded.end());
    for (auto& p : order) {  // position -> index: skip the excluded indices at or below it
        int64_t index = p;
        for (int64_t e : sorted_excluded) {
            if (e <= index)
                ++index;
            else
                break;
        }
        p = index;
    }
    return at::tensor(order, at::kLong);
}

}  // namespace cap::contrastive
