// gemm.cu: C = alpha op(A) op(B) + beta C on the tensor cores (ModelOps.matmul), row-major,
// op(X) = X or X^T. No cuBLAS: its headers and library are not part of the CUDA toolkit this
// project builds with, and a jar that needs only the driver is simpler to ship.
//
// Algorithm (sm_80 mma.sync, also run on sm_90): 128x128 output tile per block of 8 warps
// (2 x 4, 64x32 each); K in tiles of 64 bytes per row (32 bf16 or 16 f32), three stages of
// cp.async in flight so loads overlap the math. Shared memory keeps each operand in its global
// layout ("K-contiguous" [rows][k] or "MN-contiguous" [k][rows]) padded so every fragment load
// is free of bank conflicts; 16-bit fragments come from ldmatrix (.trans for MN-contiguous),
// fp32 ones from scalar loads. Edges are zero-filled; an operand whose rows are not 16-byte
// aligned takes a scalar load path (slow, but exact).
//   bf16: mma.m16n8k16 with fp32 accumulation, output fp32 or bf16. (f16 would be one more
//        instantiation line; training here is bf16, and each line costs CI compile time.)
//   f32: 3xTF32 (a = a_hi + a_lo, both tf32; a b ~ a_hi b_hi + a_hi b_lo + a_lo b_hi), fp32
//        accuracy at a third of the TF32 tensor rate, still several times the FP32 SIMT rate.
// beta = 0 never reads C, so C may hold anything (NaN included), as in BLAS.
// Reference: NVIDIA PTX ISA (mma, ldmatrix, cp.async); "CUTLASS: Fast Linear Algebra in CUDA
// C++" and its 3xTF32 note; Kerr et al. for the tile hierarchy.
// Measured: not yet (written without a GPU). Expect well below cuBLAS on H100, which uses wgmma.
#include "common.cuh"

// A named namespace: an anonymous one mangles with a per-build hash, and the PTX would then differ
// between checkouts (the staleness check compares it byte for byte).
namespace gemm_detail {

constexpr int TILE = 128;      // block tile, M and N
constexpr int THREADS = 256;   // 8 warps: 2 along M (64 rows each) x 4 along N (32 columns each)
constexpr int STAGES = 3;

template <class T> struct Tile {
    static constexpr int BK = 64 / sizeof(T);          // K per stage
    static constexpr int KSTEP = 32 / sizeof(T);       // K per mma: 16 (bf16) or 8 (tf32)
    static constexpr int CHUNK = 16 / sizeof(T);       // elements per cp.async
};

// One operand's tile in shared memory. K_CONTIG: [TILE][BK + pad] (global rows run along K);
// else [BK][TILE + 8] (global rows run along M or N). The pads make ldmatrix rows and the
// scalar tf32 fragment loads hit 32 distinct banks.
template <class T, bool K_CONTIG> struct Operand {
    static constexpr int BK = Tile<T>::BK;
    static constexpr int LD = K_CONTIG ? BK + Tile<T>::CHUNK : TILE + 8;
    static constexpr int ELEMS = K_CONTIG ? TILE * LD : BK * LD;

    __device__ static int at(int row, int k) { return K_CONTIG ? row * LD + k : k * LD + row; }

    // Copies rows [row0, row0 + TILE) x k [k0, k0 + BK) of a global [rows][k] (K_CONTIG) or
    // [k][rows] matrix with leading dimension ld into s; what lies outside rows x depth is zero.
    __device__ static void load(T* s, const T* g, int64_t ld, int rows, int depth, int row0, int k0, bool fast) {
        constexpr int CHUNK = Tile<T>::CHUNK;
        constexpr int PER_LINE = K_CONTIG ? BK / CHUNK : TILE / CHUNK;   // chunks per smem line
        constexpr int LINES = K_CONTIG ? TILE : BK;
        int line_limit = K_CONTIG ? rows - row0 : depth - k0;             // valid lines
        int col_limit = K_CONTIG ? depth - k0 : rows - row0;              // valid elements per line
        int64_t line0 = K_CONTIG ? row0 : k0, col0 = K_CONTIG ? k0 : row0;
#pragma unroll
        for (int i = 0; i < LINES * PER_LINE / THREADS; i++) {
            int c = threadIdx.x + i * THREADS;
            int line = c / PER_LINE, col = (c % PER_LINE) * CHUNK;
            T* dst = s + line * LD + col;
            const T* src = g + (line0 + line) * ld + col0 + col;
            if (fast) {
                bool inside = line < line_limit && col < col_limit;  // chunks never straddle: ld % CHUNK == 0
                unsigned saddr = (unsigned)__cvta_generic_to_shared(dst);
                asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                             :: "r"(saddr), "l"(inside ? src : g), "r"(inside ? 16 : 0));
            } else {
#pragma unroll
                for (int e = 0; e < CHUNK; e++)
                    dst[e] = line < line_limit && col + e < col_limit ? src[e] : from_f32<T>(0.f);
            }
        }
    }
};

__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* p, bool trans) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    if (trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

template <class T> __device__ __forceinline__ void mma16(float (&d)[4], const unsigned (&a)[4], const unsigned* b);

template <> __device__ __forceinline__ void mma16<bf16>(float (&d)[4], const unsigned (&a)[4], const unsigned* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// x = hi + lo with hi and lo both representable in tf32.
__device__ __forceinline__ void split_tf32(float x, unsigned& hi, unsigned& lo) {
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(hi) : "f"(x));
    float rest = x - __uint_as_float(hi);
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(lo) : "f"(rest));
}

// One warp's 64x32 share of one stage: acc[mi][ni] is the m16n8 tile (mi, ni) of the warp.
template <class T, bool A_K, bool B_K>
__device__ __forceinline__ void warp_tile(float (&acc)[4][4][4], const T* sa, const T* sb, int wm, int wn) {
    using A = Operand<T, A_K>;
    using B = Operand<T, B_K>;
    int lane = threadIdx.x & 31;
#pragma unroll
    for (int k0 = 0; k0 < Tile<T>::BK; k0 += Tile<T>::KSTEP) {
        if constexpr (sizeof(T) == 2) {
            unsigned a[4][4], b[4][2];
#pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                int r0 = wm * 64 + mi * 16;
                const T* p = A_K ? sa + A::at(r0 + lane % 16, k0 + (lane / 16) * 8)
                                 : sa + A::at(r0 + ((lane / 8) % 2) * 8, k0 + lane % 8 + (lane / 16) * 8);
                ldmatrix_x4(a[mi], p, !A_K);
            }
#pragma unroll
            for (int pair = 0; pair < 2; pair++) {
                int n0 = wn * 32 + pair * 16;
                const T* p = B_K ? sb + B::at(n0 + lane % 8 + (lane / 16) * 8, k0 + ((lane / 8) % 2) * 8)
                                 : sb + B::at(n0 + (lane / 16) * 8, k0 + lane % 8 + ((lane / 8) % 2) * 8);
                unsigned r[4];
                ldmatrix_x4(r, p, !B_K);
                b[2 * pair][0] = r[0], b[2 * pair][1] = r[1], b[2 * pair + 1][0] = r[2], b[2 * pair + 1][1] = r[3];
            }
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) mma16<T>(acc[mi][ni], a[mi], b[ni]);
        } else {
            int g = lane / 4, t = lane % 4;
            unsigned bh[4][2], bl[4][2];
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                int n = wn * 32 + ni * 8 + g;
                split_tf32(sb[B::at(n, k0 + t)], bh[ni][0], bl[ni][0]);
                split_tf32(sb[B::at(n, k0 + t + 4)], bh[ni][1], bl[ni][1]);
            }
#pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                int m = wm * 64 + mi * 16 + g;
                unsigned ah[4], al[4];
                split_tf32(sa[A::at(m, k0 + t)], ah[0], al[0]);
                split_tf32(sa[A::at(m + 8, k0 + t)], ah[1], al[1]);
                split_tf32(sa[A::at(m, k0 + t + 4)], ah[2], al[2]);
                split_tf32(sa[A::at(m + 8, k0 + t + 4)], ah[3], al[3]);
#pragma unroll
                for (int ni = 0; ni < 4; ni++) {
                    mma_tf32(acc[mi][ni], al, bh[ni]);  // small terms first
                    mma_tf32(acc[mi][ni], ah, bl[ni]);
                    mma_tf32(acc[mi][ni], ah, bh[ni]);
                }
            }
        }
    }
}

// a is [M, K] (A_K) or [K, M]; b is [N, K] (B_K) or [K, N]; c is [M, N].
template <class T, class C, bool A_K, bool B_K>
__device__ void gemm(const T* __restrict__ a, const T* __restrict__ b, C* __restrict__ c, int m, int n, int k,
                     float alpha, float beta) {
    using A = Operand<T, A_K>;
    using B = Operand<T, B_K>;
    constexpr int BK = Tile<T>::BK, CHUNK = Tile<T>::CHUNK;
    extern __shared__ __align__(16) unsigned char smem[];
    T* sa = reinterpret_cast<T*>(smem);
    T* sb = sa + STAGES * A::ELEMS;

    int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    int64_t lda = A_K ? k : m, ldb = B_K ? k : n;
    bool fast_a = lda % CHUNK == 0 && aligned(a, 16), fast_b = ldb % CHUNK == 0 && aligned(b, 16);
    auto load_stage = [&](int stage, int kt) {
        A::load(sa + stage * A::ELEMS, a, lda, m, k, row0, kt * BK, fast_a);
        B::load(sb + stage * B::ELEMS, b, ldb, n, k, col0, kt * BK, fast_b);
        asm volatile("cp.async.commit_group;\n");
    };

    float acc[4][4][4] = {};
    int warp = threadIdx.x / 32, wm = warp / 4, wn = warp % 4;
    int tiles = (k + BK - 1) / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < tiles) load_stage(s, s);
        else asm volatile("cp.async.commit_group;\n");  // keep the group count uniform
    }
    for (int kt = 0; kt < tiles; kt++) {
        asm volatile("cp.async.wait_group %0;\n" :: "n"(STAGES - 2));
        __syncthreads();  // stage kt is in; everyone is done with the stage loaded next
        int next = kt + STAGES - 1;
        if (next < tiles) load_stage(next % STAGES, next);
        else asm volatile("cp.async.commit_group;\n");
        warp_tile<T, A_K, B_K>(acc, sa + (kt % STAGES) * A::ELEMS, sb + (kt % STAGES) * B::ELEMS, wm, wn);
    }
    asm volatile("cp.async.wait_group 0;\n");

    int lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int mi = 0; mi < 4; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int r = row0 + wm * 64 + mi * 16 + g + (e / 2) * 8;
                int col = col0 + wn * 32 + ni * 8 + 2 * t + e % 2;
                if (r < m && col < n) {
                    C* p = c + (int64_t)r * n + col;
                    float v = alpha * acc[mi][ni][e];
                    *p = from_f32<C>(beta == 0.f ? v : fmaf(beta, to_f32(*p), v));
                }
            }
}

}  // namespace gemm_detail
using namespace gemm_detail;

// longbow_gemm_<inputs>_<output>_<op(A)><op(B)>, n = as stored, t = transposed. Launch: grid
// (ceil(N/128), ceil(M/128)), 256 threads, dynamic shared memory
// 3 * (A elements + B elements) * sizeof(input): see CudaModelOps.gemmSharedBytes.
#define GEMM(tn, T, cn, C, la, lb, A_K, B_K)                                                               \
    extern "C" __global__ void __launch_bounds__(THREADS) longbow_gemm_##tn##_##cn##_##la##lb(               \
        const T* a, const T* b, C* c, int m, int n, int k, float alpha, float beta) {                      \
        gemm<T, C, A_K, B_K>(a, b, c, m, n, k, alpha, beta);                                               \
    }
#define GEMM_LAYOUTS(tn, T, cn, C)                                                                         \
    GEMM(tn, T, cn, C, n, n, true, false) GEMM(tn, T, cn, C, n, t, true, true)                             \
    GEMM(tn, T, cn, C, t, n, false, false) GEMM(tn, T, cn, C, t, t, false, true)
GEMM_LAYOUTS(f32, float, f32, float)
GEMM_LAYOUTS(bf16, bf16, f32, float)
GEMM_LAYOUTS(bf16, bf16, bf16, bf16)
