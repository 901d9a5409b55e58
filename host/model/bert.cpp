#include "model/bert.hpp"

#include "model/autocast.hpp"

#include "model/dropout.hpp"

#include <torch/nn/init.h>

#include <cmath>
#include <set>

namespace cap::model {

namespace F = torch::nn::functional;

const char* encoder_linear_path(EncoderLinear which) {
    switch (which) {
        case EncoderLinear::kQuery: return "attention.self.query";
        case EncoderLinear::kKey: return "attention.self.key";
        case EncoderLinear::kValue: return "attention.self.value";
        case EncoderLinear::kAttentionOutput: return "attention.output.dense";
        case EncoderLinear::kIntermediate: return "intermediate.dense";
        case EncoderLinear::kOutput: return "output.dense";
    }
    return "?";
}

std::string encoder_linear_name(int64_t layer, EncoderLinear which) {
    return "bert.encoder.layer." + std::to_string(layer) + "." + encoder_linear_path(which);
}

namespace {
// A linear layer that may have no inputs (every head or FFN neuron of a layer pruned away):
// LibTorch's default initialisation divides by the fan-in, so such a layer starts with one
// input and then gets an empty weight. init_weights() sets the real values afterwards.
torch::nn::Linear make_linear(int64_t in, int64_t out) {
    if (in > 0) return torch::nn::Linear(in, out);
    torch::nn::Linear linear(1, out);
    torch::NoGradGuard no_grad;
    linear->weight.set_data(at::empty({out, 0}));  // the registered parameter, now with no columns
    return linear;
}
}  // namespace

SelfAttentionImpl::SelfAttentionImpl(int64_t hidden, int64_t width) {
    query = register_module("query", torch::nn::Linear(hidden, width));
    key = register_module("key", torch::nn::Linear(hidden, width));
    value = register_module("value", torch::nn::Linear(hidden, width));
}

DenseNormImpl::DenseNormImpl(int64_t in, int64_t out, double eps) {
    dense = register_module("dense", make_linear(in, out));
    norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out}).eps(eps)));
}

AttentionImpl::AttentionImpl(int64_t hidden, int64_t heads_, int64_t head_dim, double eps) : heads(heads_) {
    self = register_module("self", SelfAttention(hidden, heads * head_dim));
    output = register_module("output", DenseNorm(heads * head_dim, hidden, eps));
}

DenseImpl::DenseImpl(int64_t in, int64_t out) { dense = register_module("dense", make_linear(in, out)); }

BertLayerImpl::BertLayerImpl(const BertConfig& c, int64_t index) {
    attention =
        register_module("attention", Attention(c.hidden_size, c.heads_in_layer(index), c.head_dim(), c.layer_norm_eps));
    intermediate = register_module("intermediate", Dense(c.hidden_size, c.intermediate_in_layer(index)));
    output = register_module("output", DenseNorm(c.intermediate_in_layer(index), c.hidden_size, c.layer_norm_eps));
}

EmbeddingsImpl::EmbeddingsImpl(const BertConfig& c) {
    word_embeddings = register_module(
        "word_embeddings",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
    position_embeddings =
        register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
    token_type_embeddings =
        register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
    norm = register_module("LayerNorm",
                           torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

EncoderImpl::EncoderImpl(const BertConfig& c) {
    layer = register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(BertLayer(c, i));
}

BertModelImpl::BertModelImpl(const BertConfig& c, bool with_pooler) {
    embeddings = register_module("embeddings", Embeddings(c));
    encoder = register_module("encoder", Encoder(c));
    if (with_pooler) pooler = register_module("pooler", Dense(c.hidden_size, c.hidden_size));
}

BertImpl::BertImpl(BertConfig config, TaskHead head) : config_(std::move(config)), head_(head) {
    bert = register_module("bert", BertModel(config_, head_ == TaskHead::kClassification));
    if (head_ == TaskHead::kClassification) {
        if (config_.labels.empty()) config_.labels = {"LABEL_0", "LABEL_1"};
        classifier = register_module("classifier", torch::nn::Linear(config_.hidden_size, num_labels()));
    } else {
        qa_outputs = register_module("qa_outputs", torch::nn::Linear(config_.hidden_size, 2));
    }
    init_weights();
}

int64_t BertImpl::num_labels() const { return static_cast<int64_t>(config_.labels.size()); }

BertLayerImpl& BertImpl::layer(int64_t index) { return *bert->encoder->layer->ptr<BertLayerImpl>(index); }

at::Tensor BertImpl::linear_weight(int64_t index, EncoderLinear which) {
    auto& l = layer(index);
    switch (which) {
        case EncoderLinear::kQuery: return l.attention->self->query->weight;
        case EncoderLinear::kKey: return l.attention->self->key->weight;
        case EncoderLinear::kValue: return l.attention->self->value->weight;
        case EncoderLinear::kAttentionOutput: return l.attention->output->dense->weight;
        case EncoderLinear::kIntermediate: return l.intermediate->dense->weight;
        case EncoderLinear::kOutput: return l.output->dense->weight;
    }
    return {};
}

void BertImpl::init_parameters(const std::vector<std::string>& names) {
    torch::NoGradGuard no_grad;
    const std::set<std::string> wanted(names.begin(), names.end());
    const std::string pad_row = "bert.embeddings.word_embeddings.weight";
    for (auto& p : named_parameters()) {
        if (!wanted.count(p.key())) continue;
        const std::string& name = p.key();
        at::Tensor t = p.value();
        const bool norm = name.find("LayerNorm") != std::string::npos;
        if (norm) {
            t.fill_(name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0 ? 1.0 : 0.0);
        } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
            t.zero_();
        } else {
            t.normal_(0.0, config_.initializer_range);
            if (name == pad_row && config_.pad_token_id >= 0 && config_.pad_token_id < t.size(0))
                t[config_.pad_token_id].zero_();
        }
    }
}

void BertImpl::init_weights() {
    std::vector<std::string> all;
    for (auto& p : named_parameters()) all.push_back(p.key());
    init_parameters(all);
}

at::Tensor BertImpl::run_layer(int64_t index, const at::Tensor& hidden, const at::Tensor& additive_mask,
                               const ForwardOptions& options) {
    auto& l = layer(index);
    const bool training = is_training();
    auto weight = [&](EncoderLinear which, const at::Tensor& w) {
        return options.weights && *options.weights ? (*options.weights)(index, which, w) : w;
    };
    auto linear = [&](const torch::nn::Linear& lin, EncoderLinear which, const at::Tensor& x) {
        if (options.inputs && *options.inputs) (*options.inputs)(index, which, x);
        return at::linear(x, weight(which, lin->weight), lin->bias);
    };
    const int64_t B = hidden.size(0), S = hidden.size(1);
    const int64_t heads = l.attention->heads, hd = config_.head_dim();

    at::Tensor context;
    if (heads == 0) {
        context = at::zeros({B, S, 0}, hidden.options());
    } else {
        auto split = [&](const at::Tensor& x) { return x.view({B, S, heads, hd}).transpose(1, 2); };
        at::Tensor q = split(linear(l.attention->self->query, EncoderLinear::kQuery, hidden));
        at::Tensor k = split(linear(l.attention->self->key, EncoderLinear::kKey, hidden));
        at::Tensor v = split(linear(l.attention->self->value, EncoderLinear::kValue, hidden));
        at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(hd));
        scores = scores + additive_mask;
        at::Tensor probs = at::softmax(scores, -1);
        probs = cap::model::dropout(probs, config_.attention_probs_dropout_prob, training);
        if (options.head_mask.defined()) {
            at::Tensor row = options.head_mask[index];
            if (heads != config_.num_attention_heads) {
                auto kept = config_.kept_heads(index);
                row = row.index_select(0, at::tensor(kept, at::TensorOptions().dtype(at::kLong).device(row.device())));
            }
            probs = probs * row.view({1, heads, 1, 1});
        }
        context = at::matmul(probs, v).transpose(1, 2).reshape({B, S, heads * hd});
    }
    at::Tensor attention = linear(l.attention->output->dense, EncoderLinear::kAttentionOutput, context);
    attention =
        l.attention->output->norm(cap::model::dropout(attention, config_.hidden_dropout_prob, training) + hidden);

    at::Tensor inter = at::gelu(linear(l.intermediate->dense, EncoderLinear::kIntermediate, attention));
    if (options.ffn_mask.defined()) {
        if (inter.size(-1) != options.ffn_mask.size(1))
            throw std::invalid_argument("ffn_mask does not fit layer " + std::to_string(index) + " (compacted)");
        inter = inter * options.ffn_mask[index];
    }
    at::Tensor out = linear(l.output->dense, EncoderLinear::kOutput, inter);
    return l.output->norm(cap::model::dropout(out, config_.hidden_dropout_prob, training) + attention);
}

BertOutputs BertImpl::forward(const BertBatch& batch, const ForwardOptions& options) {
    if (compute_dtype_ == at::kFloat) return forward_body(batch, options);
    BertOutputs out;
    {
        AutocastScope autocast(batch.input_ids.device().type(), compute_dtype_);
        out = forward_body(batch, options);
    }
    for (at::Tensor* t : {&out.logits, &out.start_logits, &out.end_logits, &out.representation})
        if (t->defined()) *t = t->to(at::kFloat);
    return out;
}

BertOutputs BertImpl::forward_body(const BertBatch& batch, const ForwardOptions& options) {
    const at::Tensor& ids = batch.input_ids;
    if (ids.dim() != 2) throw std::invalid_argument("input_ids must be [batch, sequence]");
    const int64_t S = ids.size(1);
    if (S > config_.max_position_embeddings)
        throw std::invalid_argument("sequence length " + std::to_string(S) + " exceeds max_position_embeddings " +
                                    std::to_string(config_.max_position_embeddings));
    const bool training = is_training();
    at::Tensor types = batch.token_type_ids.defined() ? batch.token_type_ids : at::zeros_like(ids);
    at::Tensor mask = batch.attention_mask.defined() ? batch.attention_mask : at::ones_like(ids);
    at::Tensor positions = at::arange(S, ids.options()).unsqueeze(0);

    auto& emb = *bert->embeddings;
    at::Tensor hidden =
        emb.word_embeddings(ids) + emb.token_type_embeddings(types) + emb.position_embeddings(positions);
    hidden = cap::model::dropout(emb.norm(hidden), config_.hidden_dropout_prob, training);

    // (1 - mask) * -10000 added to the scores, as the reference's transformers 4.7 does.
    at::Tensor additive = (1.0 - mask.to(hidden.scalar_type())).mul(-10000.0).view({mask.size(0), 1, 1, S});
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) hidden = run_layer(i, hidden, additive, options);

    BertOutputs out;
    at::Tensor cls = hidden.select(1, 0);
    if (head_ == TaskHead::kClassification) {
        at::Tensor pooled = at::tanh(bert->pooler->dense(cls));
        pooled = cap::model::dropout(pooled, config_.classifier_dropout_prob(), training);
        out.logits = classifier(pooled);
        if (options.representation == Pooling::kCls)
            out.representation = F::normalize(pooled, F::NormalizeFuncOptions().dim(1));
    } else {
        at::Tensor logits = qa_outputs(hidden);
        out.start_logits = logits.select(2, 0);
        out.end_logits = logits.select(2, 1);
        if (options.representation == Pooling::kCls)
            out.representation = F::normalize(cls, F::NormalizeFuncOptions().dim(1));
    }
    if (options.representation == Pooling::kMean) {
        at::Tensor m = mask.to(hidden.scalar_type()).unsqueeze(-1);
        at::Tensor mean = (hidden * m).sum(1) / m.sum(1).clamp_min(1.0);
        out.representation = F::normalize(mean, F::NormalizeFuncOptions().dim(1));
    }
    return out;
}

}  // namespace cap::model
