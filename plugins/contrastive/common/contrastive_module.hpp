// The plugin class behind contrastive/prc, snc and fic: they differ only in the model that
// fills their bank (cap_capture_source), so each is this class with its source and defaults.
// Options and the two reference quirks (docs/algorithms.md §8) are documented in metadata().
#pragma once

#include <random>
#include <string>
#include <unordered_set>

#include "cap/plugin_torch.hpp"
#include "contrastive_loss.hpp"

namespace cap::contrastive {

struct ModuleTraits {
    const char* name;
    const char* summary;
    uint32_t source;  // one cap_capture_source bit
};

template <const ModuleTraits& Traits>
class Module : public cap::Contrastive {
public:
    static cap::Metadata metadata() {
        return {
            Traits.name,
            "1.0.0",
            Traits.summary,
            {cap::Option::Float("temperature", 0.1, "softmax temperature (CAP-f GLUE 0.1, SQuAD 0.3)").range(1e-4, 100),
             cap::Option::Float("unsupervised_weight", 0.3, "weight of the unsupervised term").min(0),
             cap::Option::Float("supervised_weight", 3.0, "weight of the supervised term (0: off)").min(0),
             cap::Option::Int("extra_negatives", 4096,
                              "examples sampled from the whole training set as extra keys, split "
                              "over the bank's slices (E // r examples of r slices)")
                 .min(0),
             cap::Option::String("bank_dtype", "float32", "storage of the bank (float16 halves its memory)")
                 .choices({"float32", "float16"}),
             cap::Option::Bool("exclude_batch_from_negatives", false,
                               "sample extra keys among examples outside the batch (the reference "
                               "samples from all, so an anchor's own example can come back as a positive)"),
             cap::Option::Bool("undo_snapshot_scaling", false,
                               "average over anchors instead of dividing by the positive count (the "
                               "reference's unsupervised term shrinks as 1/r with r snapshots)")}};
    }

    Module(const cap::Host& host, const cap::Options& options)
        : host_(host),
          extra_(options.get_int("extra_negatives")),
          half_(options.get_string("bank_dtype") == "float16"),
          exclude_batch_(options.get_bool("exclude_batch_from_negatives")),
          seed_(host.seed(Traits.name)) {
        settings_.temperature = options.get_float("temperature");
        settings_.unsupervised_weight = options.get_float("unsupervised_weight");
        settings_.supervised_weight = options.get_float("supervised_weight");
        settings_.per_anchor_mean = options.get_bool("undo_snapshot_scaling");
    }

    uint32_t wants() override { return Traits.source; }

    void receive_bank(const cap_exec_context&, const cap_bank& bank, cap::ManagedTensor representations) override {
        if (bank.source != Traits.source) cap::fail("received a bank from a source this module did not ask for");
        at::Tensor r = cap::to_aten(std::move(representations));
        if (r.dim() != 2 || r.scalar_type() != at::kFloat) cap::fail("representations must be [N, H] float32");
        if (!slices_.empty() && (r.size(0) != slices_[0].size(0) || r.size(1) != slices_[0].size(1)))
            cap::fail("bank of shape " + c10::str(r.sizes()) + " does not match the earlier " +
                      c10::str(slices_[0].sizes()));
        if (Traits.source != CAP_CAPTURE_SNAPSHOT) slices_.clear();  // PrC, FiC: one slice, the latest
        slices_.push_back(half_ ? r.to(at::kHalf) : r);              // float32: kept without a copy
        if (bank.labels)
            labels_ = cap::expect(bank.labels, at::kLong, 1, "labels").clone();
        else
            labels_ = at::Tensor();
    }

    cap_loss_terms loss(const cap_exec_context&, const cap_contrastive_batch& batch, const cap_progress& progress,
                        DLTensor* grad) override {
        if (slices_.empty()) cap::fail(std::string(Traits.name) + ": loss() before any bank was received");
        at::Tensor anchors = cap::expect(batch.anchors, at::kFloat, 2, "anchors");
        at::Tensor idx = cap::expect(batch.indices, at::kLong, 1, "indices");
        at::Tensor labels = batch.labels ? cap::expect(batch.labels, at::kLong, 1, "labels") : at::Tensor();
        const int64_t n = slices_[0].size(0);
        if (idx.numel() != anchors.size(0)) cap::fail("indices and anchors differ in length");
        // The batch's indices are few: one copy to the host serves both the range check and the
        // exclusion of the batch from the extra negatives (the loss's values are the other read-back).
        const at::Tensor host_idx = idx.to(at::kCPU).contiguous();
        const int64_t* ids = host_idx.data_ptr<int64_t>();
        for (int64_t i = 0; i < host_idx.numel(); ++i)
            if (ids[i] < 0 || ids[i] >= n)
                cap::fail("an anchor's index is outside the bank (" + std::to_string(n) + " rows)");

        // The same step always draws the same extras, so a resumed run repeats them.
        std::mt19937_64 rng(seed_ ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(progress.step + 1)));
        std::unordered_set<int64_t> excluded;
        if (exclude_batch_) excluded.insert(ids, ids + host_idx.numel());
        const auto r = static_cast<int64_t>(slices_.size());
        at::Tensor extra = sample_extra(n, extra_ / r, excluded, rng).to(anchors.device());

        const KeySet keys = build_keys(anchors, idx, labels, slices_, labels_, extra);
        LossValue v = contrastive_loss(anchors, idx, labels, keys, settings_);
        if (grad) cap::write(grad, v.grad_anchors);
        cap_loss_terms t{};
        t.struct_size = sizeof(t);
        t.unsupervised = v.unsupervised;
        t.supervised = v.supervised;
        t.total = v.unsupervised + v.supervised;
        return t;
    }

    uint64_t memory() override {
        uint64_t bytes = labels_.defined() ? static_cast<uint64_t>(labels_.numel() * labels_.element_size()) : 0;
        for (const auto& s : slices_) bytes += static_cast<uint64_t>(s.numel() * s.element_size());
        return bytes;
    }

private:
    cap::Host host_;
    LossSettings settings_;
    int64_t extra_;
    bool half_;
    bool exclude_batch_;
    uint64_t seed_;
    std::vector<at::Tensor> slices_;  // r tensors [N, H]
    at::Tensor labels_;               // [N] or undefined
};

}  // namespace cap::contrastive
