/*
 * A structured criterion in plain C99, built against the installed SDK only: heads and FFN
 * neurons ranked by the sum of |w| * ||x|| over the weights they own (Wanda's score, as the
 * built-in `wanda` computes it with LibTorch), where ||x|| is the norm of a linear's input
 * feature over the importance pass. It shows what ABI 1.2 gives a criterion: the linears of the
 * heads and ffn groups, their weights and their input statistics (cap/criterion.h).
 *
 * CPU only (it reads tensor memory directly); no allocation crosses the boundary: errors are
 * statuses made by the host (make_status), state is freed in destroy().
 */
#include <cap/cap.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 2

typedef struct linear_sums {
    double* squares; /* per input feature: sum over the pass's tokens of x^2 */
    int64_t in;
} linear_sums;

typedef struct criterion {
    const cap_host_api* host;
    linear_sums* linears[MAX_GROUPS];
    uint32_t linear_count[MAX_GROUPS];
} criterion;

static cap_status* error(const criterion* self, int32_t code, const char* message) {
    return self->host->make_status(self->host, code, message);
}

/* A float32 CPU matrix (ndim 1 or 2, compact rows) as a pointer, or NULL. */
static const float* floats(const DLTensor* t, int ndim) {
    if (!t || t->device.device_type != kDLCPU || t->dtype.code != kDLFloat || t->dtype.bits != 32 || t->ndim != ndim)
        return NULL;
    if (t->strides && t->strides[ndim - 1] != 1) return NULL;
    if (ndim == 2 && t->strides && t->strides[0] != t->shape[1]) return NULL;
    return (const float*)((const char*)t->data + t->byte_offset);
}

static void free_sums(criterion* self) {
    for (int g = 0; g < MAX_GROUPS; ++g) {
        for (uint32_t k = 0; k < self->linear_count[g]; ++k) free(self->linears[g][k].squares);
        free(self->linears[g]);
        self->linears[g] = NULL;
        self->linear_count[g] = 0;
    }
}

static cap_status* info(void* p, cap_criterion_info* out) {
    (void)p;
    out->granularity = CAP_GRANULARITY_STRUCTURED;
    out->needs = CAP_NEEDS_WEIGHTS | CAP_NEEDS_INPUT_NORMS;
    out->score_based = 0;
    return NULL;
}

static cap_status* reset(void* p) {
    free_sums((criterion*)p);
    return NULL;
}

static cap_status* accumulate(void* p, const cap_exec_context* ctx, const cap_batch_info* batch,
                              const cap_unit_group* const* groups, uint32_t count) {
    criterion* self = (criterion*)p;
    (void)batch;
    if (ctx->device.device_type != kDLCPU) return error(self, CAP_ERROR_UNSUPPORTED, "runs on the CPU only");
    if (count > MAX_GROUPS) return error(self, CAP_ERROR_INVALID_ARGUMENT, "more groups than heads and ffn");
    for (uint32_t g = 0; g < count; ++g) {
        const cap_unit_group* group = groups[g];
        if (!CAP_HAS_FIELD(group, cap_unit_group, linear_count) || group->linear_count == 0)
            return error(self, CAP_ERROR_INVALID_ARGUMENT, "a group came without its linears");
        if (!self->linears[g]) {
            self->linears[g] = (linear_sums*)calloc(group->linear_count, sizeof(linear_sums));
            if (!self->linears[g]) return error(self, CAP_ERROR_OUT_OF_MEMORY, "no memory for the sums");
            self->linear_count[g] = group->linear_count;
        }
        if (self->linear_count[g] != group->linear_count)
            return error(self, CAP_ERROR_INVALID_ARGUMENT, "the linears changed between batches");
        for (uint32_t k = 0; k < group->linear_count; ++k) {
            const DLTensor* t = group->linears[k]->input_sq_norms;
            const float* sq = floats(t, 1);
            linear_sums* s = &self->linears[g][k];
            if (!sq) return error(self, CAP_ERROR_INVALID_ARGUMENT, "input_sq_norms is not a float32 CPU vector");
            if (!s->squares) {
                s->in = t->shape[0];
                s->squares = (double*)calloc((size_t)s->in, sizeof(double));
                if (!s->squares) return error(self, CAP_ERROR_OUT_OF_MEMORY, "no memory for the sums");
            }
            if (s->in != t->shape[0]) return error(self, CAP_ERROR_INVALID_ARGUMENT, "input size changed");
            for (int64_t j = 0; j < s->in; ++j) s->squares[j] += sq[j];
        }
    }
    return NULL;
}

/* Adds sum |w_ij| * ||x_j|| into the units of `out` ([layers, units] float32) that own them. */
static cap_status* add_linear(const criterion* self, const cap_unit_group* group, const cap_unit_group* linear,
                              const linear_sums* sums, float* out) {
    const float* w = floats(linear->weight, 2);
    if (!w || !sums->squares) return error(self, CAP_ERROR_INVALID_ARGUMENT, "a linear has no weight or no sums");
    const int64_t rows = linear->weight->shape[0], cols = linear->weight->shape[1];
    const int64_t units = group->mask->shape[1];
    const int64_t size = group->unit_kind == CAP_UNITS_HEADS ? group->head_size : 1;
    const int by_row = linear->linear_role != CAP_LINEAR_ATTENTION_OUTPUT && linear->linear_role != CAP_LINEAR_OUTPUT;
    if (cols != sums->in || size <= 0 || (by_row ? rows : cols) != units * size)
        return error(self, CAP_ERROR_INVALID_ARGUMENT, "a linear does not fit its group");
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            const int64_t unit = (by_row ? i : j) / size;
            out[linear->layer * units + unit] += (float)(fabs((double)w[i * cols + j]) * sqrt(sums->squares[j]));
        }
    return NULL;
}

static cap_status* scores(const criterion* self, const cap_unit_group* group, uint32_t g, float* out) {
    const int64_t n = group->mask->shape[0] * group->mask->shape[1];
    memset(out, 0, (size_t)n * sizeof(float));
    if (g >= MAX_GROUPS || self->linear_count[g] != group->linear_count)
        return error(self, CAP_ERROR_INVALID_ARGUMENT, "importance() before a full importance pass");
    for (uint32_t k = 0; k < group->linear_count; ++k) {
        cap_status* s = add_linear(self, group, group->linears[k], &self->linears[g][k], out);
        if (s) return s;
    }
    return NULL;
}

static cap_status* importance(void* p, const cap_exec_context* ctx, const cap_unit_group* const* groups, uint32_t count,
                              DLTensor* const* out) {
    (void)ctx;
    for (uint32_t g = 0; g < count; ++g) {
        float* o = (float*)floats(out[g], 2);
        if (!o) return error((criterion*)p, CAP_ERROR_INVALID_ARGUMENT, "output is not a float32 CPU matrix");
        cap_status* s = scores((criterion*)p, groups[g], g, o);
        if (s) return s;
    }
    return NULL;
}

/* Prunes the n lowest-scoring kept units of a group, keeping min_keep per layer. */
static cap_status* select_units(const criterion* self, const cap_unit_group* group, uint32_t g, int64_t n,
                                int64_t min_keep, float* out) {
    const int64_t layers = group->mask->shape[0], units = group->mask->shape[1];
    const float* mask = floats(group->mask, 2);
    float* s = (float*)malloc((size_t)(layers * units) * sizeof(float));
    int64_t* kept = (int64_t*)calloc((size_t)layers, sizeof(int64_t));
    cap_status* status = NULL;
    if (!mask || !s || !kept) {
        status = error(self, CAP_ERROR_OUT_OF_MEMORY, "no memory for the selection");
    } else if (!(status = scores(self, group, g, s))) {
        memcpy(out, mask, (size_t)(layers * units) * sizeof(float));
        for (int64_t i = 0; i < layers * units; ++i) kept[i / units] += mask[i] != 0;
        for (int64_t done = 0; done < n; ++done) {
            int64_t best = -1;
            for (int64_t i = 0; i < layers * units; ++i)
                if (out[i] != 0 && kept[i / units] > min_keep && (best < 0 || s[i] < s[best])) best = i;
            if (best < 0) {
                status = error(self, CAP_ERROR_INVALID_ARGUMENT, "fewer units can go than the schedule asks");
                break;
            }
            out[best] = 0;
            kept[best / units] -= 1;
        }
    }
    free(s);
    free(kept);
    return status;
}

static cap_status* select_masks(void* p, const cap_exec_context* ctx, const cap_selection* selection,
                                const cap_unit_group* const* groups, uint32_t count, DLTensor* const* new_masks) {
    (void)ctx;
    for (uint32_t g = 0; g < count; ++g) {
        const int heads = groups[g]->unit_kind == CAP_UNITS_HEADS;
        float* out = (float*)floats(new_masks[g], 2);
        if (!out) return error((criterion*)p, CAP_ERROR_INVALID_ARGUMENT, "output is not a float32 CPU matrix");
        cap_status* s =
            select_units((criterion*)p, groups[g], g, heads ? selection->heads_to_prune : selection->ffn_to_prune,
                         heads ? selection->constraints->min_heads_per_layer : 0, out);
        if (s) return s;
    }
    return NULL;
}

static cap_status* create(const cap_host_api* host, const cap_options* options, void** out) {
    (void)options;
    criterion* self = (criterion*)calloc(1, sizeof(criterion));
    if (!self) return host->make_status(host, CAP_ERROR_OUT_OF_MEMORY, "no memory for the criterion");
    self->host = host;
    *out = self;
    return NULL;
}

static void destroy(void* p) {
    free_sums((criterion*)p);
    free(p);
}

static const cap_criterion_api functions = {
    sizeof(cap_criterion_api), info, reset, accumulate, importance, select_masks, NULL, NULL, NULL, NULL};

static const cap_plugin_descriptor descriptor = {sizeof(cap_plugin_descriptor),
                                                 CAP_ABI_VERSION_MAJOR,
                                                 CAP_ABI_VERSION_MINOR,
                                                 CAP_KIND_CRITERION,
                                                 "activation_norm",
                                                 "1.0.0",
                                                 "heads and FFN neurons by sum |w| * ||x|| (plain C99)",
                                                 NULL,
                                                 0,
                                                 create,
                                                 destroy,
                                                 &functions};

/* A host older than ABI 1.2 has neither the linears nor make_status: refuse with a static status. */
static void no_release(cap_status* s) { (void)s; }
static cap_status too_old = {sizeof(cap_status), CAP_ERROR_VERSION,
                             "activation_norm needs host ABI 1.2 (the groups' linears)", no_release};

CAP_PLUGIN_EXPORT cap_status* cap_plugin_entry(const cap_host_api* host, const cap_plugin_descriptor** out) {
    if (host->abi_major != CAP_ABI_VERSION_MAJOR || host->abi_minor < 2 ||
        !CAP_HAS_FIELD(host, cap_host_api, make_status))
        return &too_old;
    *out = &descriptor;
    return NULL;
}
