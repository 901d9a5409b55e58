// Models that `transformers` or `huggingface-cli download` already fetched: a recipe may name
// one by its Hugging Face id ("bert-base-uncased", "google/bert_uncased_L-2_H-128_A-2",
// "org/name@revision") and cap reads it from the local cache, as transformers would offline.
// cap never downloads; a model that is not cached is an error saying which command fetches it.
//
// The cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. A model lives in models--<org>--<name>/snapshots/<commit>/, and
// refs/<branch or tag> names the commit of a revision (refs/main when none is given).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace cap::hf {

std::filesystem::path hub_cache_dir();

// True for what Hugging Face accepts as a model id, with an optional "@revision": one name or
// "org/name", of letters, digits, '-', '_' and '.', not starting with '.' or '-'.
bool is_model_id(const std::string& spec);

struct CachedModel {
    std::optional<std::filesystem::path> folder;  // the snapshot folder, when cached
    std::string problem;                          // why not, with the command that fetches it
};

// `tried_folder`: the folder the name was first looked for, for the message.
CachedModel find_cached_model(const std::string& spec, const std::filesystem::path& tried_folder = {});

// A model as a recipe or `cap eval --model` names it: the folder `spec` (relative to `base`)
// when it exists, else a cached model id. A folder that exists is returned as it is (its
// config.json is the caller's to check); "no such folder" when it is neither.
CachedModel find_model(const std::string& spec, const std::filesystem::path& base);

// Why `folder` is not a model folder that could be read: it is a file, or it does not exist.
std::string missing_model_folder(const std::filesystem::path& folder);

}  // namespace cap::hf
