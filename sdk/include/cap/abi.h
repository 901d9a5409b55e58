/*
 * cap plugin ABI: the core contract between the `cap` host and a plugin library.
 *
 * Plain C99; compiles as C and as C++. Tensors cross the boundary only as DLPack `DLTensor`
 * views. Rules that hold for everything declared here (see docs/abi.md for the full contract):
 *
 *  - Versions: CAP_ABI_VERSION_MAJOR changes break compatibility; a minor bump only appends.
 *  - Every struct starts with `uint32_t struct_size`. A struct passed in is filled by the caller,
 *    who sets struct_size to sizeof() as *it* was compiled; the reader uses CAP_HAS_FIELD before
 *    touching a field that a newer minor appended (missing fields read as zero). An output
 *    struct is allocated and zeroed by the host, which sets struct_size to the size it
 *    allocated; the plugin writes no byte past struct_size and leaves struct_size alone.
 *  - Function tables are append-only. An optional entry may be NULL; required entries never are
 *    (the host checks at load and rejects the plugin otherwise).
 *  - Fallible calls return `cap_status*`: NULL means success. A non-NULL status belongs to the
 *    caller, who must call `status->release(status)` exactly once; the release function lives in
 *    the library that made the status, so memory is freed where it was allocated.
 *  - No C++ exception crosses the boundary in either direction.
 *  - Tensors passed in are borrowed for the duration of the call only. Outputs are written into
 *    tensors the host allocated (shape and dtype as documented per call).
 *  - Threading: the host never calls into one plugin instance from two threads at once; distinct
 *    instances may be used concurrently. Host services may be called from any thread. Each entry
 *    of a kind's table says on which thread it is called ("the run's thread": the thread that
 *    drives the run that created the instance) and who owns what it touches.
 */
#ifndef CAP_ABI_H
#define CAP_ABI_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Versions                                                                                   */
/* ------------------------------------------------------------------------------------------ */

#define CAP_ABI_VERSION_MAJOR 1
#define CAP_ABI_VERSION_MINOR 3

/* The single symbol every plugin library exports. */
#define CAP_PLUGIN_ENTRY_SYMBOL "cap_plugin_entry"

#if defined(_WIN32)
#define CAP_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CAP_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct filled by the other side is large enough to hold `field`. */
#define CAP_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ------------------------------------------------------------------------------------------ */
/* Status                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef enum cap_status_code {
    CAP_OK = 0,
    CAP_ERROR_INVALID_ARGUMENT = 1, /* bad shape, dtype, device, option value, call order */
    CAP_ERROR_UNSUPPORTED = 2,      /* valid request this plugin does not implement */
    CAP_ERROR_UNAVAILABLE = 3,      /* resource missing here (device, library, file) */
    CAP_ERROR_OUT_OF_MEMORY = 4,
    CAP_ERROR_VERSION = 5, /* ABI or feature version mismatch */
    CAP_ERROR_INTERNAL = 6 /* a bug or an unexpected exception inside the callee */
} cap_status_code;

typedef struct cap_status cap_status;
struct cap_status {
    uint32_t struct_size;
    int32_t code;        /* a cap_status_code other than CAP_OK */
    const char* message; /* UTF-8, owned by the status, valid until release */
    /* Frees the status inside the library that made it. Call exactly once. Any thread. */
    void (*release)(cap_status* self);
};

/* ------------------------------------------------------------------------------------------ */
/* Options: the schema a plugin declares and the host validates recipes against               */
/* ------------------------------------------------------------------------------------------ */

typedef enum cap_option_type {
    CAP_OPTION_BOOL = 1,
    CAP_OPTION_INT = 2,       /* int64 */
    CAP_OPTION_FLOAT = 3,     /* double; an integer literal in a recipe is accepted */
    CAP_OPTION_STRING = 4,    /* UTF-8 */
    CAP_OPTION_FLOAT_LIST = 5 /* array of doubles */
} cap_option_type;

typedef enum cap_option_flags {
    CAP_OPTION_REQUIRED = 1u << 0, /* the recipe must set it; the default is ignored */
    CAP_OPTION_HAS_MIN = 1u << 1,  /* min_value applies (inclusive; list elements too) */
    CAP_OPTION_HAS_MAX = 1u << 2,  /* max_value applies (inclusive; list elements too) */
    CAP_OPTION_PATH = 1u << 3      /* string naming a file or folder that must exist; the host
                                      resolves it against the recipe file that set it and hands
                                      the plugin an absolute path. Its default must be "" (no
                                      file): a default path would be relative to nothing */
} cap_option_flags;

typedef struct cap_option_spec {
    uint32_t struct_size;
    int32_t type;     /* cap_option_type */
    const char* name; /* [a-z][a-z0-9_]*, unique within the plugin */
    const char* doc;  /* one line */
    uint32_t flags;   /* cap_option_flags */
    double min_value;
    double max_value;
    int32_t default_bool; /* defaults, read according to `type` */
    int64_t default_int;
    double default_float;
    const char* default_string;
    const double* default_list;
    size_t default_list_count;
    const char* const* choices; /* strings only: NULL-terminated allowed values, or NULL */
} cap_option_spec;

/* Opaque handle to one instance's validated options (defaults filled in). Host-owned; valid
 * from create() until the instance's destroy() returns. */
typedef struct cap_options cap_options;

/* ------------------------------------------------------------------------------------------ */
/* Host services                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef enum cap_log_level {
    CAP_LOG_TRACE = 0,
    CAP_LOG_DEBUG = 1,
    CAP_LOG_INFO = 2,
    CAP_LOG_WARN = 3,
    CAP_LOG_ERROR = 4
} cap_log_level;

typedef struct cap_host_api cap_host_api;
struct cap_host_api {
    uint32_t struct_size;
    uint16_t abi_major; /* the host's ABI version */
    uint16_t abi_minor;
    const char* host_version; /* e.g. "cap 0.1.0"; host-owned, static */
    void* host_data;          /* opaque to plugins: which library or instance is calling */

    /* Writes one line to the host's log (console and run.log), prefixed with the plugin. */
    void (*log)(const cap_host_api* host, int32_t level, const char* message);
    /* The run's seed mixed with `stream` (NULL: the run seed itself); same inputs, same value.
     * The table create() receives carries its instance's run; the entry point's, seed 42. */
    uint64_t (*seed)(const cap_host_api* host, const char* stream);

    /* Option lookup. Each writes the validated value (or its default) of the option `name`
     * declared in the plugin's schema; an undeclared name or another type is an error status
     * that the plugin releases. Strings and lists stay host-owned and valid as long as the
     * options handle. */
    cap_status* (*option_bool)(const cap_host_api* host, const cap_options* options,
                               const char* name, int32_t* out);
    cap_status* (*option_int)(const cap_host_api* host, const cap_options* options,
                              const char* name, int64_t* out);
    cap_status* (*option_float)(const cap_host_api* host, const cap_options* options,
                                const char* name, double* out);
    cap_status* (*option_string)(const cap_host_api* host, const cap_options* options,
                                 const char* name, const char** out);
    cap_status* (*option_float_list)(const cap_host_api* host, const cap_options* options,
                                     const char* name, const double** out, size_t* count);

    /* ABI 1.2 (check with CAP_HAS_FIELD). A status the plugin may return as its own: `code` (a
     * code other than an error's reads as CAP_ERROR_INTERNAL) and a copy of `message` (NULL reads
     * as ""); its release frees it in the host, so a plugin in C needs no allocator of its own.
     * Never returns NULL, even out of memory (then a static CAP_ERROR_OUT_OF_MEMORY status whose
     * release does nothing). Any thread. */
    cap_status* (*make_status)(const cap_host_api* host, int32_t code, const char* message);
};

/* ------------------------------------------------------------------------------------------ */
/* Execution context and model shape, shared by the kind interfaces                           */
/* ------------------------------------------------------------------------------------------ */

/* Where a compute call runs. Host-owned, borrowed for the call. */
typedef struct cap_exec_context {
    uint32_t struct_size;
    DLDevice device; /* every tensor of the call lives on this device */
    void* stream;    /* cudaStream_t for kDLCUDA (NULL: LibTorch's current stream); NULL on CPU */
    int32_t num_threads; /* intra-op threads the backend configured; 0 when not applicable */
} cap_exec_context;

/* The encoder's dimensions, as the masks see them (masks keep full size after pruning). */
typedef struct cap_model_shape {
    uint32_t struct_size;
    int32_t num_layers;
    int32_t num_heads; /* per layer */
    int32_t hidden_size;
    int32_t intermediate_size; /* FFN neurons per layer */
} cap_model_shape;

/* Limits that pruning must respect, from the recipe's [constraints] table. */
typedef struct cap_constraints {
    uint32_t struct_size;
    int32_t min_heads_per_layer; /* heads that stay in every layer */
} cap_constraints;

/* ------------------------------------------------------------------------------------------ */
/* Descriptor and entry point                                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef enum cap_plugin_kind {
    CAP_KIND_BACKEND = 1,     /* cap/backend.h */
    CAP_KIND_CRITERION = 2,   /* cap/criterion.h */
    CAP_KIND_SCHEDULE = 3,    /* cap/schedule.h */
    CAP_KIND_CONTRASTIVE = 4, /* cap/contrastive.h */
    CAP_KIND_DISTILL = 5      /* cap/distill.h */
} cap_plugin_kind;

typedef struct cap_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major; /* the ABI the plugin was compiled against */
    uint16_t abi_minor;
    int32_t kind;                          /* cap_plugin_kind */
    const char* name;                      /* [a-z][a-z0-9_]*, unique within its kind */
    const char* version;                   /* the plugin's own version, e.g. "1.0.0" */
    const char* summary;                   /* one line */
    const cap_option_spec* const* options; /* num_options pointers; may be NULL when 0 */
    uint32_t num_options;

    /* Makes an instance from validated options. The instance belongs to the host until
     * destroy(); `host` and `options` stay valid that long. Main thread. */
    cap_status* (*create)(const cap_host_api* host, const cap_options* options,
                          void** out_instance);
    /* Frees an instance made by create(). Never fails. Main thread. */
    void (*destroy)(void* instance);

    /* The kind's function table (cap_backend_api, cap_criterion_api, ...). Its first field is
     * struct_size. Static storage inside the plugin. */
    const void* functions;
} cap_plugin_descriptor;

/* The one exported function. The host calls it once after loading the library, on the main
 * thread. `host` stays valid while the library is loaded. On success it returns NULL and sets
 * `*out` to a descriptor in static storage; on refusal (e.g. the host is too old for a feature
 * the plugin needs) it returns a status saying why and leaves `*out` NULL. */
typedef cap_status* (*cap_plugin_entry_fn)(const cap_host_api* host,
                                           const cap_plugin_descriptor** out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CAP_ABI_H */
