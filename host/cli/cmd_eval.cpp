// cap eval: any Hugging Face-layout checkpoint (dense, masked or compacted) on a task's dev
// data; the metrics as one JSON object on stdout, per-example predictions as JSON lines.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "data/task.hpp"
#include "hf/hub_cache.hpp"
#include "model/checkpoint.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"

namespace fs = std::filesystem;

namespace cap::cli {

int cmd_eval(const EvalCommand& options) {
    try {
        settings::TaskConfig config;
        config.name = options.task;
        config.data = options.data;
        config.max_seq_length = options.max_seq_length;
        config.doc_stride = options.doc_stride;
        config.load_train = false;
        const auto names = settings::task_names();
        if (std::find(names.begin(), names.end(), config.name) == names.end()) {
            std::string all;
            for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
            spdlog::error("--task {}: unknown task (known: {})", config.name, all);
            return kExitUsage;
        }
        // A task folder (every dev file of the task) or one dev file (dev.tsv, dev-v1.1.json).
        if (config.name != "synthetic") {
            std::error_code ec;
            if (options.data.empty()) {
                spdlog::error("--task {} needs --data: the task's folder or one of its dev files", config.name);
                return kExitUsage;
            }
            if (fs::is_regular_file(config.data, ec)) {
                config.dev_file = config.data;
                config.data = config.data.parent_path();
            } else if (!fs::is_directory(config.data, ec)) {
                spdlog::error("--data {}: no such file or folder", config.data.string());
                return kExitUsage;
            }
        }
        if (!options.out.empty() && fs::is_directory(options.out)) {
            spdlog::error("--out {} is a folder; give a file name", options.out);
            return kExitUsage;
        }
        const auto model = hf::find_model(options.model, fs::current_path());
        if (!model.folder) {
            spdlog::error("--model {}: {}", options.model, model.problem);
            return kExitUsage;
        }
        const fs::path vocab = *model.folder / "vocab.txt";
        std::optional<text::WordPieceTokenizer> tokenizer;
        if (config.name != "synthetic") tokenizer.emplace(text::Vocabulary::load(vocab));
        auto task = data::make_task(config, tokenizer ? &*tokenizer : nullptr);
        auto loaded = model::load_pretrained(*model.folder, task->head(), task->labels());
        if (options.precision == "bfloat16") loaded.model->set_compute_dtype(at::kBFloat16);
        data::EvalOptions eval;
        eval.batch_size = options.batch_size;
        eval.predictions = !options.out.empty();
        auto result = task->evaluate(loaded.model, eval);
        if (!options.out.empty()) {
            std::string lines;
            for (const auto& p : result.predictions) lines += p.dump() + "\n";
            util::write_file_atomic(options.out, lines);
        }
        nlohmann::ordered_json out{{"model", options.model}, {"task", task->name()}, {"precision", options.precision}};
        for (auto& [k, v] : result.metrics.items()) out[k] = v;
        std::cout << out.dump() << "\n";
        return kExitOk;
    } catch (const std::exception& e) {
        spdlog::error("{}", util::error_text(e));
        return kExitFailure;
    }
}

}  // namespace cap::cli
