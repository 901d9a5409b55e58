// cap eval: any Hugging Face-layout checkpoint (dense, masked or compacted) on a task's dev
// data; the metrics as one JSON object on stdout, per-example predictions as JSON lines.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "data/task.hpp"
#include "model/checkpoint.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::cli {

int cmd_eval(const EvalCommand& options) {
    try {
        data::TaskConfig config;
        config.name = options.task;
        config.data = options.data;
        config.max_seq_length = options.max_seq_length;
        config.doc_stride = options.doc_stride;
        config.load_train = false;
        const auto names = data::task_names();
        if (std::find(names.begin(), names.end(), config.name) == names.end()) {
            std::string all;
            for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
            spdlog::error("--task {}: unknown task (known: {})", config.name, all);
            return kExitUsage;
        }
        if (config.name != "synthetic" && !fs::is_directory(config.data)) {
            spdlog::error("--data {}: no such folder", config.data.string());
            return kExitUsage;
        }
        if (!options.out.empty() && fs::is_directory(options.out)) {
            spdlog::error("--out {} is a folder; give a file name", options.out);
            return kExitUsage;
        }
        const fs::path vocab = fs::path(options.model) / "vocab.txt";
        std::optional<text::WordPieceTokenizer> tokenizer;
        if (config.name != "synthetic") tokenizer.emplace(text::Vocabulary::load(vocab));
        auto task = data::make_task(config, tokenizer ? &*tokenizer : nullptr);
        auto loaded = model::load_pretrained(options.model, task->head(), task->labels());
        data::EvalOptions eval;
        eval.batch_size = options.batch_size;
        eval.predictions = !options.out.empty();
        auto result = task->evaluate(loaded.model, eval);
        if (!options.out.empty()) {
            std::string lines;
            for (const auto& p : result.predictions) lines += p.dump() + "\n";
            util::write_file_atomic(options.out, lines);
        }
        nlohmann::ordered_json out{{"model", options.model}, {"task", task->name()}};
        for (auto& [k, v] : result.metrics.items()) out[k] = v;
        std::cout << out.dump() << "\n";
        return kExitOk;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitFailure;
    }
}

}  // namespace cap::cli
