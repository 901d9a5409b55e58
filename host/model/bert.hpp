// BERT in LibTorch with Hugging Face's semantics: post-LayerNorm layers, erf GELU, additive
// attention mask, tanh pooler. Module and parameter names mirror Hugging Face's state-dict keys
// ("bert.encoder.layer.0.attention.self.query.weight", "classifier.bias", ...), so a checkpoint
// maps onto named_parameters() directly.
//
// Pruning hooks: a head mask [layers, heads] multiplies the attention probabilities, an FFN mask
// [layers, intermediate] multiplies the activation after GELU (gradients w.r.t. both are
// available when they require grad), and a weight transform can replace every encoder linear's
// weight W by W * M for unstructured masks. Layers may have fewer heads or FFN neurons after
// compaction (config.pruned_heads / config.intermediate_sizes).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <functional>
#include <string>

#include "hf/bert_config.hpp"

namespace cap::model {

// The architecture as config.json spells it (hf/: parsed without LibTorch, shared with recipes).
using hf::BertConfig;

enum class TaskHead { kClassification, kSpan };  // sequence classification, extractive QA
enum class Pooling { kNone, kCls, kMean };

// The six linears of each encoder layer that unstructured pruning masks.
enum class EncoderLinear { kQuery, kKey, kValue, kAttentionOutput, kIntermediate, kOutput };
constexpr int kEncoderLinears = 6;
const char* encoder_linear_path(EncoderLinear which);  // "attention.self.query", ...
// "bert.encoder.layer.<l>.<path>", the parameter prefix of that linear.
std::string encoder_linear_name(int64_t layer, EncoderLinear which);

// Gives the weight an encoder linear computes with (e.g. weight * mask); default: the weight.
using WeightTransform = std::function<at::Tensor(int64_t layer, EncoderLinear which, const at::Tensor& weight)>;

// Sees the input [B, S, in] of an encoder linear before it is applied: an importance pass gathers
// activation statistics with it (prune/linear_evidence).
using InputObserver = std::function<void(int64_t layer, EncoderLinear which, const at::Tensor& input)>;

struct BertBatch {
    at::Tensor input_ids;       // [B, S] int64
    at::Tensor token_type_ids;  // [B, S] int64 (undefined: zeros)
    at::Tensor attention_mask;  // [B, S] int64 or float (undefined: ones)
};

struct ForwardOptions {
    at::Tensor head_mask;  // [L, num_attention_heads]; undefined: none
    at::Tensor ffn_mask;   // [L, intermediate_size]; undefined: none
    const WeightTransform* weights = nullptr;
    const InputObserver* inputs = nullptr;
    Pooling representation = Pooling::kNone;  // also return an L2-normalised representation
};

struct BertOutputs {
    at::Tensor logits;          // classification: [B, num_labels]
    at::Tensor start_logits;    // span: [B, S]
    at::Tensor end_logits;      // span: [B, S]
    at::Tensor representation;  // [B, hidden], L2-normalised, when asked for
};

struct SelfAttentionImpl : torch::nn::Module {
    SelfAttentionImpl(int64_t hidden, int64_t width);
    torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};
TORCH_MODULE(SelfAttention);

struct DenseNormImpl : torch::nn::Module {  // "dense" + "LayerNorm", as in BertSelfOutput/BertOutput
    DenseNormImpl(int64_t in, int64_t out, double eps);
    torch::nn::Linear dense{nullptr};
    torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(DenseNorm);

struct AttentionImpl : torch::nn::Module {
    AttentionImpl(int64_t hidden, int64_t heads, int64_t head_dim, double eps);
    SelfAttention self{nullptr};
    DenseNorm output{nullptr};
    int64_t heads;
};
TORCH_MODULE(Attention);

struct DenseImpl : torch::nn::Module {  // BertIntermediate: "dense"
    DenseImpl(int64_t in, int64_t out);
    torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(Dense);

struct BertLayerImpl : torch::nn::Module {
    BertLayerImpl(const BertConfig& config, int64_t layer);
    Attention attention{nullptr};
    Dense intermediate{nullptr};
    DenseNorm output{nullptr};
};
TORCH_MODULE(BertLayer);

struct EmbeddingsImpl : torch::nn::Module {
    explicit EmbeddingsImpl(const BertConfig& config);
    torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
    torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Embeddings);

struct EncoderImpl : torch::nn::Module {
    explicit EncoderImpl(const BertConfig& config);
    torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(Encoder);

struct BertModelImpl : torch::nn::Module {
    BertModelImpl(const BertConfig& config, bool with_pooler);
    Embeddings embeddings{nullptr};
    Encoder encoder{nullptr};
    Dense pooler{nullptr};  // empty for span models, which have no pooler
};
TORCH_MODULE(BertModel);

class BertImpl : public torch::nn::Module {
public:
    BertImpl(BertConfig config, TaskHead head);

    BertOutputs forward(const BertBatch& batch, const ForwardOptions& options = {});
    // Hugging Face's initialisation: normal(0, initializer_range) weights, zero biases, unit
    // LayerNorm, zero padding embedding. Uses LibTorch's global generator.
    void init_weights();
    // Initialises only the parameters whose names are given (e.g. a new classifier).
    void init_parameters(const std::vector<std::string>& names);

    // Mixed precision: forward() runs under autocast to `dtype` (bfloat16, or float16 on CUDA)
    // on the parameters' device; its outputs come back as float32, so losses are taken in float32.
    // float32 (the default) turns it off. Parameters stay float32 either way.
    void set_compute_dtype(at::ScalarType dtype) { compute_dtype_ = dtype; }
    at::ScalarType compute_dtype() const { return compute_dtype_; }

    const BertConfig& config() const { return config_; }
    TaskHead head() const { return head_; }
    int64_t num_labels() const;
    at::Tensor linear_weight(int64_t layer, EncoderLinear which);  // the parameter itself
    BertLayerImpl& layer(int64_t index);

    BertModel bert{nullptr};
    torch::nn::Linear classifier{nullptr};  // classification head
    torch::nn::Linear qa_outputs{nullptr};  // span head

private:
    at::Tensor run_layer(int64_t index, const at::Tensor& hidden, const at::Tensor& additive_mask,
                         const ForwardOptions& options);

    BertOutputs forward_body(const BertBatch& batch, const ForwardOptions& options);

    BertConfig config_;
    TaskHead head_;
    at::ScalarType compute_dtype_ = at::kFloat;
};
TORCH_MODULE(Bert);

}  // namespace cap::model
