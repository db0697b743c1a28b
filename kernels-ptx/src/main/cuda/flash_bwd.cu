// Flash-attention backward: dq, dk, dv ADDED to fp32 accumulators, given the forward's out and lse.
//
// Algorithm: FlashAttention-2 (Dao, arXiv 2307.08691), Algorithm 2, in two kernels.
//   flash_bwd_delta_*: delta_i = rowsum(dout_i * out_i), one warp per (row, head).
//   flash_bwd_*:       one CTA (8 warps) per (kv head, block of BN=128 keys). K and V stay in
//     shared memory; the CTA walks every query head of its GQA group and every query block of
//     BM=64 rows that can see its keys, double-buffering Q, dO, lse and delta with cp.async:
//       S  = Q K^T,  P = exp(scale*S - lse)  (recomputed; lse = -inf rows give P = 0)
//       dP = dO V^T, dS = P * (dP - delta)
//       dV += P^T dO,  dK += dS^T Q          (registers, across all query blocks)
//       dQ += scale * dS K                   (fp32 atomics: other CTAs add to the same rows)
//     and at the end adds scale*dK and dV to the caller's fp32 dk, dv (each CTA owns its rows).
//   P and dS go through shared memory (bf16/fp16) because the dV/dK products need them
//   transposed and partitioned differently from the warps that computed them.
// Warp tiles (8 warps): S and dP 2x4 (32 queries x 32 keys each); dV and dK 4x2 (32 keys x D/2);
// dQ 2x4 (32 queries x D/4).
//
// Two barriers per query block: the top one (its copy landed, the previous block is done) also
// frees the other buffer for the next prefetch. P is kept packed (bf16/fp16) in registers for
// dS, which keeps the kernel within 255 registers without spills.
//
// Measured (lab notebook; TFLOP/s = 2.5 * 2*S*S*D*H / time, B=1 H=16 D=128 bf16 causal, delta
// kernel included; H100 80GB HBM3, 2026-11-23, bench/gpu/RESULTS.md):
//   S=4K  234 TFLOP/s  (PyTorch 2.11 SDPA flash: 226)
//   S=16K 280          (320)
//   S=64K 280-282      (326-327)
// Still 12% behind FA2 at 16K-64K: it executes ~23% more instructions per block than FA2's
// (mostly address arithmetic: ~130 adds per warp and block, one per ldmatrix) at the same
// 255 registers; see kernels-ptx/NOTES.md for what was tried.
#include "flash_common.cuh"

namespace flash {



constexpr int BWD_BM = 64, BWD_BN = 128, BWD_THREADS = 256;

template <int D>
constexpr int bwd_smem_bytes() {
    return (2 * BWD_BN * D + 4 * BWD_BM * D + 2 * BWD_BM * BWD_BN) * 2 + 4 * BWD_BM * 4;
}

// Adds four consecutive floats (16-byte aligned): one vector reduction on Hopper, where the
// atomics' count is what limits the dQ accumulation (measured: scalar atomics cost 20%).
__device__ __forceinline__ void atomic_add4(float* p, float4 v) {
#if __CUDA_ARCH__ >= 900
    atomicAdd(reinterpret_cast<float4*>(p), v);
#else
    atomicAdd(p, v.x);
    atomicAdd(p + 1, v.y);
    atomicAdd(p + 2, v.z);
    atomicAdd(p + 3, v.w);
#endif
}

template <typename T, int D>
__device__ __forceinline__ void bwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                    const T* __restrict__ dout, const float* __restrict__ lse,
                                    const float* __restrict__ delta, float* __restrict__ dq,
                                    float* __restrict__ dk, float* __restrict__ dv,
                                    int sq, int sk, int hq, int hkv, float scale, int causal,
                                    long long q_start, long long k_start) {
    constexpr int BM = BWD_BM, BN = BWD_BN, THREADS = BWD_THREADS, KD = D / 16;
    using E = Elem<T>;
    extern __shared__ __align__(128) unsigned char smem_raw[];
    T* sK = reinterpret_cast<T*>(smem_raw);
    T* sV = sK + BN * D;
    T* sQ = sV + BN * D;      // [2][BM*D]
    T* sdO = sQ + 2 * BM * D;  // [2][BM*D]
    T* sP = sdO + 2 * BM * D;  // [BM][BN]
    T* sdS = sP + BM * BN;     // [BM][BN]
    float* sLse = reinterpret_cast<float*>(sdS + BM * BN);  // [2][BM], base-2 and +inf where P must be 0
    float* sDelta = sLse + 2 * BM;                           // [2][BM]

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int group = hq / hkv;
    // Re-read per kv head: its query heads' Q and dO, and the dq rows the atomics hit.
    const Placement pl = place_block(blockIdx.x, (sk + BN - 1) / BN, hkv, (long long)group * sq * D * (2 * sizeof(T) + 4));
    const int hk = pl.head, n0 = pl.rank * BN;  // rank 0: keys 0.., seen by the most queries under causal
    const long long qstride = (long long)hq * D, kstride = (long long)hkv * D;
    const int diff = clamp_diff(q_start, k_start, sq, sk);
    const int qfirst = causal ? max(0, n0 - diff) / BM : 0;  // first query block that sees a key here
    const int nq = max(0, (sq + BM - 1) / BM - qfirst);
    const int iters = group * nq;
    if (iters == 0) return;  // no query sees these keys: dk, dv get nothing added

    const float sl2 = scale * LOG2E;
    // Warp roles. S/dP: rows wm*32, keys wn*32. dV/dK: keys wk*32, dims wd*D/2. dQ: rows wm*32, dims wn*D/4.
    const int wm = warp & 1, wn = warp >> 1, wk = warp & 3, wd = warp >> 2;
    constexpr int DV_NT = D / 16, DQ_NT = D / 32;  // n-tiles per warp in the dV/dK and dQ products
    const uint32_t qbuf_bytes = BM * D * 2;
    // Fragment addresses: one set per lane pattern and row length over the whole shared block;
    // a tile is then a compile-time byte offset (and ptxas folds it into the instruction).
    const Frag<D> p16 = frag_p16<D>(smem_raw, lane), p8 = frag_p8<D>(smem_raw, lane);
    const Frag<BN> p16w = frag_p16<BN>(smem_raw, lane), p8w = frag_p8<BN>(smem_raw, lane);
    constexpr uint32_t OFF_K = 0, OFF_V = BN * D * 2, OFF_Q = 2 * BN * D * 2, OFF_DO = OFF_Q + 2 * BM * D * 2,
                       OFF_P = OFF_DO + 2 * BM * D * 2, OFF_DS = OFF_P + BM * BN * 2;
    float acc_dk[2][DV_NT][4], acc_dv[2][DV_NT][4];
    zero(acc_dk);
    zero(acc_dv);

    auto prefetch = [&](int h, int m0, int buf) {
        load_tile<BM, D, THREADS>(sQ + buf * BM * D, q + h * D, qstride, m0, sq, tid);
        load_tile<BM, D, THREADS>(sdO + buf * BM * D, dout + h * D, qstride, m0, sq, tid);
        if (tid < BM) {
            const int row = m0 + tid;
            const float l = row < sq ? lse[(long long)row * hq + h] : -INFINITY;
            sLse[buf * BM + tid] = l == -INFINITY ? INFINITY : l * LOG2E;
            sDelta[buf * BM + tid] = row < sq ? delta[(long long)row * hq + h] : 0.f;
        }
        cp_async_commit();
    };

    // dQ += scale * dS K (warp tile 32 queries x D/4, k = the BN keys), added to global memory
    // with atomics: other CTAs add to the same rows.
    auto dq_add = [&](int h, int m0) {
        float acc[2][DQ_NT][4];
        zero(acc);
        warp_mma<T, 2, DQ_NT, BN / 16, false, true>(acc, p16w, OFF_DS, wm * 32, p16, OFF_K, wn * (D / 4), 0);
        // Lanes t and t^1 swap halves so that each holds four consecutive columns of one row:
        // even t row g, odd t row g+8, columns 4*(t/2)..+3 of each 8-column tile.
        const int odd = t & 1;
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
            const int row = m0 + wm * 32 + mt * 16 + g + 8 * odd;
            float* dst = dq + row * qstride + h * D + wn * (D / 4) + 4 * (t >> 1);
#pragma unroll
            for (int nt = 0; nt < DQ_NT; ++nt) {
                const float* c = acc[mt][nt];
                const float r0 = __shfl_xor_sync(0xffffffffu, odd ? c[0] : c[2], 1);
                const float r1 = __shfl_xor_sync(0xffffffffu, odd ? c[1] : c[3], 1);
                const float4 v = odd ? make_float4(r0, r1, c[2], c[3]) : make_float4(c[0], c[1], r0, r1);
                if (row < sq) atomic_add4(dst + nt * 8, make_float4(scale * v.x, scale * v.y, scale * v.z, scale * v.w));
            }
        }
    };

    load_tile<BN, D, THREADS>(sK, k + hk * D, kstride, n0, sk, tid);
    load_tile<BN, D, THREADS>(sV, v + hk * D, kstride, n0, sk, tid);
    // Blocks in order: query blocks qfirst.. of the group's first head, then of the next head.
    const int m_first = qfirst * BM, m_end = (qfirst + nq) * BM;
    int cur_h = hk * group, cur_m0 = m_first;  // the block being computed
    int nxt_h = cur_h, nxt_m0 = cur_m0;        // the block being prefetched
    prefetch(cur_h, cur_m0, 0);

    for (int it = 0; it < iters; ++it) {
        const int buf = it & 1;
        cp_async_wait<0>();
        // Block it's Q, dO, lse, delta are in buf, and every warp has finished block it-1, so
        // sP, sdS and the other buffer are free: the next block's copy starts now.
        __syncthreads();
        if (it + 1 < iters) {
            nxt_m0 += BM;
            if (nxt_m0 == m_end) nxt_m0 = m_first, ++nxt_h;
            prefetch(nxt_h, nxt_m0, buf ^ 1);
        }
        const int m0 = cur_m0;
        const uint32_t qoff = buf * qbuf_bytes;

        // S = Q K^T (warp tile 32 x 32), then P = 2^(S*scale*log2e - lse2), kept packed: the
        // low-precision copy is what the dV product consumes, and dS reuses it below.
        const bool masked = n0 + BN > sk || (causal && m0 + diff < n0 + BN - 1);
        uint32_t pp[2][2][4];  // [mt][r][nt]: P of rows (g + 8r), columns (nt*8 + 2t, +1)
        {
            float s[2][4][4];
            zero(s);
            warp_mma<T, 2, 4, KD, false, false>(s, p16, OFF_Q + qoff, wm * 32, p8, OFF_K, wn * 32, 0);
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int r = 0; r < 2; ++r) {
                    const int row = wm * 32 + mt * 16 + g + 8 * r;
                    const float lse2 = sLse[buf * BM + row];
#pragma unroll
                    for (int nt = 0; nt < 4; ++nt) {
                        float p[2];
#pragma unroll
                        for (int e = 0; e < 2; ++e) {
                            p[e] = ex2(fmaf(s[mt][nt][2 * r + e], sl2, -lse2));
                            if (masked) {
                                const int col = n0 + wn * 32 + nt * 8 + 2 * t + e;
                                if (col >= sk || (causal && col > m0 + row + diff)) p[e] = 0.f;
                            }
                        }
                        pp[mt][r][nt] = E::pack(p[0], p[1]);
                        *reinterpret_cast<uint32_t*>(sP + swz<BN>(row, wn * 4 + nt) + 2 * t) = pp[mt][r][nt];
                    }
                }
        }
        // dP = dO V^T, dS = P * (dP - delta).
        {
            float dp[2][4][4];
            zero(dp);
            warp_mma<T, 2, 4, KD, false, false>(dp, p16, OFF_DO + qoff, wm * 32, p8, OFF_V, wn * 32, 0);
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int r = 0; r < 2; ++r) {
                    const int row = wm * 32 + mt * 16 + g + 8 * r;
                    const float dlt = sDelta[buf * BM + row];
#pragma unroll
                    for (int nt = 0; nt < 4; ++nt) {
                        const float2 p = E::unpack(pp[mt][r][nt]);
                        *reinterpret_cast<uint32_t*>(sdS + swz<BN>(row, wn * 4 + nt) + 2 * t) =
                            E::pack(p.x * (dp[mt][nt][2 * r] - dlt), p.y * (dp[mt][nt][2 * r + 1] - dlt));
                    }
                }
        }
        __syncthreads();

        // dV += P^T dO: warp tile 32 keys x D/2, k = the BM queries.
        warp_mma<T, 2, DV_NT, BM / 16, true, true>(acc_dv, p8w, OFF_P, wk * 32, p16, OFF_DO + qoff, wd * (D / 2), 0);
        // dK += dS^T Q
        warp_mma<T, 2, DV_NT, BM / 16, true, true>(acc_dk, p8w, OFF_DS, wk * 32, p16, OFF_Q + qoff, wd * (D / 2), 0);
        dq_add(cur_h, m0);
        cur_h = nxt_h;
        cur_m0 = nxt_m0;
    }

#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            const int row = n0 + wk * 32 + mt * 16 + g + 8 * r;
            if (row >= sk) continue;
            const long long off = row * kstride + hk * D + wd * (D / 2) + 2 * t;
#pragma unroll
            for (int nt = 0; nt < DV_NT; ++nt) {
                float2* pk = reinterpret_cast<float2*>(dk + off + nt * 8);
                float2* pv = reinterpret_cast<float2*>(dv + off + nt * 8);
                const float2 ok = *pk, ov = *pv;
                *pk = make_float2(ok.x + scale * acc_dk[mt][nt][2 * r], ok.y + scale * acc_dk[mt][nt][2 * r + 1]);
                *pv = make_float2(ov.x + acc_dv[mt][nt][2 * r], ov.y + acc_dv[mt][nt][2 * r + 1]);
            }
        }
}

// delta[row, h] = sum_d dout[row, h, d] * out[row, h, d]; one warp per (row, head), d % 8 == 0.
template <typename T>
__device__ __forceinline__ void bwd_delta(const T* __restrict__ out, const T* __restrict__ dout,
                                          float* __restrict__ delta, int sq, int hq, int d) {
    const long long pair = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x & 31;
    if (pair >= (long long)sq * hq) return;
    const T* o = out + pair * d;
    const T* g = dout + pair * d;
    float sum = 0.f;
    for (int c = lane * 8; c < d; c += 256) {
        const uint4 ov = *reinterpret_cast<const uint4*>(o + c), gv = *reinterpret_cast<const uint4*>(g + c);
        const uint32_t ow[4] = {ov.x, ov.y, ov.z, ov.w}, gw[4] = {gv.x, gv.y, gv.z, gv.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float2 a = Elem<T>::unpack(ow[i]), b = Elem<T>::unpack(gw[i]);
            sum = fmaf(a.x, b.x, fmaf(a.y, b.y, sum));
        }
    }
#pragma unroll
    for (int s = 16; s > 0; s >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, s);
    if (lane == 0) delta[pair] = sum;
}

}  // namespace flash

// Entry points: see FLASH_ABI.md for grid, block and dynamic shared memory.
#define FLASH_BWD_ENTRY(NAME, T, D)                                                                   \
    extern "C" __global__ void __launch_bounds__(flash::BWD_THREADS, 1)                               \
    NAME(const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* delta,     \
         float* dq, float* dk, float* dv, int sq, int sk, int hq, int hkv, float scale, int causal,   \
         long long q_start, long long k_start) {                                                      \
        flash::bwd<T, D>(q, k, v, dout, lse, delta, dq, dk, dv, sq, sk, hq, hkv, scale, causal,      \
                         q_start, k_start);                                                           \
    }
#define FLASH_DELTA_ENTRY(NAME, T)                                                                  \
    extern "C" __global__ void __launch_bounds__(256)                                               \
    NAME(const T* out, const T* dout, float* delta, int sq, int hq, int d) {                        \
        flash::bwd_delta<T>(out, dout, delta, sq, hq, d);                                           \
    }

FLASH_BWD_ENTRY(flash_bwd_bf16_d128, __nv_bfloat16, 128)
FLASH_BWD_ENTRY(flash_bwd_bf16_d64, __nv_bfloat16, 64)
FLASH_BWD_ENTRY(flash_bwd_f16_d128, __half, 128)
FLASH_BWD_ENTRY(flash_bwd_f16_d64, __half, 64)
FLASH_DELTA_ENTRY(flash_bwd_delta_bf16, __nv_bfloat16)
FLASH_DELTA_ENTRY(flash_bwd_delta_f16, __half)
