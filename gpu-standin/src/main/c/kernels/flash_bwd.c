// flash_bwd.c: the CPU reading of kernels-ptx/src/main/cuda/flash_bwd.cu (launch ABI:
// FLASH_ABI.md), given the forward's out and lse (natural log, scale included):
//   flash_bwd_delta_<T>: delta[i, h] = sum_d dout[i, h, d] out[i, h, d], one warp per (row, head).
//   flash_bwd_<T>_d<D>:  with P = exp(scale q k^T - lse) (0 where masked or lse = -inf),
//     dS = P (dout v^T - delta), ADDS dq += scale dS k, dk += scale dS^T q, dv += P^T dout
//     (dq, dk, dv fp32, never zeroed); GQA: kv head hk takes the gradients of query heads
//     hk * group .. hk * group + group - 1 (group = hq / hkv); causal as in the forward.
//
// flash_bwd: each CTA is one (kv head, block of BN = 128 keys), taken from the 1-D grid by the
// .cu's place_block order (rank r: keys from r * BN), and computed as the GPU computes it: every
// query head of the group and every query block of BM = 64 rows that can see the keys; P and
// dS rounded to T (the .cu stores them in T for the dV, dK and dQ products); dq added per query
// block (the .cu's atomics), dk and dv added at the end for the key rows below sk. A surplus
// block whose rank passes sk adds zeros to dq, as on the GPU. flash_bwd_delta: block b handles
// the pairs 8b .. 8b + 7 below sq * hq.
//
// Checks: a 1-D grid (both read only blockIdx.x: more slices would add everything again); block
// (256, 1, 1) for both (FLASH_ABI.md); flash_bwd's dynamic shared memory
// (2 BN D + 4 BM D + 2 BM BN) * 2 + 4 BM * 4 bytes (K, V, double-buffered Q and dO, P, dS, lse,
// delta: 164864 at D = 128, 99328 at D = 64); the ABI's hq, hkv > 0, hq % hkv == 0, sq, sk >= 0,
// scale > 0, causal 0 or 1; the delta kernel's d % 8 == 0 (it reads rows as 16-byte words);
// every pointer 16-byte aligned and valid over its whole tensor; no block that place_block
// maps past the last kv head (the kernel has no bounds check: it would divide by zero or read
// and write outside k, v, dk and dv).
#include <stdlib.h>

#include "flash_common.h"
#include "kernel.h"
#include "standin.h"

#define BM 64  // query rows per step
#define BN 128 // key rows per CTA
#define THREADS 256

typedef struct {
    si_float_type t;
    int d;
    const void *q, *k, *v, *dout;
    const float *lse, *delta;
    float *dq, *dk, *dv;
    int sq, sk, hq, hkv, causal, diff;
    float scale;
} bwd_args;

typedef struct {
    float k[BN][128], kt[128][BN], vt[128][BN];  // this CTA's keys (zero past sk), [key][d] and [d][key]
    float dk[BN][128], dv[BN][128];               // its gradient sums over every query block
    float q[BM][128], dout[BM][128];              // one query block
    float p[BM][BN], ds[BM][BN];                  // P and dS, rounded to T
    float dp[BN], dq[128];
} bwd_work;

static void bwd_cta(const bwd_args *a, bwd_work *w, int hk, int n0) {
    const int D = a->d, group = a->hq / a->hkv;
    const int qfirst = a->causal ? (n0 - a->diff > 0 ? n0 - a->diff : 0) / BM : 0;  // first block seeing a key
    const int nq = (a->sq + BM - 1) / BM - qfirst;
    if (nq <= 0) return;  // no query sees these keys: dk, dv get nothing added
    const int keys = a->sk - n0 < 0 ? 0 : a->sk - n0 < BN ? a->sk - n0 : BN;
    const int64_t qstride = (int64_t)a->hq * D, kstride = (int64_t)a->hkv * D;
    const float sl2 = a->scale * 1.4426950408889634f;
    for (int j = 0; j < BN; j++)
        for (int d = 0; d < D; d++) {
            int64_t at = (int64_t)(n0 + j) * kstride + hk * D + d;
            w->k[j][d] = w->kt[d][j] = j < keys ? si_load(a->t, a->k, at) : 0.f;
            w->vt[d][j] = j < keys ? si_load(a->t, a->v, at) : 0.f;
            w->dk[j][d] = w->dv[j][d] = 0.f;
        }
    for (int h = hk * group; h < (hk + 1) * group; h++)
        for (int m0 = qfirst * BM; m0 < (qfirst + nq) * BM; m0 += BM) {
            // Rows past sq have lse2 = +inf on the GPU, so P = dS = 0: they add nothing.
            const int rows = a->sq - m0 < BM ? a->sq - m0 : BM;
            for (int i = 0; i < rows; i++)
                for (int d = 0; d < D; d++) {
                    w->q[i][d] = si_load(a->t, a->q, (m0 + i) * qstride + h * D + d);
                    w->dout[i][d] = si_load(a->t, a->dout, (m0 + i) * qstride + h * D + d);
                }
            for (int i = 0; i < rows; i++) {
                const int64_t row = m0 + i;
                const float lse = a->lse[row * a->hq + h], lse2 = lse == -INFINITY ? INFINITY : lse * 1.4426950408889634f;
                const float delta = a->delta[row * a->hq + h];
                float *s = w->p[i];
                memset(s, 0, sizeof w->p[i]);
                memset(w->dp, 0, sizeof w->dp);
                for (int d = 0; d < D; d++) {
                    float x = w->q[i][d], y = w->dout[i][d];
                    for (int j = 0; j < BN; j++) s[j] += x * w->kt[d][j], w->dp[j] += y * w->vt[d][j];
                }
                for (int j = 0; j < BN; j++) {
                    const int col = n0 + j;
                    float p = exp2f(fmaf(s[j], sl2, -lse2));
                    if (col >= a->sk || (a->causal && col > m0 + i + a->diff)) p = 0.f;
                    s[j] = flash_rounded(a->t, p);
                    w->ds[i][j] = flash_rounded(a->t, s[j] * (w->dp[j] - delta));
                }
            }
            // dV += P^T dO, dK += dS^T Q (the keys' sums), dQ += scale dS K (added now, as the atomics).
            for (int i = 0; i < rows; i++) {
                memset(w->dq, 0, sizeof w->dq);
                for (int j = 0; j < keys; j++) {
                    const float p = w->p[i][j], ds = w->ds[i][j];
                    for (int d = 0; d < D; d++) {
                        w->dv[j][d] += p * w->dout[i][d];
                        w->dk[j][d] += ds * w->q[i][d];
                        w->dq[d] += ds * w->k[j][d];
                    }
                }
                float *dq = a->dq + (m0 + i) * qstride + h * D;
                for (int d = 0; d < D; d++) dq[d] += a->scale * w->dq[d];
            }
        }
    for (int j = 0; j < keys; j++) {
        float *dk = a->dk + (n0 + j) * kstride + hk * D, *dv = a->dv + (n0 + j) * kstride + hk * D;
        for (int d = 0; d < D; d++) dk[d] += a->scale * w->dk[j][d], dv[d] += w->dv[j][d];
    }
}

static int bwd(si_launch *l, si_float_type t, int d) {
    if (si_require_dims(l, 1) || si_require_block(l, THREADS, 1, 1) ||
        si_require_shared(l, (2 * BN * d + 4 * BM * d + 2 * BM * BN) * 2 + 4 * BM * 4))
        return l->error;
    bwd_args a = {.t = t, .d = d, .sq = si_param_i32(l, 9), .sk = si_param_i32(l, 10), .hq = si_param_i32(l, 11),
                  .hkv = si_param_i32(l, 12), .scale = si_param_f32(l, 13), .causal = si_param_i32(l, 14)};
    int64_t q_start = si_param_i64(l, 15), k_start = si_param_i64(l, 16);
    if (a.hq <= 0 || a.hkv <= 0 || a.hq % a.hkv != 0 || a.sq < 0 || a.sk < 0 || !(a.scale > 0.f) || (a.causal & ~1))
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED,
                              "%s: sq %d, sk %d, hq %d, hkv %d, scale %g, causal %d outside FLASH_ABI.md's requirements",
                              l->kernel, a.sq, a.sk, a.hq, a.hkv, a.scale, a.causal);
    a.diff = flash_clamp_diff(q_start, k_start, a.sq, a.sk);
    const int nk = (a.sk + BN - 1) / BN, group = a.hq / a.hkv;
    const int64_t head_bytes = (int64_t)group * a.sq * d * (2 * 2 + 4);  // Q and dO in T, dq in fp32
    const int64_t rows = si_count(a.sq, a.hq), qn = si_count(rows, d), kn = si_count(si_count(a.sk, a.hkv), d);
    a.q = flash_tensor(l, 0, qn, 2, SI_READ), a.k = flash_tensor(l, 1, kn, 2, SI_READ), a.v = flash_tensor(l, 2, kn, 2, SI_READ);
    a.dout = flash_tensor(l, 3, qn, 2, SI_READ), a.lse = flash_tensor(l, 4, rows, 4, SI_READ), a.delta = flash_tensor(l, 5, rows, 4, SI_READ);
    // dq, dk and dv are added to: read and written.
    a.dq = flash_tensor(l, 6, qn, 4, SI_WRITE), a.dk = flash_tensor(l, 7, kn, 4, SI_WRITE), a.dv = flash_tensor(l, 8, kn, 4, SI_WRITE);
    if (!a.q || !a.k || !a.v || !a.dout || !a.lse || !a.delta || !a.dq || !a.dk || !a.dv) return l->error;
    bwd_work *w = malloc(sizeof *w);
    if (!w) return si_kernel_fail(l, SI_ERROR_OUT_OF_MEMORY, "%s: no memory for the CPU work buffers", l->kernel);
    for (uint32_t bid = 0; bid < l->grid.x && !l->error; bid++) {
        int h, rank;
        if (flash_place_block((int)bid, nk, a.hkv, head_bytes, &h, &rank))
            bwd_cta(&a, w, h, rank * BN);  // rank 0: keys 0..
        else
            si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS,
                           "%s: block %u of %u has no kv head (sk %d and hkv %d make %lld blocks); the kernel does not "
                           "bound blockIdx.x and would divide by zero or reach past k, v, dk and dv",
                           l->kernel, bid, l->grid.x, a.sk, a.hkv, (long long)nk * a.hkv);
    }
    free(w);
    return l->error;
}

static int delta(si_launch *l, si_float_type t) {
    if (si_require_dims(l, 1) || si_require_block(l, THREADS, 1, 1)) return l->error;
    const int sq = si_param_i32(l, 3), hq = si_param_i32(l, 4), d = si_param_i32(l, 5);
    if (d > 0 && d % 8 != 0)
        return si_kernel_fail(l, SI_ERROR_MISALIGNED_ADDRESS, "%s: d %d is not a multiple of 8: the kernel reads rows as "
                              "16-byte words", l->kernel, d);
    const int64_t pairs = si_count(sq, hq), width = d > 0 ? d : 0;  // d <= 0: delta 0, nothing read
    const void *out = flash_tensor(l, 0, si_count(pairs, width), 2, SI_READ), *dout = flash_tensor(l, 1, si_count(pairs, width), 2, SI_READ);
    float *dl = flash_tensor(l, 2, pairs, 4, SI_WRITE);
    if (!out || !dout || !dl) return l->error;
    for (uint32_t bid = 0; bid < l->grid.x; bid++) {
        const int64_t first = (int64_t)bid * (THREADS / 32);  // one warp per pair
        for (int64_t pair = first; pair < first + THREADS / 32 && pair < pairs; pair++) {
            float sum = 0.f;
            for (int64_t c = 0; c < width; c++)
                sum = fmaf(si_load(t, out, pair * width + c), si_load(t, dout, pair * width + c), sum);
            dl[pair] = sum;
        }
    }
    return l->error;
}

#define BWD_ENTRIES(X) \
    X(flash_bwd_bf16_d128, SI_BF16, 128) X(flash_bwd_bf16_d64, SI_BF16, 64) \
    X(flash_bwd_f16_d128, SI_F16, 128) X(flash_bwd_f16_d64, SI_F16, 64)
#define DELTA_ENTRIES(X) X(flash_bwd_delta_bf16, SI_BF16) X(flash_bwd_delta_f16, SI_F16)
#define DEFINE_BWD(NAME, T, D) \
    static int NAME(si_launch *l) { return bwd(l, T, D); }
#define DEFINE_DELTA(NAME, T) \
    static int NAME(si_launch *l) { return delta(l, T); }
BWD_ENTRIES(DEFINE_BWD)
DELTA_ENTRIES(DEFINE_DELTA)

#define BWD_ENTRY(NAME, T, D) {#NAME, "pppppppppiiiifill", NAME},
#define DELTA_ENTRY(NAME, T) {#NAME, "pppiii", NAME},
const si_kernel si_kernels_flash_bwd[] = {BWD_ENTRIES(BWD_ENTRY) DELTA_ENTRIES(DELTA_ENTRY){NULL, NULL, NULL}};
