/*
 * Backend kind: where tensors live and how LibTorch computes (CPU threads, CUDA device).
 * The host creates exactly one backend per run, before any other plugin, and passes the
 * resulting cap_exec_context to every compute call of the other kinds.
 */
#ifndef CAP_BACKEND_H
#define CAP_BACKEND_H

#include "cap/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What probe() found. Host-owned; the plugin fills it. */
typedef struct cap_backend_probe {
    uint32_t struct_size;
    int32_t available;    /* 1 when create() would succeed on this machine */
    DLDevice device;      /* the device create() would use */
    int32_t device_count; /* devices of this type visible to the process */
    char reason[256];     /* when unavailable: why, in one line (NUL-terminated) */
} cap_backend_probe;

/* How numbers are computed. Host-owned; the plugin fills it. */
typedef struct cap_precision_policy {
    uint32_t struct_size;
    DLDataType param_dtype;   /* dtype of the master weights */
    DLDataType compute_dtype; /* dtype matrix products run in (autocast when it differs) */
    int32_t allow_tf32;       /* CUDA: TF32 tensor cores allowed for float32 products */
} cap_precision_policy;

/* Memory figures in bytes; 0 where unknown. Host-owned; the plugin fills it. */
typedef struct cap_memory_info {
    uint32_t struct_size;
    uint64_t used;  /* CPU: resident set of the process; CUDA: bytes allocated by LibTorch */
    uint64_t total; /* CPU: physical memory; CUDA: device memory */
    uint64_t free;  /* CPU: available memory; CUDA: free device memory */
} cap_memory_info;

typedef struct cap_backend_api {
    uint32_t struct_size;
    /* Says whether this backend, with these validated options (e.g. a device index), can run
     * here, without creating it; `out` is host-owned. Called during validation, before
     * create(). Main thread. Required. */
    cap_status* (*probe)(const cap_host_api* host, const cap_options* options,
                         cap_backend_probe* out);
    /* Fills the context every compute call will receive (device, stream, threads). Required.
     * The run's thread; `out` is host-owned, the stream stays the backend's. */
    cap_status* (*context)(void* self, cap_exec_context* out);
    /* Fills the precision policy in force. Required. The run's thread; `out` is host-owned. */
    cap_status* (*precision)(void* self, cap_precision_policy* out);
    /* Blocks until queued work on ctx's device and stream has finished. Required. The run's
     * thread; `ctx` is borrowed for the call. */
    cap_status* (*synchronize)(void* self, const cap_exec_context* ctx);
    /* Fills current memory figures. Required. The run's thread; `out` is host-owned. */
    cap_status* (*memory)(void* self, cap_memory_info* out);
    /* Writes a NUL-terminated human-readable description (BLAS, device name, ...) into the
     * host's buffer of `size` bytes, truncating if needed. Required. The run's thread; the
     * buffer is the host's. */
    cap_status* (*describe)(void* self, char* buffer, size_t size);
} cap_backend_api;

#ifdef __cplusplus
}
#endif

#endif /* CAP_BACKEND_H */
