// Flash-attention forward: out = softmax(scale * q k^T + mask) v and its row log-sum-exp.
//
// Algorithm: FlashAttention-2 (Dao, arXiv 2307.08691), Algorithm 1. One CTA per (query head,
// block of BM query rows); each warp owns 16*MT rows end to end, so the online softmax needs
// only quad shuffles, never shared memory. The CTA walks the key/value blocks from the last
// visible one down to the first, so the blocks that need a mask (causal diagonal, sequence end)
// come first and the rest run the unmasked path. K and V are single-buffered and overlapped as
// in FA2: V's copy runs under q k^T, the next K's copy under the softmax and p v.
// Scores stay in registers: S (fp32 accumulators) -> P (bf16/fp16 A fragments) without a trip
// through shared memory. Q is re-read from shared memory by ldmatrix at each step (MT=2), or
// held in registers (MT=1).
//
// Masks and offsets (AttentionParams): key j visible to query i iff j <= i + (qStart - kStart)
// under causal; a row that sees no key writes out 0 and lse -inf (its running max stays -inf,
// and the exponent base falls back to 0 so nothing becomes NaN).
//
// Tiles: D=128 runs 8 warps x 16 rows (BM=128) over 128-key steps with Q in registers (244-248
// registers, one CTA per SM); D=64 runs 4 warps x 32 rows over 64-key steps. The 1-D grid is
// ordered by place_block: heads in groups whose K and V fit in L2, longest blocks first.
//
// Measured (lab notebook; TFLOP/s = 2*S*S*D*H / time for causal, B=1 H=16 D=128 bf16 causal,
// median of CUDA-event-timed runs; H100 80GB HBM3, 2026-11-23, bench/gpu/RESULTS.md):
//   S=4K  310 TFLOP/s  (PyTorch 2.11 SDPA flash: 212)
//   S=16K 354          (326)
//   S=64K 336-340      (320-327)
// History (kernels-ptx/NOTES.md): 4 warps x 32 rows x 32 keys gave 302/334/318; this tile
// 316/353/338 before the L2-aware order, 306-310/354/336-355 with it (run-to-run spread ~4%).
#include "flash_common.cuh"

#ifndef FWD_D128_NW
#define FWD_D128_NW 8   // warps per CTA
#endif
#ifndef FWD_D128_MT
#define FWD_D128_MT 1   // 16-row m-tiles per warp: BM = 16 * NW * MT
#endif
#ifndef FWD_D128_BN
#define FWD_D128_BN 128 // keys per step
#endif
#ifndef FWD_D64_NW
#define FWD_D64_NW 4
#endif
#ifndef FWD_D64_MT
#define FWD_D64_MT 2
#endif
#ifndef FWD_D64_BN
#define FWD_D64_BN 64
#endif

namespace flash {

template <int D> struct FwdCfg;
template <> struct FwdCfg<128> { static constexpr int NW = FWD_D128_NW, MT = FWD_D128_MT, BN = FWD_D128_BN; };
template <> struct FwdCfg<64>  { static constexpr int NW = FWD_D64_NW,  MT = FWD_D64_MT,  BN = FWD_D64_BN; };

__device__ __forceinline__ void store_pair(float* p, float a, float b) { *reinterpret_cast<float2*>(p) = make_float2(a, b); }
template <typename T>
__device__ __forceinline__ void store_pair(T* p, float a, float b) { *reinterpret_cast<uint32_t*>(p) = Elem<T>::pack(a, b); }

template <typename T, int D, typename OutT>
__device__ __forceinline__ void fwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                    OutT* __restrict__ out, float* __restrict__ lse,
                                    int sq, int sk, int hq, int hkv, float scale, int causal,
                                    long long q_start, long long k_start) {
    constexpr int NW = FwdCfg<D>::NW, MT = FwdCfg<D>::MT, BN = FwdCfg<D>::BN;
    constexpr int THREADS = NW * 32, BM = 16 * NW * MT, NT = BN / 8, DT = D / 8, KD = D / 16;
    using E = Elem<T>;
    extern __shared__ __align__(128) unsigned char smem_raw[];
    T* sQ = reinterpret_cast<T*>(smem_raw);
    T* sK = sQ + BM * D;
    T* sV = sK + BN * D;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int nm = (sq + BM - 1) / BM;
    const Placement pl = place_block(blockIdx.x, nm, hq, (long long)sk * D * 2 * sizeof(T));  // K and V
    const int h = pl.head;
    const int m0 = (nm - 1 - pl.rank) * BM;  // rank 0: the last query block, the longest under causal
    const int hk = h / (hq / hkv);
    const long long qstride = (long long)hq * D, kstride = (long long)hkv * D;
    const T* kh = k + hk * D;
    const T* vh = v + hk * D;
    const int diff = clamp_diff(q_start, k_start, sq, sk);
    const int n_end = causal ? min(sk, m0 + BM + diff) : sk;  // keys past n_end are hidden from every row
    const int nblocks = n_end > 0 ? (n_end + BN - 1) / BN : 0;
    const int wrow = warp * 16 * MT;  // the warp's first row in the block
    const float sl2 = scale * LOG2E;
    const Frag<D> fq = frag_p16<D>(sQ, lane), fk = frag_p8<D>(sK, lane), fv = frag_p16<D>(sV, lane);

    float o[MT][DT][4];
    float m_run[MT][2], l_run[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.f;
        m_run[mt][0] = m_run[mt][1] = -INFINITY;
        l_run[mt][0] = l_run[mt][1] = 0.f;
    }

    if (nblocks > 0) {
        load_tile<BM, D, THREADS>(sQ, q + h * D, qstride, m0, sq, tid);
        load_tile<BN, D, THREADS>(sK, kh, kstride, (nblocks - 1) * BN, sk, tid);
        cp_async_commit();
    }
    uint32_t qf[MT == 1 ? KD : 1][4];  // Q fragments kept in registers when a warp has one m-tile
    for (int nb = nblocks - 1; nb >= 0; --nb) {
        const int n0 = nb * BN;
        cp_async_wait<0>();
        __syncthreads();  // K[nb] landed; every warp is done with V[nb+1]
        load_tile<BN, D, THREADS>(sV, vh, kstride, n0, sk, tid);
        cp_async_commit();
        if constexpr (MT == 1) {
            if (nb == nblocks - 1) {
#pragma unroll
                for (int kk = 0; kk < KD; ++kk) ldsm_x4(qf[kk], fq.at(wrow, kk * 16));
            }
        }

        float s[MT][NT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < NT; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                if constexpr (MT == 1) {
#pragma unroll
                    for (int i = 0; i < 4; ++i) a[mt][i] = qf[kk][i];
                } else {
                    ldsm_x4(a[mt], fq.at(wrow + mt * 16, kk * 16));
                }
            }
#pragma unroll
            for (int np = 0; np < NT / 2; ++np) {
                uint32_t b[4];
                ldsm_x4(b, fk.at(np * 16, kk * 16));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    E::mma(s[mt][2 * np], a[mt], b[0], b[1]);
                    E::mma(s[mt][2 * np + 1], a[mt], b[2], b[3]);
                }
            }
        }

        const bool masked = n0 + BN > sk || (causal && n0 + BN - 1 > m0 + diff);
        if (masked) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const int row = m0 + wrow + mt * 16 + g + (e >> 1) * 8;
                        const int col = n0 + nt * 8 + 2 * t + (e & 1);
                        if (col >= sk || (causal && col > row + diff)) s[mt][nt][e] = -INFINITY;
                    }
        }

        cp_async_wait<0>();
        __syncthreads();  // V[nb] landed; every warp is done with K[nb]
        if (nb > 0) {
            load_tile<BN, D, THREADS>(sK, kh, kstride, n0 - BN, sk, tid);
            cp_async_commit();
        }

        // Online softmax in base 2: p = 2^(s*sl2 - max*sl2), running sums rescaled by alpha.
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                float mx = m_run[mt][r];
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float base = mx == -INFINITY ? 0.f : mx * sl2;
                const float alpha = ex2(m_run[mt][r] * sl2 - base);
                m_run[mt][r] = mx;
                float sum = 0.f;
#pragma unroll
                for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const float p = ex2(fmaf(s[mt][nt][2 * r + e], sl2, -base));
                        s[mt][nt][2 * r + e] = p;
                        sum += p;
                    }
                l_run[mt][r] = l_run[mt][r] * alpha + sum;
#pragma unroll
                for (int dt = 0; dt < DT; ++dt) {
                    o[mt][dt][2 * r] *= alpha;
                    o[mt][dt][2 * r + 1] *= alpha;
                }
            }

        // O += P V: the S accumulators of n-tiles 2kk, 2kk+1 are exactly the A fragment of k-step kk.
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                a[mt][0] = E::pack(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                a[mt][1] = E::pack(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                a[mt][2] = E::pack(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                a[mt][3] = E::pack(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                uint32_t b[4];
                ldsm_x4_t(b, fv.at(kk * 16, dp * 16));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    E::mma(o[mt][2 * dp], a[mt], b[0], b[1]);
                    E::mma(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
                }
            }
        }
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float l = l_run[mt][r];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int row = m0 + wrow + mt * 16 + g + 8 * r;
            if (row >= sq) continue;
            const float inv = l > 0.f ? 1.f / l : 0.f;
            OutT* orow = out + row * qstride + h * D + 2 * t;
#pragma unroll
            for (int dt = 0; dt < DT; ++dt) store_pair(orow + dt * 8, o[mt][dt][2 * r] * inv, o[mt][dt][2 * r + 1] * inv);
            if (t == 0) lse[(long long)row * hq + h] = l > 0.f ? m_run[mt][r] * scale + logf(l) : -INFINITY;
        }
}

}  // namespace flash

// Entry points: see FLASH_ABI.md for grid, block and dynamic shared memory.
#define FLASH_FWD_ENTRY(NAME, T, D, OUT)                                                            \
    extern "C" __global__ void __launch_bounds__(flash::FwdCfg<D>::NW * 32)                         \
    NAME(const T* q, const T* k, const T* v, OUT* out, float* lse, int sq, int sk, int hq, int hkv, \
         float scale, int causal, long long q_start, long long k_start) {                          \
        flash::fwd<T, D, OUT>(q, k, v, out, lse, sq, sk, hq, hkv, scale, causal, q_start, k_start); \
    }

FLASH_FWD_ENTRY(flash_fwd_bf16_d128, __nv_bfloat16, 128, __nv_bfloat16)
FLASH_FWD_ENTRY(flash_fwd_bf16_d64, __nv_bfloat16, 64, __nv_bfloat16)
FLASH_FWD_ENTRY(flash_fwd_f16_d128, __half, 128, __half)
FLASH_FWD_ENTRY(flash_fwd_f16_d64, __half, 64, __half)
FLASH_FWD_ENTRY(flash_fwd_bf16_d128_f32out, __nv_bfloat16, 128, float)
FLASH_FWD_ENTRY(flash_fwd_bf16_d64_f32out, __nv_bfloat16, 64, float)
FLASH_FWD_ENTRY(flash_fwd_f16_d128_f32out, __half, 128, float)
FLASH_FWD_ENTRY(flash_fwd_f16_d64_f32out, __half, 64, float)
