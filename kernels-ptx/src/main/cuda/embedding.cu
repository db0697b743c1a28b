// embedding.cu: token embedding lookup and its gradient (ModelOps.embeddingForward/Backward).
//
// Forward: out[s, :] = table[tokens[s], :], converting the dtype on the way; one row of
// blockDim.x threads per token, blockDim.y tokens per block. A token outside [0, V) cannot be
// reported from the device, so its row becomes NaN: the loss turns NaN instead of the kernel
// reading outside the table.
// Backward: dtable[tokens[s], :] += dout[s, :] with fp32 atomics (a token may repeat), so the
// last bits depend on the order the hardware commits them; invalid tokens add nothing (their
// forward already poisoned the loss).
// Reference: llm.c encoder_forward/encoder_backward.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class T, class O>
__device__ void embedding_forward(const T* __restrict__ table, const int32_t* __restrict__ tokens, O* __restrict__ out,
                                  int64_t count, int64_t vocab, int64_t d) {
    for (int64_t s = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; s < count; s += (int64_t)gridDim.x * blockDim.y) {
        int32_t token = tokens[s];
        O* o = out + s * d;
        if (token < 0 || token >= vocab) {
            for (int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = from_f32<O>(NAN);
            continue;
        }
        const T* row = table + token * d;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = from_f32<O>(to_f32(row[j]));
    }
}

template <class T>
__device__ void embedding_backward(const int32_t* __restrict__ tokens, const T* __restrict__ dout,
                                   float* __restrict__ dtable, int64_t count, int64_t vocab, int64_t d) {
    for (int64_t s = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; s < count; s += (int64_t)gridDim.x * blockDim.y) {
        int32_t token = tokens[s];
        if (token < 0 || token >= vocab) continue;
        float* row = dtable + token * d;
        const T* g = dout + s * d;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) atomicAdd(row + j, to_f32(g[j]));
    }
}

#define FORWARD(tn, T, on, O)                                                                                \
    extern "C" __global__ void longbow_embedding_forward_##tn##_##on(const T* table, const int32_t* tokens, O* out, \
                                                                     int64_t count, int64_t vocab, int64_t d) { \
        embedding_forward(table, tokens, out, count, vocab, d);                                              \
    }
LONGBOW_FOR_FLOAT_TYPE_PAIRS(FORWARD)

#define BACKWARD(tn, T)                                                                                      \
    extern "C" __global__ void longbow_embedding_backward_##tn(const int32_t* tokens, const T* dout, float* dtable, \
                                                               int64_t count, int64_t vocab, int64_t d) {    \
        embedding_backward(tokens, dout, dtable, count, vocab, d);                                           \
    }
LONGBOW_FOR_FLOAT_TYPES(BACKWARD)
