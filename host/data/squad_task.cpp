#include "data/squad_task.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <numeric>

#include "data/squad.hpp"
#include "metrics/squad.hpp"

namespace fs = std::filesystem;

namespace cap::data {

namespace {

// The one JSON file in `folder` whose name starts with `prefix`.
fs::path find_json(const fs::path& folder, const std::string& prefix) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json" && it->path().filename().string().rfind(prefix, 0) == 0)
            found.push_back(it->path());
    if (ec) throw std::runtime_error("cannot list " + folder.string() + ": " + ec.message());
    if (found.empty()) throw std::runtime_error(folder.string() + " has no " + prefix + "*.json file");
    if (found.size() > 1) {
        std::sort(found.begin(), found.end());
        throw std::runtime_error(folder.string() + " has several " + prefix + "*.json files (" +
                                 found[0].filename().string() + ", " + found[1].filename().string() +
                                 "); keep one per folder");
    }
    return found[0];
}

class SquadTask : public Task {
public:
    SquadTask(std::vector<SquadExample> train_examples, std::vector<SquadFeature> train,
              std::vector<SquadExample> dev_examples, std::vector<SquadFeature> dev, int32_t pad_id)
        : train_examples_(std::move(train_examples)),
          train_(std::move(train)),
          dev_examples_(std::move(dev_examples)),
          dev_(std::move(dev)),
          pad_id_(pad_id) {}

    std::string name() const override { return "squad"; }
    model::TaskHead head() const override { return model::TaskHead::kSpan; }
    std::vector<std::string> labels() const override { return {}; }
    size_t train_size() const override { return train_.size(); }
    std::string main_metric() const override { return "f1"; }

    Batch train_batch(const std::vector<int64_t>& indices) const override {
        std::vector<const Encoded*> rows;
        std::vector<int64_t> starts, ends;
        for (int64_t i : indices) {
            const auto& f = train_.at(static_cast<size_t>(i));
            rows.push_back(&f.input);
            starts.push_back(f.start_position);
            ends.push_back(f.end_position);
        }
        Batch b = collate(rows, pad_id_);
        b.start_positions = at::tensor(starts, at::kLong);
        b.end_positions = at::tensor(ends, at::kLong);
        b.indices = at::tensor(indices, at::kLong);
        return b;
    }

    EvalResult evaluate(model::Bert& model, const EvalOptions& options) const override {
        model->eval();
        torch::NoGradGuard no_grad;
        std::vector<size_t> order(dev_.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return dev_[a].input.ids.size() < dev_[b].input.ids.size(); });
        std::vector<at::Tensor> starts(dev_.size()), ends(dev_.size());
        for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(options.batch_size)) {
            const size_t end = std::min(order.size(), begin + static_cast<size_t>(options.batch_size));
            std::vector<const Encoded*> rows;
            for (size_t k = begin; k < end; ++k) rows.push_back(&dev_[order[k]].input);
            Batch b = collate(rows, pad_id_).to(options.device);
            auto out = model->forward(b.inputs, eval_forward(options));
            at::Tensor s = out.start_logits.to(at::kCPU), e = out.end_logits.to(at::kCPU);
            for (size_t k = begin; k < end; ++k) {
                starts[order[k]] = s[static_cast<int64_t>(k - begin)];
                ends[order[k]] = e[static_cast<int64_t>(k - begin)];
            }
        }
        auto predictions = squad_predictions(dev_examples_, dev_, starts, ends);
        std::vector<std::vector<std::string>> golds;
        for (const auto& ex : dev_examples_) golds.push_back(ex.answers);
        auto score = metrics::squad_score(predictions, golds);
        EvalResult r;
        r.metrics["exact_match"] = score.exact_match;
        r.metrics["f1"] = score.f1;
        if (options.predictions)
            for (size_t i = 0; i < predictions.size(); ++i)
                r.predictions.push_back({{"id", dev_examples_[i].id},
                                         {"prediction", predictions[i]},
                                         {"answers", dev_examples_[i].answers}});
        return r;
    }

private:
    std::vector<SquadExample> train_examples_;
    std::vector<SquadFeature> train_;
    std::vector<SquadExample> dev_examples_;
    std::vector<SquadFeature> dev_;
    int32_t pad_id_;
};

}  // namespace

std::unique_ptr<Task> make_squad_task(const settings::TaskConfig& config, const text::WordPieceTokenizer& tokenizer) {
    SquadWindowing windowing{config.max_seq_length, config.doc_stride, config.max_query_length};
    std::vector<SquadExample> train_examples;
    if (config.load_train) train_examples = read_squad(find_json(config.data, "train"));
    if (config.max_train_examples > 0 && static_cast<int64_t>(train_examples.size()) > config.max_train_examples)
        train_examples.resize(static_cast<size_t>(config.max_train_examples));
    auto dev_examples = read_squad(config.dev_file.empty() ? find_json(config.data, "dev") : config.dev_file);
    if (config.max_eval_examples > 0 && static_cast<int64_t>(dev_examples.size()) > config.max_eval_examples)
        dev_examples.resize(static_cast<size_t>(config.max_eval_examples));
    auto train = squad_features(train_examples, tokenizer, windowing);
    auto dev = squad_features(dev_examples, tokenizer, windowing);
    return std::make_unique<SquadTask>(std::move(train_examples), std::move(train), std::move(dev_examples),
                                       std::move(dev), tokenizer.vocabulary().pad_id());
}

}  // namespace cap::data
