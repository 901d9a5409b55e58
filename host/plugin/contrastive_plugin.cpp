#include "plugin/contrastive_plugin.hpp"

namespace cap::host {

ContrastivePlugin::ContrastivePlugin(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) {
    api();
}

uint32_t ContrastivePlugin::wants() const {
    uint32_t sources = 0;
    instance_->call("wants", [&] { return api().wants(instance_->handle(), &sources); });
    return sources;
}

void ContrastivePlugin::receive_bank(const cap_exec_context& ctx, const cap_bank& bank) const {
    instance_->call("receive_bank", [&] { return api().receive_bank(instance_->handle(), &ctx, &bank); });
}

cap_loss_terms ContrastivePlugin::loss(const cap_exec_context& ctx, const cap_contrastive_batch& batch,
                                       DLTensor* grad_anchors) const {
    auto out = blank_struct<cap_loss_terms>();
    instance_->call("loss", [&] { return api().loss(instance_->handle(), &ctx, &batch, &out, grad_anchors); });
    return out;
}

uint64_t ContrastivePlugin::memory() const {
    uint64_t bytes = 0;
    instance_->call("memory", [&] { return api().memory(instance_->handle(), &bytes); });
    return bytes;
}

}  // namespace cap::host
