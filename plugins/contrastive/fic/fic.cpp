// contrastive/fic: FiC, contrastive learning with the fine-tuned teacher. Its bank is the
// teacher's encoding of the training set, in eval mode, made once (docs/algorithms.md §4).
#include "contrastive_module.hpp"

namespace {
constexpr cap::contrastive::ModuleTraits kTraits{
    "fic", "FiC: contrast with the fine-tuned model (task-specific knowledge)", CAP_CAPTURE_FINETUNED};
using FiC = cap::contrastive::Module<kTraits>;
}  // namespace

CAP_PLUGIN(FiC)
