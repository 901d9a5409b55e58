// LibTorch side of the C++ helper: views between DLPack DLTensor and at::Tensor.
// Include after (or instead of) cap/plugin.hpp in plugins that compute with LibTorch. Nothing
// here copies data: a view borrows the memory of what it views, so it must not outlive it.
#ifndef CAP_PLUGIN_TORCH_HPP
#define CAP_PLUGIN_TORCH_HPP

#include <ATen/ATen.h>
#include <ATen/DLConvertor.h>

#include <string>

#include "cap/plugin.hpp"

namespace cap {

inline at::ScalarType to_scalar_type(DLDataType t) {
    if (t.lanes != 1) fail("vector dtypes (lanes != 1) are not supported");
    switch (t.code) {
        case kDLFloat:
            if (t.bits == 32) return at::kFloat;
            if (t.bits == 64) return at::kDouble;
            if (t.bits == 16) return at::kHalf;
            break;
        case kDLBfloat:
            if (t.bits == 16) return at::kBFloat16;
            break;
        case kDLInt:
            if (t.bits == 64) return at::kLong;
            if (t.bits == 32) return at::kInt;
            if (t.bits == 16) return at::kShort;
            if (t.bits == 8) return at::kChar;
            break;
        case kDLUInt:
            if (t.bits == 8) return at::kByte;
            break;
        default: break;
    }
    fail("unsupported DLPack dtype (code " + std::to_string(t.code) + ", " +
         std::to_string(t.bits) + " bits)");
}

inline DLDataType to_dl_dtype(at::ScalarType t) {
    switch (t) {
        case at::kFloat: return {kDLFloat, 32, 1};
        case at::kDouble: return {kDLFloat, 64, 1};
        case at::kHalf: return {kDLFloat, 16, 1};
        case at::kBFloat16: return {kDLBfloat, 16, 1};
        case at::kLong: return {kDLInt, 64, 1};
        case at::kInt: return {kDLInt, 32, 1};
        case at::kShort: return {kDLInt, 16, 1};
        case at::kChar: return {kDLInt, 8, 1};
        case at::kByte: return {kDLUInt, 8, 1};
        default: break;
    }
    fail(std::string("no DLPack dtype for ") + c10::toString(t));
}

inline at::Device to_device(DLDevice d) {
    switch (d.device_type) {
        case kDLCPU: return at::Device(at::kCPU);
        case kDLCUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d.device_id));
        default: fail("unsupported DLPack device type " + std::to_string(d.device_type));
    }
}

inline DLDevice to_dl_device(const at::Device& d) {
    if (d.is_cpu()) return {kDLCPU, 0};
    if (d.is_cuda()) return {kDLCUDA, d.has_index() ? d.index() : 0};
    fail("unsupported device " + d.str());
}

// A non-owning at::Tensor over the DLTensor's memory (writes go through to it).
inline at::Tensor to_aten(const DLTensor& t) {
    if (t.ndim < 0) fail("negative ndim");
    if (t.ndim > 0 && !t.shape) fail("DLTensor without shape");
    at::IntArrayRef sizes(t.shape, static_cast<size_t>(t.ndim));
    auto options = at::TensorOptions().dtype(to_scalar_type(t.dtype)).device(to_device(t.device));
    void* data = static_cast<char*>(t.data) + t.byte_offset;
    if (t.strides) {
        at::IntArrayRef strides(t.strides, static_cast<size_t>(t.ndim));
        return at::from_blob(data, sizes, strides, options);
    }
    return at::from_blob(data, sizes, options);  // NULL strides: compact row-major
}

inline at::Tensor to_aten(const DLTensor* t) {
    if (!t) fail("null tensor");
    return to_aten(*t);
}

// A DLTensor view of an at::Tensor. Shape and strides point into the tensor's own metadata,
// so the view is valid while `t` is alive and not resized.
inline DLTensor to_dl(const at::Tensor& t) {
    DLTensor out{};
    out.data = t.data_ptr();
    out.device = to_dl_device(t.device());
    out.ndim = static_cast<int32_t>(t.dim());
    out.dtype = to_dl_dtype(t.scalar_type());
    out.shape = const_cast<int64_t*>(t.sizes().data());
    out.strides = const_cast<int64_t*>(t.strides().data());
    out.byte_offset = 0;
    return out;
}

// Takes over a tensor the host handed over (a contrastive bank) without copying: the result
// owns it and calls its deleter when the last at::Tensor referring to it goes.
inline at::Tensor to_aten(ManagedTensor&& managed) {
    if (!managed.get()) fail("null managed tensor");
    return at::fromDLPack(managed.release());
}

// Hands an at::Tensor over as a DLManagedTensor that keeps it alive until its deleter runs.
inline DLManagedTensor* to_managed(const at::Tensor& t) { return at::toDLPack(t); }

// Copies `value` into the host-allocated `out`, checking that the shapes agree.
inline void write(DLTensor* out, const at::Tensor& value) {
    if (!out) fail("null output tensor");
    at::Tensor target = to_aten(*out);
    if (!target.sizes().equals(value.sizes()))
        fail("output shape " + c10::str(target.sizes()) + " differs from result shape " +
             c10::str(value.sizes()));
    target.copy_(value);
}

// Checks a borrowed tensor's dtype and rank; `what` names it in the error.
inline at::Tensor expect(const DLTensor* t, at::ScalarType dtype, int64_t ndim, const char* what) {
    if (!t) fail(std::string(what) + ": missing tensor");
    at::Tensor a = to_aten(*t);
    if (a.scalar_type() != dtype)
        fail(std::string(what) + ": expected " + c10::toString(dtype) + ", got " +
             c10::toString(a.scalar_type()));
    if (ndim >= 0 && a.dim() != ndim)
        fail(std::string(what) + ": expected " + std::to_string(ndim) + " dimensions, got " +
             std::to_string(a.dim()));
    return a;
}

}  // namespace cap

#endif  // CAP_PLUGIN_TORCH_HPP
