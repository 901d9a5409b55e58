#include "data/task.hpp"

#include "data/classification_task.hpp"
#include "data/glue.hpp"
#include "data/squad_task.hpp"

namespace cap::data {

std::unique_ptr<Task> make_task(const settings::TaskConfig& config, const text::WordPieceTokenizer* tokenizer) {
    if (config.name == "synthetic") return make_synthetic_task(config);
    if (!tokenizer) throw std::runtime_error("task " + config.name + " needs a vocabulary (vocab.txt) to tokenize");
    if (config.name == "squad") return make_squad_task(config, *tokenizer);
    if (find_glue_task(config.name)) return make_glue_task(config, *tokenizer);
    throw std::runtime_error("unknown task '" + config.name + "'");
}

}  // namespace cap::data
