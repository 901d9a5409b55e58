#include "data/classification_task.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <numeric>

#include "data/glue.hpp"
#include "data/synthetic.hpp"
#include "metrics/classification.hpp"
#include "text/encoding.hpp"

namespace cap::data {

namespace {

struct Split {
    std::string name;  // metric prefix; "" for a task's only dev split
    std::vector<Encoded> inputs;
    std::vector<int64_t> labels;
};

class ClassificationTask : public Task {
public:
    ClassificationTask(std::string name, std::vector<std::string> labels, Split train, std::vector<Split> dev,
                       bool reports_f1, int32_t pad_id)
        : name_(std::move(name)),
          labels_(std::move(labels)),
          train_(std::move(train)),
          dev_(std::move(dev)),
          reports_f1_(reports_f1),
          pad_id_(pad_id) {}

    std::string name() const override { return name_; }
    model::TaskHead head() const override { return model::TaskHead::kClassification; }
    std::vector<std::string> labels() const override { return labels_; }
    size_t train_size() const override { return train_.inputs.size(); }
    std::string main_metric() const override { return dev_.size() > 1 ? dev_[0].name + "_accuracy" : "accuracy"; }

    Batch train_batch(const std::vector<int64_t>& indices) const override {
        std::vector<const Encoded*> rows;
        std::vector<int64_t> labels;
        for (int64_t i : indices) {
            rows.push_back(&train_.inputs.at(static_cast<size_t>(i)));
            labels.push_back(train_.labels[static_cast<size_t>(i)]);
        }
        Batch b = collate(rows, pad_id_);
        b.labels = at::tensor(labels, at::kLong);
        b.indices = at::tensor(indices, at::kLong);
        return b;
    }

    EvalResult evaluate(model::Bert& model, const EvalOptions& options) const override {
        EvalResult result;
        model->eval();
        torch::NoGradGuard no_grad;
        for (const auto& split : dev_) {
            // Batches of similar length waste less on padding; results go back to input order.
            std::vector<size_t> order(split.inputs.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
                return split.inputs[a].ids.size() < split.inputs[b].ids.size();
            });
            std::vector<int64_t> predictions(split.inputs.size());
            at::Tensor all_logits =
                at::empty({static_cast<int64_t>(split.inputs.size()), static_cast<int64_t>(labels_.size())});
            for (size_t start = 0; start < order.size(); start += static_cast<size_t>(options.batch_size)) {
                const size_t end = std::min(order.size(), start + static_cast<size_t>(options.batch_size));
                std::vector<const Encoded*> rows;
                for (size_t k = start; k < end; ++k) rows.push_back(&split.inputs[order[k]]);
                Batch b = collate(rows, pad_id_).to(options.device);
                at::Tensor logits = model->forward(b.inputs, eval_forward(options)).logits.to(at::kCPU);
                at::Tensor best = logits.argmax(1);
                for (size_t k = start; k < end; ++k) {
                    predictions[order[k]] = best[static_cast<int64_t>(k - start)].item<int64_t>();
                    all_logits[static_cast<int64_t>(order[k])] = logits[static_cast<int64_t>(k - start)];
                }
            }
            const std::string prefix = split.name.empty() ? "" : split.name + "_";
            result.metrics[prefix + "accuracy"] = metrics::accuracy(predictions, split.labels);
            if (reports_f1_) result.metrics[prefix + "f1"] = metrics::binary_f1(predictions, split.labels);
            if (options.predictions)
                for (size_t i = 0; i < predictions.size(); ++i) {
                    nlohmann::ordered_json p;
                    if (!split.name.empty()) p["split"] = split.name;
                    p["index"] = i;
                    p["label"] = split.labels[i];
                    p["prediction"] = predictions[i];
                    at::Tensor row = all_logits[static_cast<int64_t>(i)];
                    p["logits"] = std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
                    result.predictions.push_back(std::move(p));
                }
        }
        return result;
    }

private:
    std::string name_;
    std::vector<std::string> labels_;
    Split train_;
    std::vector<Split> dev_;
    bool reports_f1_;
    int32_t pad_id_;
};

Split encode_file(const std::filesystem::path& file, const GlueTaskSpec& spec, const text::WordPieceTokenizer& tok,
                  int64_t max_length, int64_t limit, std::string name) {
    Split split;
    split.name = std::move(name);
    auto rows = read_glue_tsv(file, spec);
    if (limit > 0 && static_cast<int64_t>(rows.size()) > limit) rows.resize(static_cast<size_t>(limit));
    for (const auto& r : rows) {
        std::string_view b = r.b ? std::string_view(*r.b) : std::string_view();
        auto e = text::encode_text(tok, r.a, r.b ? &b : nullptr, max_length, 0);
        Encoded enc;
        enc.ids.assign(e.input_ids.begin(), e.input_ids.end());
        enc.types.assign(e.token_type_ids.begin(), e.token_type_ids.end());
        split.inputs.push_back(std::move(enc));
        split.labels.push_back(r.label);
    }
    return split;
}

}  // namespace

std::unique_ptr<Task> make_glue_task(const settings::TaskConfig& config, const text::WordPieceTokenizer& tokenizer) {
    const GlueTaskSpec* spec = find_glue_task(config.name);
    if (!spec) throw std::runtime_error("unknown GLUE task '" + config.name + "'");
    Split train;
    if (config.load_train)
        train = encode_file(config.data / "train.tsv", *spec, tokenizer, config.max_seq_length,
                            config.max_train_examples, "train");
    std::vector<Split> dev;
    if (!config.dev_file.empty()) {
        // One file: named like the task's dev file of that name (MNLI's dev_mismatched.tsv
        // reports mismatched_accuracy), plain otherwise.
        std::string name;
        for (size_t i = 0; i < spec->dev_files.size(); ++i)
            if (config.dev_file.filename() == spec->dev_files[i]) name = spec->dev_names[i];
        dev.push_back(
            encode_file(config.dev_file, *spec, tokenizer, config.max_seq_length, config.max_eval_examples, name));
    }
    for (size_t i = 0; config.dev_file.empty() && i < spec->dev_files.size(); ++i)
        dev.push_back(encode_file(config.data / spec->dev_files[i], *spec, tokenizer, config.max_seq_length,
                                  config.max_eval_examples, spec->dev_names[i]));
    return std::make_unique<ClassificationTask>(spec->name, spec->labels, std::move(train), std::move(dev),
                                                spec->reports_f1, tokenizer.vocabulary().pad_id());
}

std::unique_ptr<Task> make_synthetic_task(const settings::TaskConfig& config) {
    const int64_t train_count = config.max_train_examples > 0 ? config.max_train_examples : 4000;
    const int64_t dev_count = config.max_eval_examples > 0 ? config.max_eval_examples : 1000;
    auto to_split = [](std::vector<SyntheticExample> examples, std::string name) {
        Split s;
        s.name = std::move(name);
        for (auto& e : examples) {
            s.inputs.push_back(std::move(e.input));
            s.labels.push_back(e.label);
        }
        return s;
    };
    // Train and dev come from different streams of the same seed, so they never overlap by design.
    Split train = to_split(synthetic_examples(train_count, config.seed), "train");
    std::vector<Split> dev = {to_split(synthetic_examples(dev_count, config.seed ^ 0x5eed5eed5eedull), "")};
    return std::make_unique<ClassificationTask>("synthetic", std::vector<std::string>{"negative", "positive"},
                                                std::move(train), std::move(dev), false, 0);
}

}  // namespace cap::data
