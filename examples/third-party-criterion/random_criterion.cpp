// criteria/random, shipped by a third party: scores every head and FFN neuron at random and
// prunes the lowest, the usual lower bound that a real criterion must beat.
//
// It uses only the installed SDK (cap/plugin.hpp, no LibTorch): tensors arrive as DLPack views
// of float32 CPU memory, which this plugin reads and writes directly.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "cap/plugin.hpp"

namespace {

// A float32 CPU tensor of the expected rank, as (rows, cols) with row-major access.
struct Matrix {
    float* data;
    int64_t rows, cols;
    int64_t row_stride, col_stride;
    float& at(int64_t r, int64_t c) const { return data[r * row_stride + c * col_stride]; }
};

Matrix matrix(const DLTensor* t, const char* what) {
    if (!t) cap::fail(std::string(what) + ": missing tensor");
    if (t->device.device_type != kDLCPU)
        cap::fail(std::string(what) + ": this plugin runs on the CPU only", CAP_ERROR_UNSUPPORTED);
    if (t->dtype.code != kDLFloat || t->dtype.bits != 32 || t->dtype.lanes != 1)
        cap::fail(std::string(what) + ": expected float32");
    if (t->ndim != 2) cap::fail(std::string(what) + ": expected 2 dimensions, got " + std::to_string(t->ndim));
    Matrix m{reinterpret_cast<float*>(static_cast<char*>(t->data) + t->byte_offset), t->shape[0], t->shape[1],
             t->strides ? t->strides[0] : t->shape[1], t->strides ? t->strides[1] : 1};
    return m;
}

class RandomCriterion : public cap::Criterion {
public:
    static cap::Metadata metadata() {
        return {"random",
                "1.0.0",
                "random importance: the baseline any criterion must beat",
                {cap::Option::String("stream", "random-criterion",
                                     "name of the random stream, mixed with the run's seed")}};
    }

    RandomCriterion(const cap::Host& host, const cap::Options& options)
        : rng_(host.seed(options.get_string("stream").c_str())) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = 0;  // no evidence from batches
        return i;
    }

    void reset() override { scores_.clear(); }
    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups) override {}

    void importance(const cap_exec_context&, cap::Groups groups, cap::Outputs out) override {
        draw(groups);
        for (uint32_t g = 0; g < groups.size(); ++g) {
            Matrix o = matrix(out[g], "importance output");
            const Matrix mask = matrix(groups[g].mask, "mask");
            if (o.rows != mask.rows || o.cols != mask.cols) cap::fail("importance output shape differs from the mask");
            for (int64_t r = 0; r < o.rows; ++r)
                for (int64_t c = 0; c < o.cols; ++c) o.at(r, c) = scores_[g][r * o.cols + c];
        }
    }

    void select(const cap_exec_context&, const cap_selection& sel, const cap_constraints& constraints,
                cap::Groups groups, cap::Outputs new_masks) override {
        draw(groups);
        for (uint32_t g = 0; g < groups.size(); ++g) {
            const Matrix mask = matrix(groups[g].mask, "mask");
            Matrix out = matrix(new_masks[g], "new mask");
            if (out.rows != mask.rows || out.cols != mask.cols) cap::fail("new mask shape differs from the mask");
            const bool heads = groups[g].unit_kind == CAP_UNITS_HEADS;
            int64_t to_prune = heads ? sel.heads_to_prune : sel.ffn_to_prune;
            std::vector<float> s = scores_[g];
            for (int64_t r = 0; r < mask.rows; ++r) {
                std::vector<int64_t> alive;
                for (int64_t c = 0; c < mask.cols; ++c) {
                    out.at(r, c) = mask.at(r, c);
                    if (mask.at(r, c) == 0)
                        s[r * mask.cols + c] = INFINITY;  // already pruned
                    else
                        alive.push_back(r * mask.cols + c);
                }
                if (heads) protect_best(s, alive, constraints.min_heads_per_layer);
            }
            std::vector<int64_t> order(s.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });
            for (int64_t k = 0; k < static_cast<int64_t>(order.size()) && to_prune > 0; ++k) {
                if (s[order[k]] == INFINITY) break;
                out.at(order[k] / mask.cols, order[k] % mask.cols) = 0;
                --to_prune;
            }
            if (to_prune > 0) cap::fail("cannot prune that many units under the constraints");
        }
    }

private:
    // Scores are drawn once per importance pass and reused by select().
    void draw(cap::Groups groups) {
        if (scores_.size() == groups.size()) return;
        std::uniform_real_distribution<float> uniform(0.f, 1.f);
        scores_.clear();
        for (uint32_t g = 0; g < groups.size(); ++g) {
            const Matrix m = matrix(groups[g].mask, "mask");
            std::vector<float> s(static_cast<size_t>(m.rows * m.cols));
            for (auto& v : s) v = uniform(rng_);
            scores_.push_back(std::move(s));
        }
    }

    // Marks the `keep` highest-scoring heads still alive in a layer as untouchable, so the
    // layer keeps them (heads pruned before do not count towards `keep`).
    static void protect_best(std::vector<float>& s, std::vector<int64_t> alive, int32_t keep) {
        std::sort(alive.begin(), alive.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
        for (size_t k = 0; k < alive.size() && k < static_cast<size_t>(std::max(keep, 0)); ++k) s[alive[k]] = INFINITY;
    }

    std::mt19937_64 rng_;
    std::vector<std::vector<float>> scores_;
};

}  // namespace

CAP_PLUGIN(RandomCriterion)
