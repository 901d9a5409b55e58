// A task: its training examples as batches, its evaluation splits and metrics. GLUE tasks and
// the embedded synthetic task are classification; SQuAD is extractive QA (span).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch.hpp"
#include "model/bert.hpp"
#include "settings/task.hpp"
#include "text/wordpiece_tokenizer.hpp"

namespace cap::data {

struct EvalOptions {
    int64_t batch_size = 128;
    at::Device device = at::kCPU;
    bool predictions = false;       // also return one JSON object per example, in input order
    model::ForwardOptions forward;  // masks of a pruned model (representation is ignored)
};

struct EvalResult {
    nlohmann::ordered_json metrics;  // e.g. {"accuracy": 91.2} or {"matched_accuracy": ..., ...}
    std::vector<nlohmann::ordered_json> predictions;
};

class Task {
public:
    virtual ~Task() = default;
    virtual std::string name() const = 0;
    virtual model::TaskHead head() const = 0;
    virtual std::vector<std::string> labels() const = 0;  // empty for span tasks
    virtual size_t train_size() const = 0;
    // Rows `indices` of the training set, with labels (or answer positions) and the indices.
    virtual Batch train_batch(const std::vector<int64_t>& indices) const = 0;
    // Evaluates `model` (switched to eval mode) on every dev split.
    virtual EvalResult evaluate(model::Bert& model, const EvalOptions& options) const = 0;
    // The metric to report first and to compare runs by, e.g. "accuracy" or "f1".
    virtual std::string main_metric() const = 0;
};

// The forward options evaluation runs with: the caller's masks, no representation.
inline model::ForwardOptions eval_forward(const EvalOptions& options) {
    model::ForwardOptions f = options.forward;
    f.representation = model::Pooling::kNone;
    return f;
}

// Reads (or generates) the task's data. The tokenizer is required for text tasks and ignored
// by the synthetic one. Throws std::runtime_error naming the file and line of bad input.
std::unique_ptr<Task> make_task(const settings::TaskConfig& config, const text::WordPieceTokenizer* tokenizer);

}  // namespace cap::data
