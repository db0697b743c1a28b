// module.c: modules, kernels and launches.
//
// cuModuleLoadDataEx reads PTX as the driver's JIT would have to: the ISA version (at most 9.0,
// CUDA 13.0's), the target (not above the device; sm_90a only on 9.0), every .entry with its
// parameter list, .maxntid/.reqntid, and the static shared memory each entry uses. Each entry
// is paired with its CPU implementation (kernels/*.c), whose parameter list must match the
// PTX's. cuLaunchKernel checks what the driver checks (grid and block limits, shared memory
// against the opt-in attribute and the device's maximum, the stream's and function's context),
// copies the parameters as the PTX lays them out, and queues the CPU implementation.
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define MAX_PARAMS 64

typedef struct si_module si_module;

typedef struct {
    si_module *module;
    char name[128];
    int param_count;
    uint32_t param_sizes[MAX_PARAMS], param_offsets[MAX_PARAMS];
    uint32_t param_bytes;
    uint32_t max_threads;        // .maxntid product, or 1024
    uint32_t required[3];        // .reqntid, or zeros
    uint32_t static_shared;
    uint32_t max_dynamic_shared; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    const si_kernel *impl;       // NULL: the stand-in cannot run it
} si_function;

struct si_module {
    si_context *ctx;
    uint64_t generation;
    char target[16];
    int count;
    si_function *functions;
};

static const si_kernel *const tables[] = {
    si_kernels_elementwise, si_kernels_layout, si_kernels_merge, si_kernels_rmsnorm, si_kernels_rope, si_kernels_swiglu,
    si_kernels_embedding, si_kernels_cross_entropy, si_kernels_adamw, si_kernels_gemm, si_kernels_flash_fwd,
    si_kernels_flash_bwd, si_kernels_test,
};

const si_kernel *si_kernel_find(const char *name) {
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        for (const si_kernel *k = tables[t]; k->name; k++) {
            if (strcmp(k->name, name) == 0) return k;
        }
    }
    return NULL;
}

// ---- PTX ---------------------------------------------------------------------------------

static const char *skip_space(const char *p) {
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

// The end of the brace-balanced body starting at '{', or NULL.
static const char *body_end(const char *open) {
    int depth = 0;
    for (const char *p = open; *p; p++) {
        if (*p == '{') depth++;
        else if (*p == '}' && --depth == 0) return p;
    }
    return NULL;
}

static uint32_t type_size(const char *type) {
    if (strncmp(type, "u64", 3) == 0 || strncmp(type, "s64", 3) == 0 || strncmp(type, "b64", 3) == 0 ||
        strncmp(type, "f64", 3) == 0) return 8;
    if (strncmp(type, "u32", 3) == 0 || strncmp(type, "s32", 3) == 0 || strncmp(type, "b32", 3) == 0 ||
        strncmp(type, "f32", 3) == 0) return 4;
    if (strncmp(type, "u16", 3) == 0 || strncmp(type, "s16", 3) == 0 || strncmp(type, "b16", 3) == 0 ||
        strncmp(type, "f16", 3) == 0) return 2;
    if (strncmp(type, "u8", 2) == 0 || strncmp(type, "s8", 2) == 0 || strncmp(type, "b8", 2) == 0) return 1;
    return 0;
}

// Parses "(.param .u64 name, .param .align 8 .b8 name[16], ...)" into f's parameters.
static int parse_params(si_function *f, const char *open, const char *close, char *log, size_t log_size) {
    const char *p = open + 1;
    uint32_t end = 0;
    while ((p = strstr(p, ".param")) != NULL && p < close) {
        p += 6;
        uint32_t align = 0, size;
        p = skip_space(p);
        if (strncmp(p, ".align", 6) == 0) {
            align = (uint32_t)strtoul(p + 6, (char **)&p, 10);
            p = skip_space(p);
        }
        if (*p != '.' || (size = type_size(p + 1)) == 0) {
            snprintf(log, log_size, "entry %s: parameter %d has a type the stand-in cannot read", f->name, f->param_count);
            return SI_ERROR_INVALID_PTX;
        }
        const char *bracket = strchr(p, '[');
        const char *comma = strchr(p, ',');
        if (bracket && bracket < close && (!comma || bracket < comma)) size *= (uint32_t)strtoul(bracket + 1, NULL, 10);
        if (align == 0) align = size;
        if (f->param_count == MAX_PARAMS) {
            snprintf(log, log_size, "entry %s: more than %d parameters", f->name, MAX_PARAMS);
            return SI_ERROR_INVALID_PTX;
        }
        end = (end + align - 1) / align * align;
        f->param_offsets[f->param_count] = end;
        f->param_sizes[f->param_count++] = size;
        end += size;
    }
    f->param_bytes = end;
    return SI_SUCCESS;
}

static void parse_threads(const char *directive, const char *from, const char *to, uint32_t out[3]) {
    const char *p = strstr(from, directive);
    if (p == NULL || p > to) return;
    p += strlen(directive);
    for (int i = 0; i < 3; i++) {
        out[i] = (uint32_t)strtoul(p, (char **)&p, 10);
        p = skip_space(p);
        if (*p != ',') break;
        p++;
    }
}

// Bytes of the `.shared` array declared on the line at `line` ("\t.shared .align 4 .b8 name[128];"),
// or 0 when the line is no such declaration; *name gets the array's name.
static uint32_t shared_declaration(const char *line, char *name, size_t name_size) {
    const char *p = skip_space(line), *eol = strchr(p, '\n');
    if (strncmp(p, ".shared", 7) != 0) return 0;  // .extern .shared is dynamic: not counted
    const char *bracket = strchr(p, '['), *semi = strchr(p, ';');
    if (!bracket || !semi || bracket > semi || (eol && semi > eol)) return 0;
    const char *start = bracket;
    while (start > p && !isspace((unsigned char)start[-1])) start--;
    snprintf(name, name_size, "%.*s", (int)(bracket - start), start);
    const char *type = strstr(p, " .b");
    uint32_t unit = type && type < start ? type_size(type + 2) : 1;
    return unit * (uint32_t)strtoul(bracket + 1, NULL, 10);
}

// Static shared memory of the entry whose body is [open, close]: arrays declared in the body,
// plus module-scope arrays (declared at the start of a line) that the body uses.
static uint32_t static_shared(const char *ptx, const char *open, const char *close) {
    uint32_t total = 0;
    char name[256];
    for (const char *line = ptx; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        bool inside = line > open && line < close;
        if (!inside && (line >= open && line <= close)) continue;
        uint32_t bytes = shared_declaration(line, name, sizeof name);
        if (bytes == 0) continue;
        if (inside) {
            total += bytes;
        } else if (*line == '.') {
            const char *use = strstr(open, name);
            if (use && use < close) total += bytes;
        }
    }
    return total;
}

// The PTX ISA's instruction names (PTX ISA 9.0, "Instructions"): a statement whose opcode is not
// one of them is a JIT error, as ptxas reports it.
static const char *const opcodes[] = {
    "abs", "activemask", "add", "addc", "alloca", "and", "applypriority", "atom", "bar", "barrier", "bfe", "bfi",
    "bfind", "bmsk", "bra", "brev", "brkpt", "brx", "call", "clz", "cnot", "copysign", "cos", "cp", "createpolicy",
    "cvt", "cvta", "discard", "div", "dp2a", "dp4a", "elect", "ex2", "exit", "fence", "fma", "fns", "getctarank",
    "griddepcontrol", "isspacep", "ld", "ldmatrix", "ldu", "lg2", "lop3", "mad", "mad24", "madc", "mapa", "match",
    "max", "mbarrier", "membar", "min", "mma", "mov", "movmatrix", "mul", "mul24", "multimem", "nanosleep", "neg",
    "not", "or", "pmevent", "popc", "prefetch", "prefetchu", "prmt", "rcp", "red", "redux", "rem", "ret", "rsqrt",
    "sad", "selp", "set", "setmaxnreg", "setp", "shf", "shfl", "shl", "shr", "sin", "slct", "sqrt", "st", "stackrestore",
    "stacksave", "stmatrix", "sub", "subc", "suld", "suq", "sured", "sust", "szext", "tanh", "tcgen05", "tensormap",
    "testp", "tex", "tld4", "trap", "txq", "vabsdiff", "vadd", "vmad", "vmax", "vmin", "vote", "vset", "vshl", "vshr",
    "vsub", "wgmma", "wmma", "xor", NULL,
};

static bool known_opcode(const char *word, size_t length) {
    for (const char *const *o = opcodes; *o; o++) {
        if (strlen(*o) == length && strncmp(*o, word, length) == 0) return true;
    }
    return false;
}

// Checks that every statement of the body [open, close] starts with a directive or a known
// instruction (after labels, predicates and block braces). `ptx` is for line numbers.
static int check_body(const char *ptx, const char *open, const char *close, char *log, size_t log_size) {
    const char *p = open + 1;
    while (p < close) {
        while (p < close && (isspace((unsigned char)*p) || *p == '{' || *p == '}')) p++;
        if (p >= close) break;
        if (p[0] == '/' && p[1] == '/') {
            p = strchr(p, '\n') ? strchr(p, '\n') : close;
            continue;
        }
        const char *word = p;
        while (p < close && (isalnum((unsigned char)*p) || *p == '_' || *p == '$')) p++;
        if (p < close && *p == ':' && p > word) {  // a label
            p++;
            continue;
        }
        if (*word == '@') {  // a predicate guard: @%p1 or @!%p1
            p = word + 1;
            while (p < close && !isspace((unsigned char)*p)) p++;
            continue;
        }
        size_t length = (size_t)(p - word);
        if (*word != '.' && !known_opcode(word, length)) {
            int line = 1;
            for (const char *c = ptx; c < word; c++) line += *c == '\n';
            const char *eol = strpbrk(word, ";\n");
            snprintf(log, log_size, "ptxas application ptx input, line %d; error   : Unknown instruction '%.*s'", line,
                     (int)(eol ? eol - word : (long)length), word);
            return SI_ERROR_INVALID_PTX;
        }
        const char *semi = strchr(p, ';');
        p = semi && semi < close ? semi + 1 : close;
    }
    return SI_SUCCESS;
}

static int parse_module(si_module *m, const char *ptx, si_device *d, char *log, size_t log_size) {
    const char *version = strstr(ptx, ".version");
    const char *target = strstr(ptx, ".target");
    if (!version || !target) {
        snprintf(log, log_size, "not PTX text: no .version or .target directive (the stand-in reads PTX, not cubins)");
        return SI_ERROR_INVALID_IMAGE;
    }
    int vmajor = 0, vminor = 0;
    sscanf(version + 8, "%d.%d", &vmajor, &vminor);
    if (vmajor * 10 + vminor > 90) {
        snprintf(log, log_size, "PTX ISA %d.%d is newer than this driver's JIT (CUDA 13.0: ISA 9.0)", vmajor, vminor);
        return SI_ERROR_UNSUPPORTED_PTX_VERSION;
    }
    int sm = 0;
    char suffix = 0;
    sscanf(target + 7, " sm_%d%c", &sm, &suffix);
    snprintf(m->target, sizeof m->target, "sm_%d%s", sm, suffix == 'a' ? "a" : "");
    int device_sm = d->major * 10 + d->minor;
    if (sm == 0 || sm > device_sm || (suffix == 'a' && sm != device_sm)) {
        snprintf(log, log_size, "ptxas fatal: SM version specified by .target (%s) is not supported by the device (sm_%d)",
                 m->target, device_sm);
        return SI_ERROR_INVALID_PTX;
    }
    int capacity = 0;
    for (const char *p = ptx; (p = strstr(p, ".entry")) != NULL; p += 6) capacity++;
    m->functions = calloc((size_t)(capacity ? capacity : 1), sizeof *m->functions);
    for (const char *p = ptx; (p = strstr(p, ".entry")) != NULL;) {
        si_function *f = &m->functions[m->count];
        const char *name = skip_space(p + 6), *name_end = name;
        while (*name_end && (isalnum((unsigned char)*name_end) || *name_end == '_' || *name_end == '$')) name_end++;
        snprintf(f->name, sizeof f->name, "%.*s", (int)(name_end - name), name);
        const char *open = strchr(name_end, '('), *close = open ? strchr(open, ')') : NULL;
        const char *brace = close ? strchr(close, '{') : NULL, *end = brace ? body_end(brace) : NULL;
        if (!end) {
            snprintf(log, log_size, "entry %s: unbalanced parameter list or body", f->name);
            return SI_ERROR_INVALID_PTX;
        }
        int error = parse_params(f, open, close, log, log_size);
        if (error == SI_SUCCESS) error = check_body(ptx, brace, end, log, log_size);
        if (error != SI_SUCCESS) return error;
        uint32_t maxntid[3] = {0, 0, 0};
        parse_threads(".maxntid", close, brace, maxntid);
        parse_threads(".reqntid", close, brace, f->required);
        f->max_threads = maxntid[0] ? maxntid[0] * (maxntid[1] ? maxntid[1] : 1) * (maxntid[2] ? maxntid[2] : 1) : 1024;
        if (f->required[0]) {
            f->max_threads = f->required[0] * (f->required[1] ? f->required[1] : 1) * (f->required[2] ? f->required[2] : 1);
        }
        f->static_shared = static_shared(ptx, brace, end);
        f->max_dynamic_shared = 48 * 1024 - f->static_shared;
        f->module = m;
        m->count++;
        p = end;
    }
    return SI_SUCCESS;
}

// ---- modules and functions ---------------------------------------------------------------

static void write_log(unsigned count, const int *options, void **values, int which, int size_option, const char *text) {
    for (unsigned i = 0; options && values && i < count; i++) {
        if (options[i] != which) continue;
        size_t size = 0;
        for (unsigned j = 0; j < count; j++) {
            if (options[j] == size_option) size = (size_t)(uintptr_t)values[j];
        }
        if (values[i] && size > 0) snprintf(values[i], size, "%s", text);
    }
}

SI_EXPORT int cuModuleLoadDataEx(si_module **module, const void *image, unsigned int count, int *options, void **values) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (module == NULL || image == NULL) return SI_ERROR_INVALID_VALUE;
    si_module *m = calloc(1, sizeof *m);
    m->ctx = ctx;
    m->generation = ctx->generation;
    char log[512] = "";
    error = parse_module(m, image, ctx->device, log, sizeof log);
    if (error != SI_SUCCESS) {
        write_log(count, options, values, 5, 6, log);  // CU_JIT_ERROR_LOG_BUFFER(_SIZE_BYTES)
        si_log("cuModuleLoadDataEx: %s", log);
        free(m->functions);
        free(m);
        return error;
    }
    write_log(count, options, values, 3, 4, "longbow stand-in: PTX read, kernels run on the CPU");  // CU_JIT_INFO_LOG_BUFFER
    si_register(m);
    *module = m;
    return SI_SUCCESS;
}

static bool module_live(si_module *m) {
    return m != NULL && si_registered(m) && m->generation == m->ctx->generation;
}

SI_EXPORT int cuModuleUnload(si_module *m) {
    if (!module_live(m)) return SI_ERROR_INVALID_HANDLE;
    si_unregister(m);
    for (int i = 0; i < m->count; i++) si_unregister(&m->functions[i]);
    // The functions stay allocated: launches already queued hold pointers to their impl only,
    // but a handle kept by the caller must keep failing cleanly (the registry says it is gone).
    return SI_SUCCESS;
}

// The CPU implementation's parameter sizes against the PTX's: they differ when a .cu changed
// without its kernels/*.c, or the other way round.
static bool matches(const si_function *f, const si_kernel *k, char *why, size_t size) {
    int n = (int)strlen(k->params);
    bool same = n == f->param_count;
    for (int i = 0; same && i < n; i++) same = f->param_sizes[i] == ((k->params[i] == 'i' || k->params[i] == 'f') ? 4u : 8u);
    if (!same) {
        int at = snprintf(why, size, "kernel %s: the PTX declares %d parameters (bytes:", f->name, f->param_count);
        for (int i = 0; i < f->param_count && at < (int)size; i++) at += snprintf(why + at, size - at, " %u", f->param_sizes[i]);
        snprintf(why + at, size > (size_t)at ? size - at : 0, "), its CPU implementation takes \"%s\"", k->params);
    }
    return same;
}

SI_EXPORT int cuModuleGetFunction(si_function **function, si_module *m, const char *name) {
    if (function == NULL || name == NULL) return SI_ERROR_INVALID_VALUE;
    if (!module_live(m)) return SI_ERROR_INVALID_HANDLE;
    for (int i = 0; i < m->count; i++) {
        si_function *f = &m->functions[i];
        if (strcmp(f->name, name) != 0) continue;
        const si_kernel *k = si_kernel_find(name);
        char why[512];
        if (k && !matches(f, k, why, sizeof why)) {
            si_log("%s", why);
            return SI_ERROR_INVALID_IMAGE;
        }
        f->impl = k;
        si_register(f);
        *function = f;
        return SI_SUCCESS;
    }
    return SI_ERROR_NOT_FOUND;
}

static bool function_live(si_function *f) {
    return f != NULL && si_registered(f) && module_live(f->module);
}

SI_EXPORT int cuFuncGetAttribute(int *value, int attribute, si_function *f) {
    if (value == NULL) return SI_ERROR_INVALID_VALUE;
    if (!function_live(f)) return SI_ERROR_INVALID_HANDLE;
    switch (attribute) {
        case 0: *value = (int)f->max_threads; break;         // MAX_THREADS_PER_BLOCK
        case 1: *value = (int)f->static_shared; break;       // SHARED_SIZE_BYTES
        case 2: *value = 0; break;                           // CONST_SIZE_BYTES
        case 3: *value = 0; break;                           // LOCAL_SIZE_BYTES
        case 4: *value = 32; break;                          // NUM_REGS (unknown without ptxas)
        case 8: *value = (int)f->max_dynamic_shared; break;  // MAX_DYNAMIC_SHARED_SIZE_BYTES
        default:
            si_log("cuFuncGetAttribute: attribute %d is not modelled", attribute);
            return SI_ERROR_INVALID_VALUE;
    }
    return SI_SUCCESS;
}

SI_EXPORT int cuFuncSetAttribute(si_function *f, int attribute, int value) {
    if (!function_live(f)) return SI_ERROR_INVALID_HANDLE;
    if (attribute != 8) {
        si_log("cuFuncSetAttribute: attribute %d is not modelled", attribute);
        return SI_ERROR_INVALID_VALUE;
    }
    si_device *d = f->module->ctx->device;
    if (value < 0 || (uint32_t)value + f->static_shared > (uint32_t)d->shared_optin) {
        si_log("cuFuncSetAttribute: kernel %s asks for %d bytes of dynamic shared memory; with its %u static bytes that exceeds"
               " the %d bytes a block may opt in to on device %d (sm_%d%d)", f->name, value, f->static_shared, d->shared_optin,
               d->ordinal, d->major, d->minor);
        return SI_ERROR_INVALID_VALUE;
    }
    f->max_dynamic_shared = (uint32_t)value;
    return SI_SUCCESS;
}

// ---- launches ----------------------------------------------------------------------------

typedef struct {
    si_launch launch;
    const si_kernel *impl;
    char name[128];
    uint32_t offsets[MAX_PARAMS];
    uint8_t params[];
} launch_work;

static void *launch_memory(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align, si_access access) {
    int error = SI_SUCCESS;
    char why[256];
    void *p = si_memory(address, bytes, align, access, &error, why);
    if (p == NULL) si_kernel_fail(l, error, "%s: %s", l->kernel, why);
    return p;
}

static int run_launch(void *arg) {
    launch_work *w = arg;
    int result = w->impl->run(&w->launch);
    if (result != SI_SUCCESS) snprintf(si_work_reason(), 512, "%s", w->launch.message);
    return result;
}

static int refuse(const si_function *f, const char *what) {
    si_log("cuLaunchKernel %s: %s", f->name, what);
    return SI_ERROR_INVALID_VALUE;
}

SI_EXPORT int cuLaunchKernel(si_function *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                             unsigned shared, void *cu_stream, void **params, void **extra) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (!function_live(f)) return SI_ERROR_INVALID_HANDLE;
    if (f->module->ctx != ctx) {
        si_log("cuLaunchKernel %s: the module was loaded in device %d's context, the current one is device %d's", f->name,
               f->module->ctx->device->ordinal, ctx->device->ordinal);
        return SI_ERROR_INVALID_HANDLE;
    }
    si_stream *stream = si_stream_of(cu_stream, &error);
    if (stream == NULL) return error;
    char why[200];
    if (gx == 0 || gy == 0 || gz == 0 || gx > 0x7fffffffu || gy > 65535 || gz > 65535) {
        snprintf(why, sizeof why, "grid (%u, %u, %u) is outside (1..2^31-1, 1..65535, 1..65535)", gx, gy, gz);
        return refuse(f, why);
    }
    uint64_t threads = (uint64_t)bx * by * bz;
    if (bx == 0 || by == 0 || bz == 0 || bx > 1024 || by > 1024 || bz > 64 || threads > f->max_threads) {
        snprintf(why, sizeof why, "block (%u, %u, %u) exceeds the limits (1024, 1024, 64; %u threads)", bx, by, bz, f->max_threads);
        return refuse(f, why);
    }
    if (f->required[0] && (bx != f->required[0] || by != (f->required[1] ? f->required[1] : 1))) {
        snprintf(why, sizeof why, "block (%u, %u, %u) differs from its .reqntid %u, %u", bx, by, bz, f->required[0], f->required[1]);
        return refuse(f, why);
    }
    if (shared > f->max_dynamic_shared) {
        snprintf(why, sizeof why, "%u bytes of dynamic shared memory, above its limit of %u (raise it with"
                 " cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) first)", shared, f->max_dynamic_shared);
        return refuse(f, why);
    }
    if (extra != NULL) return refuse(f, "the stand-in takes kernelParams, not 'extra'");
    if (params == NULL && f->param_count > 0) return refuse(f, "kernelParams is NULL");
    if (f->impl == NULL) {
        si_log("cuLaunchKernel %s: the stand-in has no CPU implementation of this kernel (add it to gpu-standin/src/main/c/kernels)",
               f->name);
        return SI_ERROR_NOT_SUPPORTED;
    }
    launch_work *w = calloc(1, sizeof *w + f->param_bytes + 8);
    for (int i = 0; i < f->param_count; i++) {
        if (params[i] == NULL) {
            free(w);
            snprintf(why, sizeof why, "kernelParams[%d] is NULL (the kernel has %d parameters)", i, f->param_count);
            return refuse(f, why);
        }
        memcpy(w->params + f->param_offsets[i], params[i], f->param_sizes[i]);  // the driver copies them now
        w->offsets[i] = f->param_offsets[i];
    }
    snprintf(w->name, sizeof w->name, "%s", f->name);
    w->impl = f->impl;
    w->launch = (si_launch){.kernel = w->name, .grid = {gx, gy, gz}, .block = {bx, by, bz}, .dynamic_shared = shared,
                            .params = w->params, .param_offsets = w->offsets, .param_count = f->param_count,
                            .memory = launch_memory};
    char what[160];
    snprintf(what, sizeof what, "kernel %s", f->name);
    si_launch_lock();
    error = si_enqueue(stream, run_launch, w, free, what);
    si_launch_unlock();
    return error;
}
