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
// Measured (lab notebook; TFLOP/s = 2.5 * 2*S*S*D*H causal / time, B=1 H=16 D=128 bf16 causal):
//   (not yet measured)
#include "flash_common.cuh"

namespace flash {

constexpr int BWD_BM = 64, BWD_BN = 128, BWD_THREADS = 256;

template <int D>
constexpr int bwd_smem_bytes() {
    return (2 * BWD_BN * D + 4 * BWD_BM * D + 2 * BWD_BM * BWD_BN) * 2 + 4 * BWD_BM * 4;
}

__device__ __forceinline__ void atomic_add2(float* p, float a, float b) {
#if __CUDA_ARCH__ >= 900
    atomicAdd(reinterpret_cast<float2*>(p), make_float2(a, b));  // one vector red on Hopper
#else
    atomicAdd(p, a);
    atomicAdd(p + 1, b);
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
    const int hk = blockIdx.x, n0 = blockIdx.y * BN;  // block 0 sees the most queries: it starts first
    const int group = hq / hkv;
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
    const Frag<D> fq = frag_p16<D>(sQ, lane), fdo = frag_p16<D>(sdO, lane);     // A of S, dP; B of dK, dV
    const Frag<D> fk = frag_p8<D>(sK, lane), fv = frag_p8<D>(sV, lane);         // B of S, dP
    const Frag<BN> fpt = frag_p8<BN>(sP, lane), fdst = frag_p8<BN>(sdS, lane);  // A of dV, dK (transposed)
    const Frag<BN> fds = frag_p16<BN>(sdS, lane);                               // A of dQ
    const Frag<D> fk_t = frag_p16<D>(sK, lane);                                 // B of dQ (K as [k][n])

    float acc_dk[2][DV_NT][4], acc_dv[2][DV_NT][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int nt = 0; nt < DV_NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc_dk[mt][nt][e] = acc_dv[mt][nt][e] = 0.f;

    auto prefetch = [&](int it, int buf) {
        const int h = hk * group + it / nq, m0 = (qfirst + it % nq) * BM;
        load_tile<BM, D, THREADS>(sQ + buf * BM * D, q + h * D, qstride, m0, sq, tid);
        load_tile<BM, D, THREADS>(sdO + buf * BM * D, dout + h * D, qstride, m0, sq, tid);
        if (tid < BM) {
            const int row = m0 + tid;
            const float l = row < sq ? lse[(long long)row * hq + h] : -INFINITY;
            sLse[buf * BM + tid] = l == -INFINITY ? INFINITY : l * LOG2E;
            sDelta[buf * BM + tid] = row < sq ? delta[(long long)row * hq + h] : 0.f;
        }
    };

    load_tile<BN, D, THREADS>(sK, k + hk * D, kstride, n0, sk, tid);
    load_tile<BN, D, THREADS>(sV, v + hk * D, kstride, n0, sk, tid);
    prefetch(0, 0);
    cp_async_commit();

    for (int it = 0; it < iters; ++it) {
        const int buf = it & 1;
        if (it + 1 < iters) {
            prefetch(it + 1, buf ^ 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();  // this block's Q, dO, lse, delta are in buf
        const int h = hk * group + it / nq, m0 = (qfirst + it % nq) * BM;
        const uint32_t qoff = buf * qbuf_bytes;

        // S = Q K^T and dP = dO V^T, warp tile 32 x 32.
        float s[2][4][4], dp[2][4][4];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int nt = 0; nt < 4; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[mt][nt][e] = dp[mt][nt][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            uint32_t aq[2][4], ado[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; ++mt) {
                ldsm_x4(aq[mt], fq.at(wm * 32 + mt * 16, kk * 16) + qoff);
                ldsm_x4(ado[mt], fdo.at(wm * 32 + mt * 16, kk * 16) + qoff);
            }
#pragma unroll
            for (int np = 0; np < 2; ++np) {
                uint32_t bk[4], bv[4];
                ldsm_x4(bk, fk.at(wn * 32 + np * 16, kk * 16));
                ldsm_x4(bv, fv.at(wn * 32 + np * 16, kk * 16));
#pragma unroll
                for (int mt = 0; mt < 2; ++mt) {
                    E::mma(s[mt][2 * np], aq[mt], bk[0], bk[1]);
                    E::mma(s[mt][2 * np + 1], aq[mt], bk[2], bk[3]);
                    E::mma(dp[mt][2 * np], ado[mt], bv[0], bv[1]);
                    E::mma(dp[mt][2 * np + 1], ado[mt], bv[2], bv[3]);
                }
            }
        }

        // P and dS, written to shared memory for the three products that follow.
        const bool masked = n0 + BN > sk || (causal && m0 + diff < n0 + BN - 1);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                const int row = wm * 32 + mt * 16 + g + 8 * r;
                const float lse2 = sLse[buf * BM + row], dlt = sDelta[buf * BM + row];
#pragma unroll
                for (int nt = 0; nt < 4; ++nt) {
                    float p[2], ds[2];
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        p[e] = ex2(fmaf(s[mt][nt][2 * r + e], sl2, -lse2));
                        if (masked) {
                            const int col = n0 + wn * 32 + nt * 8 + 2 * t + e;
                            if (col >= sk || (causal && col > m0 + row + diff)) p[e] = 0.f;
                        }
                        ds[e] = p[e] * (dp[mt][nt][2 * r + e] - dlt);
                    }
                    const int off = swz<BN>(row, wn * 4 + nt) + 2 * t;
                    *reinterpret_cast<uint32_t*>(sP + off) = E::pack(p[0], p[1]);
                    *reinterpret_cast<uint32_t*>(sdS + off) = E::pack(ds[0], ds[1]);
                }
            }
        __syncthreads();

        // dV += P^T dO and dK += dS^T Q: warp tile 32 keys x D/2, k = the BM queries.
#pragma unroll
        for (int kk = 0; kk < BM / 16; ++kk) {
            uint32_t ap[2][4], ads[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; ++mt) {
                ldsm_x4_t(ap[mt], fpt.at(kk * 16, wk * 32 + mt * 16));
                ldsm_x4_t(ads[mt], fdst.at(kk * 16, wk * 32 + mt * 16));
            }
#pragma unroll
            for (int np = 0; np < DV_NT / 2; ++np) {
                uint32_t bdo[4], bq[4];
                ldsm_x4_t(bdo, fdo.at(kk * 16, wd * (D / 2) + np * 16) + qoff);
                ldsm_x4_t(bq, fq.at(kk * 16, wd * (D / 2) + np * 16) + qoff);
#pragma unroll
                for (int mt = 0; mt < 2; ++mt) {
                    E::mma(acc_dv[mt][2 * np], ap[mt], bdo[0], bdo[1]);
                    E::mma(acc_dv[mt][2 * np + 1], ap[mt], bdo[2], bdo[3]);
                    E::mma(acc_dk[mt][2 * np], ads[mt], bq[0], bq[1]);
                    E::mma(acc_dk[mt][2 * np + 1], ads[mt], bq[2], bq[3]);
                }
            }
        }

        // dQ += scale * dS K: warp tile 32 queries x D/4, k = the BN keys.
        float acc_dq[2][DQ_NT][4];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int nt = 0; nt < DQ_NT; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc_dq[mt][nt][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            uint32_t a[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; ++mt) ldsm_x4(a[mt], fds.at(wm * 32 + mt * 16, kk * 16));
#pragma unroll
            for (int np = 0; np < DQ_NT / 2; ++np) {
                uint32_t b[4];
                ldsm_x4_t(b, fk_t.at(kk * 16, wn * (D / 4) + np * 16));
#pragma unroll
                for (int mt = 0; mt < 2; ++mt) {
                    E::mma(acc_dq[mt][2 * np], a[mt], b[0], b[1]);
                    E::mma(acc_dq[mt][2 * np + 1], a[mt], b[2], b[3]);
                }
            }
        }
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                const int row = m0 + wm * 32 + mt * 16 + g + 8 * r;
                if (row >= sq) continue;
                float* dst = dq + row * qstride + h * D + wn * (D / 4) + 2 * t;
#pragma unroll
                for (int nt = 0; nt < DQ_NT; ++nt)
                    atomic_add2(dst + nt * 8, scale * acc_dq[mt][nt][2 * r], scale * acc_dq[mt][nt][2 * r + 1]);
            }
        __syncthreads();  // buf, sP and sdS are free for the next prefetch and block
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
