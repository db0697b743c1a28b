// flash_fwd.c: the CPU reading of kernels-ptx/src/main/cuda/flash_fwd.cu (launch ABI:
// FLASH_ABI.md), flash_fwd_<T>_d<D>[_f32out]:
//   out = softmax(scale q k^T + mask) v, lse = log-sum-exp of the row's scaled scores,
// q, out [sq, hq, D], k, v [sk, hkv, D], lse [sq, hq] fp32; query head h reads kv head
// h / (hq / hkv); under causal, key j is visible to query i iff j <= i + (q_start - k_start).
//
// Each CTA is one (query head, block of BM = 128 rows), taken from the 1-D grid by the .cu's
// place_block order, and computed as the GPU computes it: key blocks of BN from the last
// visible one down, an online softmax in base 2 against the running max of the raw scores, P
// rounded to T before P v, out = o / l (0 where l = 0) and lse = max * scale + log(l) (-inf where
// l = 0). So a grid that is too small leaves its missing blocks' rows unwritten.
//
// Checks: a 1-D grid (the .cu reads only blockIdx.x: more slices would redo its blocks); block
// (NW * 32, 1, 1): 256 threads at D = 128, 128 at D = 64; dynamic shared memory
// (BM + 2 BN) * D * 2 bytes (Q, K and V tiles: 98304 at D = 128, 32768 at D = 64); the ABI's
// hq, hkv > 0, hq % hkv == 0, sq, sk >= 0, scale > 0, causal 0 or 1; every pointer 16-byte
// aligned and valid over its whole tensor; no block past hq * ceil(sq / BM): the kernel has no
// bounds check, and such a block would read and write query rows below 0 (or divide by zero in
// place_block).
#include <stdlib.h>

#include "flash_common.h"
#include "kernel.h"
#include "standin.h"

#define BM 128  // query rows per CTA at both head dims: 16 * NW * MT

// FwdCfg<D> of flash_fwd.cu: warps per CTA and keys per step.
static int warps_of(int d) { return d == 128 ? 8 : 4; }
static int keys_of(int d) { return d == 128 ? 128 : 64; }

typedef struct {
    si_float_type t;
    int d, bn, f32out;
    const void *q, *k, *v;
    void *out;
    float *lse;
    int sq, sk, hq, hkv, causal, diff;
    float scale;
} fwd_args;

typedef struct {
    float q[BM][128];    // this CTA's query rows, fp32
    float kt[128][128];  // K of the key block, transposed [d][key], zero past sk
    float v[128][128];   // V of the key block [key][d]
    float o[BM][128];    // unnormalised output rows
    float m[BM], l[BM];  // running max (raw score) and sum
    float s[128];        // one row's scores, then its rounded P
} fwd_work;

static void fwd_cta(const fwd_args *a, fwd_work *w, int h, int m0) {
    const int D = a->d, BN = a->bn, hk = h / (a->hq / a->hkv);
    const int rows = a->sq - m0 < BM ? a->sq - m0 : BM;
    const int64_t qstride = (int64_t)a->hq * D, kstride = (int64_t)a->hkv * D;
    const float sl2 = a->scale * 1.4426950408889634f;
    // Keys past n_end are hidden from every row of the block.
    const int n_end = a->causal && m0 + BM + a->diff < a->sk ? m0 + BM + a->diff : a->sk;
    const int nblocks = n_end > 0 ? (n_end + BN - 1) / BN : 0;
    for (int i = 0; i < rows; i++) {
        for (int d = 0; d < D; d++) w->q[i][d] = si_load(a->t, a->q, (m0 + i) * qstride + h * D + d), w->o[i][d] = 0.f;
        w->m[i] = -INFINITY;
        w->l[i] = 0.f;
    }
    for (int nb = nblocks - 1; nb >= 0; nb--) {
        const int n0 = nb * BN, keys = a->sk - n0 < BN ? a->sk - n0 : BN;
        for (int j = 0; j < BN; j++)
            for (int d = 0; d < D; d++) {
                int64_t at = (int64_t)(n0 + j) * kstride + hk * D + d;
                w->kt[d][j] = j < keys ? si_load(a->t, a->k, at) : 0.f;
                w->v[j][d] = j < keys ? si_load(a->t, a->v, at) : 0.f;
            }
        for (int i = 0; i < rows; i++) {
            // Keys n0 .. n0 + visible - 1 are visible to this row (the .cu sets the others' scores
            // to -inf, which leaves the max alone and gives p = 0).
            int visible = a->causal ? m0 + i + a->diff - n0 + 1 : keys;
            visible = visible < 0 ? 0 : visible > keys ? keys : visible;
            float *s = w->s, *o = w->o[i];
            memset(s, 0, sizeof w->s);
            for (int d = 0; d < D; d++) {
                float x = w->q[i][d];
                for (int j = 0; j < BN; j++) s[j] += x * w->kt[d][j];
            }
            float mx = w->m[i];
            for (int j = 0; j < visible; j++) mx = fmaxf(mx, s[j]);
            const float base = mx == -INFINITY ? 0.f : mx * sl2;
            const float alpha = exp2f(w->m[i] * sl2 - base);
            float sum = 0.f;
            for (int j = 0; j < visible; j++) {
                float p = exp2f(fmaf(s[j], sl2, -base));
                sum += p;
                s[j] = flash_rounded(a->t, p);  // P enters the P v product as T
            }
            w->m[i] = mx;
            w->l[i] = w->l[i] * alpha + sum;
            for (int d = 0; d < D; d++) o[d] *= alpha;
            for (int j = 0; j < visible; j++)
                for (int d = 0; d < D; d++) o[d] += s[j] * w->v[j][d];
        }
    }
    si_float_type ot = a->f32out ? SI_F32 : a->t;
    for (int i = 0; i < rows; i++) {
        const int64_t row = m0 + i;
        const float l = w->l[i], inv = l > 0.f ? 1.f / l : 0.f;
        for (int d = 0; d < D; d++) si_store(ot, a->out, row * qstride + h * D + d, w->o[i][d] * inv);
        a->lse[row * a->hq + h] = l > 0.f ? w->m[i] * a->scale + logf(l) : -INFINITY;
    }
}

static int fwd(si_launch *l, si_float_type t, int d, int f32out) {
    const int bn = keys_of(d);
    if (si_require_dims(l, 1) || si_require_block(l, warps_of(d) * 32, 1, 1) || si_require_shared(l, (BM + 2 * bn) * d * 2))
        return l->error;
    fwd_args a = {.t = t, .d = d, .bn = bn, .f32out = f32out, .sq = si_param_i32(l, 5), .sk = si_param_i32(l, 6),
                  .hq = si_param_i32(l, 7), .hkv = si_param_i32(l, 8), .scale = si_param_f32(l, 9),
                  .causal = si_param_i32(l, 10)};
    int64_t q_start = si_param_i64(l, 11), k_start = si_param_i64(l, 12);
    if (a.hq <= 0 || a.hkv <= 0 || a.hq % a.hkv != 0 || a.sq < 0 || a.sk < 0 || !(a.scale > 0.f) || (a.causal & ~1))
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED,
                              "%s: sq %d, sk %d, hq %d, hkv %d, scale %g, causal %d outside FLASH_ABI.md's requirements",
                              l->kernel, a.sq, a.sk, a.hq, a.hkv, a.scale, a.causal);
    const int nm = (a.sq + BM - 1) / BM;
    a.diff = flash_clamp_diff(q_start, k_start, a.sq, a.sk);
    const int64_t rows = si_count(a.sq, a.hq), qn = si_count(rows, d), kn = si_count(si_count(a.sk, a.hkv), d);
    a.q = flash_tensor(l, 0, qn, 2, SI_READ), a.k = flash_tensor(l, 1, kn, 2, SI_READ), a.v = flash_tensor(l, 2, kn, 2, SI_READ);
    a.out = flash_tensor(l, 3, qn, f32out ? 4 : 2, SI_WRITE), a.lse = flash_tensor(l, 4, rows, 4, SI_WRITE);
    if (!a.q || !a.k || !a.v || !a.out || !a.lse) return l->error;
    fwd_work *w = malloc(sizeof *w);
    if (!w) return si_kernel_fail(l, SI_ERROR_OUT_OF_MEMORY, "%s: no memory for the CPU work buffers", l->kernel);
    for (uint32_t bid = 0; bid < l->grid.x && !l->error; bid++) {
        int h, rank;
        if (flash_place_block((int)bid, nm, a.hq, (int64_t)a.sk * d * 2 * 2, &h, &rank) && rank < nm)  // K and V
            fwd_cta(&a, w, h, (nm - 1 - rank) * BM);  // rank 0: the last query block
        else
            si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS,
                           "%s: block %u of %u has no (head, query block) (sq %d and hq %d make %lld blocks); the kernel "
                           "does not bound blockIdx.x and would divide by zero or reach below q, out and lse",
                           l->kernel, bid, l->grid.x, a.sq, a.hq, (long long)nm * a.hq);
    }
    free(w);
    return l->error;
}

#define FWD_ENTRIES(X)                                                                          \
    X(flash_fwd_bf16_d128, SI_BF16, 128, 0) X(flash_fwd_bf16_d64, SI_BF16, 64, 0)               \
    X(flash_fwd_f16_d128, SI_F16, 128, 0) X(flash_fwd_f16_d64, SI_F16, 64, 0)                   \
    X(flash_fwd_bf16_d128_f32out, SI_BF16, 128, 1) X(flash_fwd_bf16_d64_f32out, SI_BF16, 64, 1) \
    X(flash_fwd_f16_d128_f32out, SI_F16, 128, 1) X(flash_fwd_f16_d64_f32out, SI_F16, 64, 1)
#define DEFINE(NAME, T, D, F32OUT) \
    static int NAME(si_launch *l) { return fwd(l, T, D, F32OUT); }
FWD_ENTRIES(DEFINE)

#define ENTRY(NAME, T, D, F32OUT) {#NAME, "pppppiiiifill", NAME},
const si_kernel si_kernels_flash_fwd[] = {FWD_ENTRIES(ENTRY){NULL, NULL, NULL}};
