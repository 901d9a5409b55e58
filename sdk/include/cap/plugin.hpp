// Header-only C++17 helper for writing a cap plugin: derive one class from the kind's base
// (cap::Backend, cap::Criterion, cap::Schedule, cap::Contrastive, cap::Distiller), give it
//   static cap::Metadata metadata();
//   Constructor(const cap::Host& host, const cap::Options& options);
// and end the file with CAP_PLUGIN(ClassName). The helper builds the C descriptor and function
// table, checks the host's ABI version, and turns every exception into a cap_status so that none
// crosses the boundary. For LibTorch tensors include "cap/plugin_torch.hpp" as well.
//
// cap::Host and cap::Options are small handles: keep copies of them, never references (the
// ones the constructor receives are temporaries).
//
// Optional class members the helper looks for:
//   static constexpr uint16_t kRequiresHostMinor = N;  // refuse hosts older than ABI 1.N
// Required of backends:
//   static cap::BackendProbe probe(const cap::Host&, const cap::Options&);
#ifndef CAP_PLUGIN_HPP
#define CAP_PLUGIN_HPP

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cap/cap.h"

namespace cap {

// ------------------------------------------------------------------------------------------
// Errors and statuses
// ------------------------------------------------------------------------------------------

// Throw this (or anything derived from std::exception) from plugin code; the helper turns it
// into a status carrying `code` and the message.
class Error : public std::runtime_error {
public:
    Error(cap_status_code code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    cap_status_code code() const noexcept { return code_; }

private:
    cap_status_code code_;
};

[[noreturn]] inline void fail(const std::string& message,
                              cap_status_code code = CAP_ERROR_INVALID_ARGUMENT) {
    throw Error(code, message);
}

namespace detail {

struct OwnedStatus {
    cap_status base;
    std::string message;
};

// Allocates a status inside this library; its release() frees it here too.
inline cap_status* make_status(cap_status_code code, const char* message) noexcept {
    static cap_status out_of_memory = {sizeof(cap_status), CAP_ERROR_OUT_OF_MEMORY,
                                       "out of memory while reporting an error",
                                       [](cap_status*) {}};
    try {
        auto* s = new OwnedStatus();
        s->message = message ? message : "";
        s->base.struct_size = sizeof(cap_status);
        s->base.code = code;
        s->base.message = s->message.c_str();
        s->base.release = [](cap_status* self) { delete reinterpret_cast<OwnedStatus*>(self); };
        return &s->base;
    } catch (...) {
        return &out_of_memory;
    }
}

// Runs `f`, converting any exception into a status. Never throws.
template <class F>
cap_status* guard(F&& f) noexcept {
    try {
        f();
        return nullptr;
    } catch (const Error& e) {
        return make_status(e.code(), e.what());
    } catch (const std::bad_alloc&) {
        return make_status(CAP_ERROR_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return make_status(CAP_ERROR_INTERNAL, e.what());
    } catch (...) {
        return make_status(CAP_ERROR_INTERNAL, "unknown exception inside the plugin");
    }
}

// Takes ownership of a status from the host: throws its message as cap::Error.
inline void throw_if(cap_status* status) {
    if (!status) return;
    std::string message = status->message ? status->message : "";
    auto code = static_cast<cap_status_code>(status->code);
    if (status->release) status->release(status);
    throw Error(code, message);
}

// Copies a caller-filled input struct; fields the caller's (older) struct lacks read as zero.
template <class T>
T read_in(const T* in) {
    T value{};
    if (!in) fail("null struct pointer");
    std::memcpy(&value, in, std::min<size_t>(in->struct_size, sizeof(T)));
    value.struct_size = sizeof(T);
    return value;
}

// Writes an output struct into host storage without passing its struct_size.
template <class T>
void write_out(T* out, const T& value) {
    if (!out) fail("null output pointer");
    const uint32_t capacity = out->struct_size;
    std::memcpy(out, &value, std::min<size_t>(capacity, sizeof(T)));
    out->struct_size = capacity;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Host services and options
// ------------------------------------------------------------------------------------------

class Host {
public:
    explicit Host(const cap_host_api* api) : api_(api) {}
    const cap_host_api* raw() const { return api_; }
    uint16_t abi_major() const { return api_->abi_major; }
    uint16_t abi_minor() const { return api_->abi_minor; }

    void log(cap_log_level level, const std::string& message) const {
        if (api_->log) api_->log(api_, level, message.c_str());
    }
    void debug(const std::string& m) const { log(CAP_LOG_DEBUG, m); }
    void info(const std::string& m) const { log(CAP_LOG_INFO, m); }
    void warn(const std::string& m) const { log(CAP_LOG_WARN, m); }
    uint64_t seed(const char* stream = nullptr) const {
        return api_->seed ? api_->seed(api_, stream) : 0;
    }

private:
    const cap_host_api* api_;
};

class Options {
public:
    Options(const cap_host_api* api, const cap_options* options) : api_(api), opts_(options) {}

    bool get_bool(const char* name) const {
        int32_t v = 0;
        detail::throw_if(api_->option_bool(api_, opts_, name, &v));
        return v != 0;
    }
    int64_t get_int(const char* name) const {
        int64_t v = 0;
        detail::throw_if(api_->option_int(api_, opts_, name, &v));
        return v;
    }
    double get_float(const char* name) const {
        double v = 0;
        detail::throw_if(api_->option_float(api_, opts_, name, &v));
        return v;
    }
    std::string get_string(const char* name) const {
        const char* v = nullptr;
        detail::throw_if(api_->option_string(api_, opts_, name, &v));
        return v ? v : "";
    }
    std::vector<double> get_float_list(const char* name) const {
        const double* v = nullptr;
        size_t n = 0;
        detail::throw_if(api_->option_float_list(api_, opts_, name, &v, &n));
        return std::vector<double>(v, v + n);
    }

private:
    const cap_host_api* api_;
    const cap_options* opts_;
};

// ------------------------------------------------------------------------------------------
// Option schema
// ------------------------------------------------------------------------------------------

// One declared option. Builders return *this so declarations chain:
//   cap::Option::Float("temperature", 0.1, "softmax temperature").range(1e-4, 10)
class Option {
public:
    static Option Bool(std::string name, bool def, std::string doc) {
        Option o(CAP_OPTION_BOOL, std::move(name), std::move(doc));
        o.spec_.default_bool = def ? 1 : 0;
        return o;
    }
    static Option Int(std::string name, int64_t def, std::string doc) {
        Option o(CAP_OPTION_INT, std::move(name), std::move(doc));
        o.spec_.default_int = def;
        return o;
    }
    static Option Float(std::string name, double def, std::string doc) {
        Option o(CAP_OPTION_FLOAT, std::move(name), std::move(doc));
        o.spec_.default_float = def;
        return o;
    }
    static Option String(std::string name, std::string def, std::string doc) {
        Option o(CAP_OPTION_STRING, std::move(name), std::move(doc));
        o.default_string_ = std::move(def);
        return o;
    }
    static Option FloatList(std::string name, std::vector<double> def, std::string doc) {
        Option o(CAP_OPTION_FLOAT_LIST, std::move(name), std::move(doc));
        o.default_list_ = std::move(def);
        return o;
    }

    Option& min(double v) {
        spec_.flags |= CAP_OPTION_HAS_MIN;
        spec_.min_value = v;
        return *this;
    }
    Option& max(double v) {
        spec_.flags |= CAP_OPTION_HAS_MAX;
        spec_.max_value = v;
        return *this;
    }
    Option& range(double lo, double hi) { return min(lo).max(hi); }
    Option& required() {
        spec_.flags |= CAP_OPTION_REQUIRED;
        return *this;
    }
    Option& path() {
        spec_.flags |= CAP_OPTION_PATH;
        return *this;
    }
    Option& choices(std::vector<std::string> values) {
        choices_ = std::move(values);
        return *this;
    }

    // The C view; valid while this Option lives and is not modified.
    const cap_option_spec* spec() {
        spec_.name = name_.c_str();
        spec_.doc = doc_.c_str();
        spec_.default_string = spec_.type == CAP_OPTION_STRING ? default_string_.c_str() : nullptr;
        spec_.default_list = default_list_.empty() ? nullptr : default_list_.data();
        spec_.default_list_count = default_list_.size();
        choice_ptrs_.clear();
        for (auto& c : choices_) choice_ptrs_.push_back(c.c_str());
        choice_ptrs_.push_back(nullptr);
        spec_.choices = choices_.empty() ? nullptr : choice_ptrs_.data();
        return &spec_;
    }

private:
    Option(cap_option_type type, std::string name, std::string doc)
        : name_(std::move(name)), doc_(std::move(doc)) {
        spec_.struct_size = sizeof(cap_option_spec);
        spec_.type = type;
    }

    cap_option_spec spec_{};
    std::string name_, doc_, default_string_;
    std::vector<double> default_list_;
    std::vector<std::string> choices_;
    std::vector<const char*> choice_ptrs_;
};

struct Metadata {
    std::string name;
    std::string version;
    std::string summary;
    std::vector<Option> options;
};

// ------------------------------------------------------------------------------------------
// Kind base classes
// ------------------------------------------------------------------------------------------

// The groups of a call, each copied with detail::read_in so that fields an older host's struct
// lacks read as zero (the tensors they point to stay borrowed).
class Groups {
public:
    Groups(const cap_unit_group* const* items, uint32_t count) {
        if (count && !items) fail("null group array");
        for (uint32_t i = 0; i < count; ++i) groups_.push_back(detail::read_in(items[i]));
    }
    const cap_unit_group& operator[](uint32_t i) const { return groups_.at(i); }
    uint32_t size() const { return static_cast<uint32_t>(groups_.size()); }

    // ABI 1.2: the linears of structured group i (empty when the host gave none: a criterion
    // that did not ask, or a 1.1 host), each copied as the groups are.
    std::vector<cap_unit_group> linears(uint32_t i) const {
        const cap_unit_group& g = groups_.at(i);
        std::vector<cap_unit_group> out;
        if (g.linear_count && !g.linears)
            fail("group " + std::string(g.name ? g.name : "") + " has no linears array");
        for (uint32_t k = 0; k < g.linear_count; ++k) out.push_back(detail::read_in(g.linears[k]));
        return out;
    }

private:
    std::vector<cap_unit_group> groups_;
};
// Host-allocated output tensors, one per group.
struct Outputs {
    DLTensor* const* items;
    uint32_t count;
    DLTensor* operator[](uint32_t i) const {
        if (i >= count || !items || !items[i]) fail("missing output tensor " + std::to_string(i));
        return items[i];
    }
    uint32_t size() const { return count; }
};

// Owns a DLManagedTensor handed over by the host (a contrastive bank): calls its deleter when
// destroyed unless release()d. See cap/plugin_torch.hpp for a zero-copy at::Tensor of it.
class ManagedTensor {
public:
    explicit ManagedTensor(DLManagedTensor* t = nullptr) : t_(t) {}
    ManagedTensor(ManagedTensor&& o) noexcept : t_(o.t_) { o.t_ = nullptr; }
    ManagedTensor& operator=(ManagedTensor&& o) noexcept {
        if (this != &o) {
            reset();
            t_ = o.t_;
            o.t_ = nullptr;
        }
        return *this;
    }
    ManagedTensor(const ManagedTensor&) = delete;
    ManagedTensor& operator=(const ManagedTensor&) = delete;
    ~ManagedTensor() { reset(); }

    const DLTensor* get() const { return t_ ? &t_->dl_tensor : nullptr; }
    DLManagedTensor* release() {
        DLManagedTensor* t = t_;
        t_ = nullptr;
        return t;
    }
    void reset() {
        if (t_ && t_->deleter) t_->deleter(t_);
        t_ = nullptr;
    }

private:
    DLManagedTensor* t_;
};

struct BackendProbe {
    bool available = false;
    DLDevice device{kDLCPU, 0};
    int32_t device_count = 0;
    std::string reason;
};

class Backend {
public:
    static constexpr cap_plugin_kind kKind = CAP_KIND_BACKEND;
    virtual ~Backend() = default;
    virtual cap_exec_context context() = 0;
    virtual cap_precision_policy precision() = 0;
    virtual void synchronize(const cap_exec_context& ctx) = 0;
    virtual cap_memory_info memory() = 0;
    virtual std::string describe() = 0;
};

// Override the entries of your style (see cap/criterion.h): importance-based criteria the
// first four, score-based ones binarize (and optionally the rest). The helper exports an entry
// only when the derived class overrides it.
class Criterion {
public:
    static constexpr cap_plugin_kind kKind = CAP_KIND_CRITERION;
    virtual ~Criterion() = default;
    virtual cap_criterion_info info() = 0;
    virtual void reset() { unsupported("reset"); }
    virtual void accumulate(const cap_exec_context&, const cap_batch_info&, Groups) {
        unsupported("accumulate");
    }
    virtual void importance(const cap_exec_context&, Groups, Outputs) { unsupported("importance"); }
    virtual void select(const cap_exec_context&, const cap_selection&, const cap_constraints&,
                        Groups, Outputs) {
        unsupported("select");
    }
    virtual void init_scores(const cap_exec_context&, Groups, Outputs) {
        unsupported("init_scores");
    }
    virtual void binarize(const cap_exec_context&, const cap_schedule_point&, const cap_progress&,
                          Groups, Outputs) {
        unsupported("binarize");
    }
    virtual void binarize_backward(const cap_exec_context&, const cap_schedule_point&,
                                   const cap_progress&, Groups, const DLTensor* const*, Outputs) {
        unsupported("binarize_backward");
    }
    virtual double regularizer(const cap_exec_context&, const cap_schedule_point&,
                               const cap_progress&, Groups, Outputs) {
        unsupported("regularizer");
    }

private:
    [[noreturn]] static void unsupported(const char* what) {
        fail(std::string(what) + " not implemented", CAP_ERROR_UNSUPPORTED);
    }
};

class Schedule {
public:
    static constexpr cap_plugin_kind kKind = CAP_KIND_SCHEDULE;
    virtual ~Schedule() = default;
    virtual void bind(const cap_model_shape& shape, const cap_constraints& constraints) = 0;
    virtual uint32_t num_stages() = 0;
    virtual cap_stage stage(uint32_t index) = 0;
    virtual cap_schedule_point at(const cap_progress& progress) = 0;
};

class Contrastive {
public:
    static constexpr cap_plugin_kind kKind = CAP_KIND_CONTRASTIVE;
    virtual ~Contrastive() = default;
    virtual uint32_t wants() = 0;
    // `representations` is the bank's data, now owned by the plugin (see ManagedTensor).
    virtual void receive_bank(const cap_exec_context& ctx, const cap_bank& bank,
                              ManagedTensor representations) = 0;
    virtual cap_loss_terms loss(const cap_exec_context& ctx, const cap_contrastive_batch& batch,
                                const cap_progress& progress, DLTensor* grad_anchors) = 0;
    virtual uint64_t memory() = 0;
};

class Distiller {
public:
    static constexpr cap_plugin_kind kKind = CAP_KIND_DISTILL;
    virtual ~Distiller() = default;
    // batch.student_logits and batch.teacher_logits are never NULL here.
    virtual double loss(const cap_exec_context& ctx, const cap_distill_batch& batch,
                        DLTensor* grad_student) = 0;
};

// ------------------------------------------------------------------------------------------
// Glue: descriptor, tables and the entry point
// ------------------------------------------------------------------------------------------

namespace detail {

template <class T, class = void>
struct RequiredMinor : std::integral_constant<uint16_t, 0> {};
template <class T>
struct RequiredMinor<T, std::void_t<decltype(T::kRequiresHostMinor)>>
    : std::integral_constant<uint16_t, T::kRequiresHostMinor> {};

template <class Base>
Base& self_as(void* self) {
    if (!self) fail("null plugin instance");
    return *static_cast<Base*>(self);
}

template <class T, class Base>
struct Table;

template <class T>
struct Table<T, Backend> {
    static const cap_backend_api* get() {
        static const cap_backend_api table = {
            sizeof(cap_backend_api),
            [](const cap_host_api* host, const cap_options* options, cap_backend_probe* out) {
                return guard([&] {
                    BackendProbe p = T::probe(Host(host), Options(host, options));
                    cap_backend_probe c{};
                    c.struct_size = sizeof(c);
                    c.available = p.available ? 1 : 0;
                    c.device = p.device;
                    c.device_count = p.device_count;
                    std::strncpy(c.reason, p.reason.c_str(), sizeof(c.reason) - 1);
                    write_out(out, c);
                });
            },
            [](void* self, cap_exec_context* out) {
                return guard([&] { write_out(out, self_as<Backend>(self).context()); });
            },
            [](void* self, cap_precision_policy* out) {
                return guard([&] { write_out(out, self_as<Backend>(self).precision()); });
            },
            [](void* self, const cap_exec_context* ctx) {
                return guard([&] { self_as<Backend>(self).synchronize(read_in(ctx)); });
            },
            [](void* self, cap_memory_info* out) {
                return guard([&] { write_out(out, self_as<Backend>(self).memory()); });
            },
            [](void* self, char* buffer, size_t size) {
                return guard([&] {
                    if (!buffer || size == 0) fail("empty description buffer");
                    std::string text = self_as<Backend>(self).describe();
                    size_t n = std::min(size - 1, text.size());
                    std::memcpy(buffer, text.data(), n);
                    buffer[n] = '\0';
                });
            },
        };
        return &table;
    }
};

template <class T>
struct Table<T, Criterion> {
    static const cap_criterion_api* get() {
        static const cap_criterion_api table = make();
        return &table;
    }
    static cap_criterion_api make() {
        cap_criterion_api t{};
        t.struct_size = sizeof(t);
        t.info = [](void* self, cap_criterion_info* out) {
            return guard([&] { write_out(out, self_as<Criterion>(self).info()); });
        };
        // A member the derived class did not override has Criterion's type, not T's.
        if constexpr (!std::is_same_v<decltype(&T::reset), decltype(&Criterion::reset)>)
            t.reset = [](void* self) { return guard([&] { self_as<Criterion>(self).reset(); }); };
        if constexpr (!std::is_same_v<decltype(&T::accumulate), decltype(&Criterion::accumulate)>)
            t.accumulate = [](void* self, const cap_exec_context* ctx, const cap_batch_info* batch,
                              const cap_unit_group* const* g, uint32_t n) {
                return guard([&] {
                    self_as<Criterion>(self).accumulate(read_in(ctx), read_in(batch), Groups{g, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::importance), decltype(&Criterion::importance)>)
            t.importance = [](void* self, const cap_exec_context* ctx,
                              const cap_unit_group* const* g, uint32_t n, DLTensor* const* out) {
                return guard([&] {
                    self_as<Criterion>(self).importance(read_in(ctx), Groups{g, n},
                                                        Outputs{out, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::select), decltype(&Criterion::select)>)
            t.select = [](void* self, const cap_exec_context* ctx, const cap_selection* sel,
                          const cap_unit_group* const* g, uint32_t n, DLTensor* const* out) {
                return guard([&] {
                    const cap_selection s = read_in(sel);
                    self_as<Criterion>(self).select(read_in(ctx), s, read_in(s.constraints),
                                                    Groups{g, n}, Outputs{out, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::init_scores), decltype(&Criterion::init_scores)>)
            t.init_scores = [](void* self, const cap_exec_context* ctx,
                               const cap_unit_group* const* g, uint32_t n, DLTensor* const* out) {
                return guard([&] {
                    self_as<Criterion>(self).init_scores(read_in(ctx), Groups{g, n},
                                                         Outputs{out, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::binarize), decltype(&Criterion::binarize)>)
            t.binarize = [](void* self, const cap_exec_context* ctx,
                            const cap_schedule_point* point, const cap_progress* progress,
                            const cap_unit_group* const* g, uint32_t n, DLTensor* const* out) {
                return guard([&] {
                    self_as<Criterion>(self).binarize(read_in(ctx), read_in(point),
                                                      read_in(progress), Groups{g, n},
                                                      Outputs{out, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::binarize_backward),
                                      decltype(&Criterion::binarize_backward)>)
            t.binarize_backward = [](void* self, const cap_exec_context* ctx,
                                     const cap_schedule_point* point, const cap_progress* progress,
                                     const cap_unit_group* const* g, uint32_t n,
                                     const DLTensor* const* grad_masks, DLTensor* const* out) {
                return guard([&] {
                    self_as<Criterion>(self).binarize_backward(read_in(ctx), read_in(point),
                                                               read_in(progress), Groups{g, n},
                                                               grad_masks, Outputs{out, n});
                });
            };
        if constexpr (!std::is_same_v<decltype(&T::regularizer), decltype(&Criterion::regularizer)>)
            t.regularizer = [](void* self, const cap_exec_context* ctx,
                               const cap_schedule_point* point, const cap_progress* progress,
                               const cap_unit_group* const* g, uint32_t n, double* value,
                               DLTensor* const* out) {
                return guard([&] {
                    if (!value) fail("null value pointer");
                    *value = self_as<Criterion>(self).regularizer(read_in(ctx), read_in(point),
                                                                  read_in(progress), Groups{g, n},
                                                                  Outputs{out, n});
                });
            };
        return t;
    }
};

template <class T>
struct Table<T, Schedule> {
    static const cap_schedule_api* get() {
        static const cap_schedule_api table = {
            sizeof(cap_schedule_api),
            [](void* self, const cap_model_shape* shape, const cap_constraints* constraints) {
                return guard(
                    [&] { self_as<Schedule>(self).bind(read_in(shape), read_in(constraints)); });
            },
            [](void* self, uint32_t* out) {
                return guard([&] {
                    if (!out) fail("null output pointer");
                    *out = self_as<Schedule>(self).num_stages();
                });
            },
            [](void* self, uint32_t index, cap_stage* out) {
                return guard([&] { write_out(out, self_as<Schedule>(self).stage(index)); });
            },
            [](void* self, const cap_progress* progress, cap_schedule_point* out) {
                return guard(
                    [&] { write_out(out, self_as<Schedule>(self).at(read_in(progress))); });
            },
        };
        return &table;
    }
};

template <class T>
struct Table<T, Contrastive> {
    static const cap_contrastive_api* get() {
        static const cap_contrastive_api table = {
            sizeof(cap_contrastive_api),
            [](void* self, uint32_t* out) {
                return guard([&] {
                    if (!out) fail("null output pointer");
                    *out = self_as<Contrastive>(self).wants();
                });
            },
            [](void* self, const cap_exec_context* ctx, const cap_bank* bank) {
                // Ownership of the representations passes first, so they are freed even if
                // anything below fails.
                ManagedTensor representations(bank ? bank->representations : nullptr);
                return guard([&] {
                    const cap_bank b = read_in(bank);
                    if (!representations.get()) fail("bank without representations");
                    self_as<Contrastive>(self).receive_bank(read_in(ctx), b,
                                                            std::move(representations));
                });
            },
            [](void* self, const cap_exec_context* ctx, const cap_contrastive_batch* batch,
               cap_loss_terms* out, DLTensor* grad) {
                return guard([&] {
                    const cap_contrastive_batch b = read_in(batch);
                    write_out(out, self_as<Contrastive>(self).loss(read_in(ctx), b,
                                                                   read_in(b.progress), grad));
                });
            },
            [](void* self, uint64_t* out) {
                return guard([&] {
                    if (!out) fail("null output pointer");
                    *out = self_as<Contrastive>(self).memory();
                });
            },
        };
        return &table;
    }
};

template <class T>
struct Table<T, Distiller> {
    static const cap_distill_api* get() {
        static const cap_distill_api table = {
            sizeof(cap_distill_api),
            [](void* self, const cap_exec_context* ctx, const cap_distill_batch* batch,
               double* value, DLTensor* grad) {
                return guard([&] {
                    const cap_distill_batch b = read_in(batch);
                    if (!b.student_logits || !b.teacher_logits || !value)
                        fail("null logits or value pointer");
                    *value = self_as<Distiller>(self).loss(read_in(ctx), b, grad);
                });
            },
        };
        return &table;
    }
};

template <class T>
using KindBase = std::conditional_t<
    std::is_base_of_v<Backend, T>, Backend,
    std::conditional_t<std::is_base_of_v<Criterion, T>, Criterion,
                       std::conditional_t<std::is_base_of_v<Schedule, T>, Schedule,
                                          std::conditional_t<std::is_base_of_v<Contrastive, T>,
                                                             Contrastive, Distiller>>>>;

// Owns the metadata and the C descriptor built from it, for the life of the library.
template <class T>
struct Registration {
    using Base = KindBase<T>;
    static_assert(std::is_base_of_v<Base, T>,
                  "a plugin class derives from cap::Backend, Criterion, Schedule, Contrastive "
                  "or Distiller");

    Metadata meta = T::metadata();
    std::vector<const cap_option_spec*> option_ptrs;
    cap_plugin_descriptor descriptor{};

    Registration() {
        for (auto& o : meta.options) option_ptrs.push_back(o.spec());
        descriptor.struct_size = sizeof(cap_plugin_descriptor);
        descriptor.abi_major = CAP_ABI_VERSION_MAJOR;
        descriptor.abi_minor = CAP_ABI_VERSION_MINOR;
        descriptor.kind = Base::kKind;
        descriptor.name = meta.name.c_str();
        descriptor.version = meta.version.c_str();
        descriptor.summary = meta.summary.c_str();
        descriptor.options = option_ptrs.empty() ? nullptr : option_ptrs.data();
        descriptor.num_options = static_cast<uint32_t>(option_ptrs.size());
        descriptor.create = [](const cap_host_api* host, const cap_options* options, void** out) {
            return guard([&] {
                if (!out) fail("null output pointer");
                *out = static_cast<Base*>(new T(Host(host), Options(host, options)));
            });
        };
        descriptor.destroy = [](void* instance) { delete static_cast<Base*>(instance); };
        descriptor.functions = Table<T, Base>::get();
    }
};

template <class T>
cap_status* entry(const cap_host_api* host, const cap_plugin_descriptor** out) noexcept {
    return guard([&] {
        if (!out) fail("null descriptor pointer");
        *out = nullptr;
        if (!host) fail("null host table");
        const std::string built =
            std::to_string(CAP_ABI_VERSION_MAJOR) + "." + std::to_string(CAP_ABI_VERSION_MINOR);
        const std::string offered =
            std::to_string(host->abi_major) + "." + std::to_string(host->abi_minor);
        if (host->abi_major != CAP_ABI_VERSION_MAJOR)
            fail("plugin built for ABI " + built + " cannot run on a host offering ABI " + offered,
                 CAP_ERROR_VERSION);
        constexpr uint16_t needed = RequiredMinor<T>::value;
        if (host->abi_minor < needed)
            fail("plugin needs host ABI " + std::to_string(CAP_ABI_VERSION_MAJOR) + "." +
                     std::to_string(needed) + " or newer; the host offers ABI " + offered,
                 CAP_ERROR_VERSION);
        static Registration<T> registration;
        *out = &registration.descriptor;
    });
}

}  // namespace detail
}  // namespace cap

// Defines the library's single exported entry point for plugin class `Class`.
#define CAP_PLUGIN(Class)                                                                          \
    extern "C" CAP_PLUGIN_EXPORT cap_status* cap_plugin_entry(const cap_host_api* host,            \
                                                              const cap_plugin_descriptor** out) { \
        return ::cap::detail::entry<Class>(host, out);                                             \
    }

#endif  // CAP_PLUGIN_HPP
