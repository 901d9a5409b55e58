// contrastive/snc: SnC, contrastive learning with the snapshots. Its bank gains one slice per
// snapshot (in CAP-f, the model after each stage's retraining), so the extra keys are split
// over r slices and, by the reference's normalisation, the term weighs 1/r (docs/algorithms.md §4).
#include "contrastive_module.hpp"

namespace {
constexpr cap::contrastive::ModuleTraits kTraits{
    "snc", "SnC: contrast with the snapshots of the model being pruned (historic knowledge)", CAP_CAPTURE_SNAPSHOT};
using SnC = cap::contrastive::Module<kTraits>;
}  // namespace

CAP_PLUGIN(SnC)
