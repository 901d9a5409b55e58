// Typed calls into a contrastive plugin (cap/contrastive.h).
#pragma once

#include <memory>

#include "plugin/instance.hpp"

namespace cap::host {

class ContrastivePlugin {
public:
    explicit ContrastivePlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    uint32_t wants() const;  // cap_capture_source bits
    // Hands bank.representations over to the module (it owns it after the call, even on error).
    void receive_bank(const cap_exec_context& ctx, const cap_bank& bank) const;
    cap_loss_terms loss(const cap_exec_context& ctx, const cap_contrastive_batch& batch, DLTensor* grad_anchors) const;
    uint64_t memory() const;

private:
    const cap_contrastive_api& api() const { return instance_->table<cap_contrastive_api>(CAP_KIND_CONTRASTIVE); }
    std::unique_ptr<PluginInstance> instance_;
};

}  // namespace cap::host
