// contrastive/prc: PrC, contrastive learning with the pre-trained model. Its bank is the
// student's own encoding of the training set before any pruning (docs/algorithms.md §4).
#include "contrastive_module.hpp"

namespace {
constexpr cap::contrastive::ModuleTraits kTraits{
    "prc", "PrC: contrast with the pre-trained model (task-agnostic knowledge)", CAP_CAPTURE_PRETRAINED};
using PrC = cap::contrastive::Module<kTraits>;
}  // namespace

CAP_PLUGIN(PrC)
