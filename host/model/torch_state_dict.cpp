#include "model/torch_state_dict.hpp"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

namespace cap::model {

namespace {

struct Object;
using Ref = std::shared_ptr<Object>;

// A pickle value, restricted to what state dicts contain.
struct Object {
    enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Mark, Storage, Tensor } kind;
    int64_t integer = 0;
    double floating = 0;
    std::string text;                          // String; Global: "module.name"
    std::vector<Ref> items;                    // Tuple, List
    std::vector<std::pair<Ref, Ref>> entries;  // Dict
    at::Tensor tensor;                         // Storage (flat, as stored) and Tensor
};

Ref make(Object::Kind kind) {
    auto o = std::make_shared<Object>();
    o->kind = kind;
    return o;
}

at::ScalarType storage_dtype(const std::string& global) {
    static const std::map<std::string, at::ScalarType> types = {
        {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
        {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
        {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
        {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
        {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
    auto it = types.find(global);
    if (it == types.end()) throw std::runtime_error("unsupported storage type " + global);
    return it->second;
}

class Unpickler {
public:
    Unpickler(const char* data, size_t size, caffe2::serialize::PyTorchStreamReader& archive)
        : p_(data), end_(data + size), start_(data), archive_(archive) {}

    Ref run() {
        for (;;) {
            const size_t at = static_cast<size_t>(p_ - start_);
            const uint8_t op = u8();
            switch (op) {
                case 0x80: u8(); break;     // PROTO
                case 0x95: take(8); break;  // FRAME
                case '(': stack_.push_back(make(Object::Kind::Mark)); break;
                case '.': return pop();  // STOP
                case 'N': stack_.push_back(make(Object::Kind::None)); break;
                case 0x88:
                case 0x89: {  // NEWTRUE, NEWFALSE
                    auto o = make(Object::Kind::Bool);
                    o->integer = op == 0x88;
                    stack_.push_back(o);
                    break;
                }
                case 'J': push_int(static_cast<int32_t>(le(4))); break;
                case 'K': push_int(static_cast<int64_t>(le(1))); break;
                case 'M': push_int(static_cast<int64_t>(le(2))); break;
                case 0x8a: {  // LONG1
                    const size_t n = u8();
                    if (n > 8) throw error(at, "integer too large");
                    uint64_t v = le(n);
                    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
                    push_int(static_cast<int64_t>(v));
                    break;
                }
                case 'G': {  // BINFLOAT, big-endian
                    uint64_t bits = 0;
                    for (int i = 0; i < 8; ++i) bits = (bits << 8) | u8();
                    auto o = make(Object::Kind::Float);
                    std::memcpy(&o->floating, &bits, 8);
                    stack_.push_back(o);
                    break;
                }
                case 'X': push_string(take(le(4))); break;   // BINUNICODE
                case 0x8c: push_string(take(u8())); break;   // SHORT_BINUNICODE
                case 0x8d: push_string(take(le(8))); break;  // BINUNICODE8
                case 'c': {                                  // GLOBAL
                    std::string module = line(), name = line();
                    auto o = make(Object::Kind::Global);
                    o->text = module + "." + name;
                    stack_.push_back(o);
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    Ref name = pop(), module = pop();
                    auto o = make(Object::Kind::Global);
                    o->text = module->text + "." + name->text;
                    stack_.push_back(o);
                    break;
                }
                case 'q': memo_[le(1)] = top(); break;          // BINPUT
                case 'r': memo_[le(4)] = top(); break;          // LONG_BINPUT
                case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
                case 'h': stack_.push_back(memo(le(1), at)); break;
                case 'j': stack_.push_back(memo(le(4), at)); break;
                case ')': stack_.push_back(make(Object::Kind::Tuple)); break;
                case ']': stack_.push_back(make(Object::Kind::List)); break;
                case '}': stack_.push_back(make(Object::Kind::Dict)); break;
                case 't': {
                    auto o = make(Object::Kind::Tuple);
                    o->items = pop_to_mark();
                    stack_.push_back(o);
                    break;
                }
                case 0x85:
                case 0x86:
                case 0x87: {  // TUPLE1..3
                    auto o = make(Object::Kind::Tuple);
                    o->items.resize(op - 0x84);
                    for (size_t i = o->items.size(); i-- > 0;) o->items[i] = pop();
                    stack_.push_back(o);
                    break;
                }
                case 'a': {  // APPEND
                    Ref v = pop();
                    top()->items.push_back(v);
                    break;
                }
                case 'e': {  // APPENDS
                    auto values = pop_to_mark();
                    for (auto& v : values) top()->items.push_back(v);
                    break;
                }
                case 's': {  // SETITEM
                    Ref v = pop(), k = pop();
                    dict_top(at)->entries.emplace_back(k, v);
                    break;
                }
                case 'u': {  // SETITEMS
                    auto values = pop_to_mark();
                    if (values.size() % 2) throw error(at, "odd SETITEMS");
                    Ref d = dict_top(at);
                    for (size_t i = 0; i < values.size(); i += 2) d->entries.emplace_back(values[i], values[i + 1]);
                    break;
                }
                case 'b': pop(); break;  // BUILD: OrderedDict's _metadata, ignored
                case 'Q': {              // BINPERSID
                    Ref pid = pop();
                    stack_.push_back(load_storage(pid, at));
                    break;
                }
                case 'R': {  // REDUCE
                    Ref args = pop(), callable = pop();
                    stack_.push_back(reduce(callable, args, at));
                    break;
                }
                default:
                    throw error(
                        at, "unsupported pickle opcode 0x" + hex(op) + " (not a plain state dict saved by torch.save)");
            }
        }
    }

private:
    std::runtime_error error(size_t at, const std::string& why) const {
        return std::runtime_error("data.pkl byte " + std::to_string(at) + ": " + why);
    }
    static std::string hex(uint8_t v) {
        const char* d = "0123456789abcdef";
        return {d[v >> 4], d[v & 15]};
    }
    uint8_t u8() {
        if (p_ >= end_) throw std::runtime_error("data.pkl ends early (truncated file?)");
        return static_cast<uint8_t>(*p_++);
    }
    uint64_t le(size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(u8()) << (8 * i);
        return v;
    }
    std::string take(uint64_t n) {
        if (n > static_cast<uint64_t>(end_ - p_)) throw std::runtime_error("data.pkl ends early (truncated file?)");
        std::string s(p_, static_cast<size_t>(n));
        p_ += n;
        return s;
    }
    std::string line() {
        std::string s;
        for (char c = static_cast<char>(u8()); c != '\n'; c = static_cast<char>(u8())) s += c;
        return s;
    }
    void push_int(int64_t v) {
        auto o = make(Object::Kind::Int);
        o->integer = v;
        stack_.push_back(o);
    }
    void push_string(std::string s) {
        auto o = make(Object::Kind::String);
        o->text = std::move(s);
        stack_.push_back(o);
    }
    Ref pop() {
        if (stack_.empty()) throw std::runtime_error("data.pkl: pickle stack underflow (corrupt file?)");
        Ref r = stack_.back();
        stack_.pop_back();
        return r;
    }
    Ref top() {
        if (stack_.empty()) throw std::runtime_error("data.pkl: pickle stack underflow (corrupt file?)");
        return stack_.back();
    }
    Ref dict_top(size_t at) {
        Ref d = top();
        if (d->kind != Object::Kind::Dict) throw error(at, "SETITEM on something that is not a dict");
        return d;
    }
    Ref memo(uint64_t key, size_t at) {
        auto it = memo_.find(key);
        if (it == memo_.end()) throw error(at, "reference to unknown memo entry " + std::to_string(key));
        return it->second;
    }
    std::vector<Ref> pop_to_mark() {
        std::vector<Ref> out;
        for (;;) {
            Ref r = pop();
            if (r->kind == Object::Kind::Mark) break;
            out.push_back(r);
        }
        return {out.rbegin(), out.rend()};
    }
    static int64_t as_int(const Ref& r) {
        if (r->kind != Object::Kind::Int) throw std::runtime_error("data.pkl: expected an integer");
        return r->integer;
    }
    static std::vector<int64_t> as_ints(const Ref& r) {
        std::vector<int64_t> out;
        for (const auto& i : r->items) out.push_back(as_int(i));
        return out;
    }

    Ref load_storage(const Ref& pid, size_t at) {
        if (pid->kind != Object::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->text != "storage")
            throw error(at, "unexpected persistent id");
        const at::ScalarType dtype = storage_dtype(pid->items[1]->text);
        const std::string key = pid->items[2]->text;
        const int64_t numel = as_int(pid->items[4]);
        auto cached = storages_.find(key);
        if (cached != storages_.end()) return cached->second;
        const std::string record = "data/" + key;
        if (!archive_.hasRecord(record)) throw error(at, "storage record " + record + " is missing from the archive");
        auto [data, size] = archive_.getRecord(record);
        const size_t needed = static_cast<size_t>(numel) * at::elementSize(dtype);
        if (size < needed)
            throw error(
                at, "storage " + record + " has " + std::to_string(size) + " bytes, needs " + std::to_string(needed));
        auto o = make(Object::Kind::Storage);
        o->tensor = at::empty({numel}, at::TensorOptions().dtype(dtype));
        if (needed) std::memcpy(o->tensor.data_ptr(), data.get(), needed);
        storages_[key] = o;
        return o;
    }

    Ref reduce(const Ref& callable, const Ref& args, size_t at) {
        const std::string& fn = callable->text;
        if (callable->kind != Object::Kind::Global) throw error(at, "REDUCE of a non-global");
        if (fn == "collections.OrderedDict") return make(Object::Kind::Dict);
        if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") {
            if (args->items.size() < 4 || args->items[0]->kind != Object::Kind::Storage)
                throw error(at, "malformed tensor record");
            const at::Tensor& storage = args->items[0]->tensor;
            const int64_t offset = as_int(args->items[1]);
            auto size = as_ints(args->items[2]);
            auto stride = as_ints(args->items[3]);
            int64_t last = offset;
            for (size_t i = 0; i < size.size(); ++i)
                if (size[i] > 0) last += (size[i] - 1) * stride[i];
            if (offset < 0 || (storage.numel() > 0 && last >= storage.numel()) || (storage.numel() == 0 && last > 0))
                throw error(at, "tensor view lies outside its storage");
            auto o = make(Object::Kind::Tensor);
            o->tensor = storage.as_strided(size, stride, offset).clone();
            return o;
        }
        if (fn == "torch._utils._rebuild_parameter" || fn == "torch.nn.parameter.Parameter") {
            if (args->items.empty() || args->items[0]->kind != Object::Kind::Tensor)
                throw error(at, "malformed parameter");
            return args->items[0];
        }
        throw error(at, "refusing to call " + fn + ": not part of a plain state dict");
    }

    const char* p_;
    const char* end_;
    const char* start_;
    caffe2::serialize::PyTorchStreamReader& archive_;
    std::vector<Ref> stack_;
    std::map<uint64_t, Ref> memo_;
    std::map<std::string, Ref> storages_;
};

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> read_torch_state_dict(const std::filesystem::path& path) {
    const std::string file = path.string();
    if (!std::filesystem::is_regular_file(path)) throw std::runtime_error("cannot read " + file);
    try {
        caffe2::serialize::PyTorchStreamReader archive(file);
        if (!archive.hasRecord("data.pkl")) throw std::runtime_error("no data.pkl in the archive");
        auto [data, size] = archive.getRecord("data.pkl");
        const char* bytes = static_cast<const char*>(data.get());
        Unpickler unpickler(bytes, size, archive);
        Ref root = unpickler.run();
        if (root->kind != Object::Kind::Dict) throw std::runtime_error("the pickled object is not a state dict");
        std::vector<std::pair<std::string, at::Tensor>> out;
        for (auto& [k, v] : root->entries) {
            if (k->kind != Object::Kind::String || v->kind != Object::Kind::Tensor)
                throw std::runtime_error("state dict entry is not a name and a tensor");
            at::Tensor t = v->tensor;
            if (t.is_floating_point() && t.scalar_type() != at::kFloat) t = t.to(at::kFloat);
            out.emplace_back(k->text, t);
        }
        return out;
    } catch (const c10::Error& e) {
        throw std::runtime_error(file + ": not a readable torch.save archive: " + e.what_without_backtrace());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(file + ": " + e.what());
    }
}

}  // namespace cap::model
