// Building blocks shared by flash_fwd.cu and flash_bwd.cu: the tensor-core instruction
// (mma.sync m16n8k16, fp32 accumulate), shared-memory fragment loads (ldmatrix), asynchronous
// global->shared copies (cp.async), and the swizzled shared-memory tile layout they agree on.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16"), lane = 4*g + t:
//   A 16x16 (row-major):  a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..)  a3 (g+8, 2t+8..)
//   B 16x8  (k x n):      b0 (k 2t..2t+1, n g)  b1 (k 2t+8.., n g)
//   C 16x8  fp32:         c0,c1 (g, 2t..2t+1)  c2,c3 (g+8, 2t..2t+1)
// Every tile in shared memory is row-major with a multiple of 64 columns; its 16-byte chunks
// are XOR-swizzled with the row (chunk ^ (row & 7)) so that the eight rows one 8x8 ldmatrix
// reads, and the eight rows a C fragment writes, fall in eight different bank groups.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace flash {

// Element types: the mma instruction and the float->pair conversion differ, nothing else.
template <typename T> struct Elem;
template <> struct Elem<__nv_bfloat16> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&p);
    }
    static __device__ __forceinline__ float2 unpack(uint32_t v) {
        return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&v));
    }
    static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};
template <> struct Elem<__half> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __half2 p = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&p);
    }
    static __device__ __forceinline__ float2 unpack(uint32_t v) {
        return __half22float2(*reinterpret_cast<__half2*>(&v));
    }
    static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Element offset of (row, 16-byte chunk) in a swizzled tile with COLS columns.
template <int COLS>
__device__ __forceinline__ int swz(int row, int chunk) {
    static_assert(COLS % 64 == 0, "a swizzled row holds at least 8 chunks");
    return row * COLS + ((chunk ^ (row & 7)) << 3);
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// Fragment addresses. For one operand in one swizzled tile, a lane reads row lane_row and chunk
// lane_chunk (0 or 1) of every 16x16 (or 8-row x 16-column) block it loads. Since blocks start
// at rows that are multiples of 8 and even chunks, the XOR takes one of four values per lane:
// those four addresses are computed once and every fragment address is one of them plus a
// compile-time constant (so ptxas folds it into the instruction, and no register holds it).
// The two lane patterns:
//   P16: lane_row = lane & 15, lane_chunk = lane >> 4       A stored [m][k] (ldsm_x4),
//                                                            B stored [k][n] (ldsm_x4_t)
//   P8:  lane_row = (lane & 7) + ((lane >> 4) << 3),         A stored [k][m] (ldsm_x4_t),
//        lane_chunk = (lane >> 3) & 1                        B stored [n][k] (ldsm_x4)
// With ldsm_x4, a B block yields {b0,b1} of n-tile n0 then of n0+8; an A block yields a0..a3.
template <int COLS>
struct Frag {
    uint32_t base[4];
    __device__ __forceinline__ Frag(const void* tile, int lane_row, int lane_chunk) {
        const uint32_t row = smem_addr(tile) + lane_row * COLS * 2;
#pragma unroll
        for (int j = 0; j < 4; ++j) base[j] = row + ((((2 * j) | lane_chunk) ^ (lane_row & 7)) << 4);
    }
    // The block whose top-left element is (row0, col0): row0 % 8 == 0, col0 % 16 == 0.
    __device__ __forceinline__ uint32_t at(int row0, int col0) const {
        const int c = col0 >> 3;
        return base[(c >> 1) & 3] + row0 * COLS * 2 + ((c >> 3) << 7);
    }
};
template <int COLS>
__device__ __forceinline__ Frag<COLS> frag_p16(const void* tile, int lane) { return Frag<COLS>(tile, lane & 15, lane >> 4); }
template <int COLS>
__device__ __forceinline__ Frag<COLS> frag_p8(const void* tile, int lane) {
    return Frag<COLS>(tile, (lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
}

// acc[MT][NT] += A * B for one warp: A is MT 16-row tiles from row m0, B is NT 8-column tiles from
// column n0, over KSTEPS k-steps of 16 from k0. A_T: A is stored [k][m] (else [m][k]); B_T: B is
// stored [k][n] (else [n][k]). aoff/boff are byte offsets added to the fragment addresses
// (a double-buffered tile's current half).
template <typename T, int MT, int NT, int KSTEPS, bool A_T, bool B_T, int CA, int CB>
__device__ __forceinline__ void warp_mma(float (&acc)[MT][NT][4], const Frag<CA>& fa, uint32_t aoff, int m0,
                                         const Frag<CB>& fb, uint32_t boff, int n0, int k0) {
    static_assert(NT % 2 == 0, "B fragments come in pairs of n-tiles");
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
        const int k = k0 + kk * 16;
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            if constexpr (A_T) ldsm_x4_t(a[mt], fa.at(k, m0 + mt * 16) + aoff);
            else ldsm_x4(a[mt], fa.at(m0 + mt * 16, k) + aoff);
        }
#pragma unroll
        for (int np = 0; np < NT / 2; ++np) {
            uint32_t b[4];
            if constexpr (B_T) ldsm_x4_t(b, fb.at(k, n0 + np * 16) + boff);
            else ldsm_x4(b, fb.at(n0 + np * 16, k) + boff);
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                Elem<T>::mma(acc[mt][2 * np], a[mt], b[0], b[1]);
                Elem<T>::mma(acc[mt][2 * np + 1], a[mt], b[2], b[3]);
            }
        }
    }
}

template <int MT, int NT>
__device__ __forceinline__ void zero(float (&acc)[MT][NT][4]) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.f;
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
    // src-size 0 fills the 16 bytes with zeros: rows past the sequence end read as 0, never garbage.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                 :: "r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }

// Copies rows [row0, row0+ROWS) of a sequence-major tensor (row stride `stride` elements, this
// head's D columns starting at `src`) into a swizzled ROWS x D tile; rows >= nrows become zeros.
template <int ROWS, int D, int THREADS, typename T>
__device__ __forceinline__ void load_tile(T* tile, const T* src, long long stride, int row0, int nrows, int tid) {
    constexpr int CHUNKS = D / 8;
    static_assert((ROWS * CHUNKS) % THREADS == 0, "tile chunks divide evenly among threads");
#pragma unroll
    for (int i = 0; i < ROWS * CHUNKS / THREADS; ++i) {
        const int idx = tid + i * THREADS;
        const int r = idx / CHUNKS, c = idx % CHUNKS;
        const bool valid = row0 + r < nrows;
        const T* g = src + (long long)(valid ? row0 + r : 0) * stride + c * 8;
        cp_async16(smem_addr(tile + swz<D>(r, c)), g, valid);
    }
}

// Causal visibility is "key j visible to query i iff j <= i + diff" with diff = qStart - kStart;
// clamping diff to [-(sq+1), sk] keeps it in int range without changing any answer.
__device__ __forceinline__ int clamp_diff(long long q_start, long long k_start, int sq, int sk) {
    long long d = q_start - k_start;
    d = d < -(long long)sq - 1 ? -(long long)sq - 1 : d;
    d = d > (long long)sk ? (long long)sk : d;
    return (int)d;
}

// Block order. A 1-D grid of nblocks x nheads CTAs is walked head group by head group, each
// group holding as many heads as keep their re-read data (head_bytes each) within L2_BUDGET, so
// those re-reads hit L2; inside a group the longest blocks (rank 0) of all its heads start
// first, so the grid's tail is short blocks. Returns the head, and the block's rank.
constexpr long long L2_BUDGET = 32ll << 20;  // bytes: most of an A100's 40 MB or an H100's 50 MB L2
struct Placement { int head, rank; };
__device__ __forceinline__ Placement place_block(int bid, int nblocks, int nheads, long long head_bytes) {
    const long long fit = L2_BUDGET / (head_bytes > 0 ? head_bytes : 1);
    const int g = fit < 1 ? 1 : (fit > nheads ? nheads : (int)fit);
    const int per_group = g * nblocks, group = bid / per_group, r = bid - group * per_group;
    const int gsize = min(g, nheads - group * g);
    return {group * g + r % gsize, r / gsize};
}

constexpr float LOG2E = 1.4426950408889634f;

// 2^x on the special-function unit; 2^-inf = +0, which the masks rely on.
__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

}  // namespace flash
