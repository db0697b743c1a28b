// test_attention_kernels.c: the CPU flash-attention and GEMM kernels (kernels/flash_fwd.c,
// flash_bwd.c, gemm.c) against float64 references computed from the definitions (softmax
// attention with causal offsets and GQA, its gradients; C = alpha op(A) op(B) + beta C), then
// their grid semantics (a short grid leaves poisoned outputs) and faults. Tolerances as the
// Java GPU tests: relative 2-norm bf16 1e-2, f16 2e-3, fp32 1e-5.
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "standin.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static double uniform(void) {  // [-1, 1)
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    return (double)(seed >> 11) / 4503599627370496.0 - 1.0;
}

static double tolerance(si_float_type t) { return t == SI_F32 ? 1e-5 : t == SI_BF16 ? 1e-2 : 2e-3; }
static const char *type_name(si_float_type t) { return t == SI_F32 ? "f32" : t == SI_BF16 ? "bf16" : "f16"; }

// n random values of type t in a fresh buffer (misaligned by `misalign` bytes).
static void *random_tensor(si_float_type t, int64_t n, uint64_t misalign) {
    void *p = harness_alloc((uint64_t)n * si_float_size(t), misalign);
    for (int64_t i = 0; i < n; i++) si_store(t, p, i, (float)uniform());
    return p;
}

static double *as_double(si_float_type t, const void *p, int64_t n) {
    double *r = malloc((size_t)(n ? n : 1) * sizeof *r);
    for (int64_t i = 0; i < n; i++) r[i] = si_load(t, p, i);
    return r;
}

// ||got - want|| / ||want|| (NaN if got holds a NaN: an unwritten, poisoned element).
static double rel_error(si_float_type t, const void *got, const double *want, int64_t n) {
    double e = 0, r = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = si_load(t, got, i);
        e += (g - want[i]) * (g - want[i]), r += want[i] * want[i];
    }
    return sqrt(e / (r > 0 ? r : 1));
}

static int poisoned(const void *p, int bytes) {
    for (int i = 0; i < bytes; i++)
        if (((const uint8_t *)p)[i] != SI_POISON) return 0;
    return 1;
}

static void expect(int rc, int want, const char *what) {
    harness_check(rc == want, "%s: result %d, expected %d", what, rc, want);
}

// ---- flash attention ---------------------------------------------------------------------

typedef struct {
    si_float_type t;
    int d, sq, sk, hq, hkv, causal;
    long long q_start, k_start;
} attn;

static si_dim3 dim(uint32_t x) { return (si_dim3){x, 1, 1}; }
static uint32_t fwd_threads(int d) { return d == 128 ? 256 : 128; }
static uint32_t fwd_shared(int d) { return d == 128 ? 98304 : 32768; }
static uint32_t bwd_shared(int d) { return d == 128 ? 164864 : 99328; }
static uint32_t fwd_grid(const attn *c) { return (uint32_t)((c->sq + 127) / 128 * c->hq); }
static uint32_t bwd_grid(const attn *c) { return (uint32_t)((c->sk + 127) / 128 * c->hkv); }

// Float64 attention and its gradients from the definitions; lse -inf and out 0 for a row that
// sees no key. q, k, v, dout are the inputs as stored.
static void attention_reference(const attn *c, double scale, const void *q, const void *k, const void *v, const void *dout,
                                double *out, double *lse, double *dq, double *dk, double *dv) {
    const int D = c->d, group = c->hq / c->hkv;
    const int64_t qn = (int64_t)c->sq * c->hq * D, kn = (int64_t)c->sk * c->hkv * D;
    double *qd = as_double(c->t, q, qn), *kd = as_double(c->t, k, kn), *vd = as_double(c->t, v, kn);
    double *dod = as_double(c->t, dout, qn), *p = malloc((size_t)(c->sk + 1) * sizeof *p);
    memset(dq, 0, qn * sizeof *dq), memset(dk, 0, kn * sizeof *dk), memset(dv, 0, kn * sizeof *dv);
    for (int i = 0; i < c->sq; i++)
        for (int h = 0; h < c->hq; h++) {
            const int64_t qi = ((int64_t)i * c->hq + h) * D;
            double *o = out + qi, mx = -INFINITY, sum = 0, delta = 0;
            memset(o, 0, D * sizeof *o);
            for (int j = 0; j < c->sk; j++) {
                p[j] = -INFINITY;
                if (c->causal && c->k_start + j > c->q_start + i) continue;
                double s = 0;
                for (int d = 0; d < D; d++) s += qd[qi + d] * kd[((int64_t)j * c->hkv + h / group) * D + d];
                p[j] = scale * s, mx = fmax(mx, p[j]);
            }
            lse[(int64_t)i * c->hq + h] = -INFINITY;
            if (mx == -INFINITY) continue;
            for (int j = 0; j < c->sk; j++) sum += exp(p[j] - mx);
            const double l = mx + log(sum);
            lse[(int64_t)i * c->hq + h] = l;
            for (int j = 0; j < c->sk; j++) {
                p[j] = exp(p[j] - l);
                for (int d = 0; d < D; d++) o[d] += p[j] * vd[((int64_t)j * c->hkv + h / group) * D + d];
            }
            for (int d = 0; d < D; d++) delta += dod[qi + d] * o[d];
            for (int j = 0; j < c->sk; j++) {
                if (p[j] == 0) continue;
                const int64_t kj = ((int64_t)j * c->hkv + h / group) * D;
                double dp = 0;
                for (int d = 0; d < D; d++) dp += dod[qi + d] * vd[kj + d];
                const double ds = p[j] * (dp - delta);
                for (int d = 0; d < D; d++) {
                    dq[qi + d] += scale * ds * kd[kj + d];
                    dk[kj + d] += scale * ds * qd[qi + d];
                    dv[kj + d] += p[j] * dod[qi + d];
                }
            }
        }
    free(qd), free(kd), free(vd), free(dod), free(p);
}

// A prefilled fp32 accumulator, and what was added to it compared with `want`.
static float *accumulator(int64_t n, float **before) {
    float *a = random_tensor(SI_F32, n, 0);
    *before = malloc((size_t)(n ? n : 1) * sizeof **before);
    memcpy(*before, a, (size_t)n * sizeof *a);
    return a;
}
static double added_error(const float *after, float *before, const double *want, int64_t n) {
    for (int64_t i = 0; i < n; i++) before[i] = after[i] - before[i];
    double e = rel_error(SI_F32, before, want, n);
    free(before);
    return e;
}

static void test_attention(const attn *c) {
    char name[64], what[160];
    const int D = c->d;
    const int64_t qn = (int64_t)c->sq * c->hq * D, kn = (int64_t)c->sk * c->hkv * D, rows = (int64_t)c->sq * c->hq;
    const float scale = 1.f / sqrtf((float)D);
    snprintf(what, sizeof what, "%s d%d sq %d sk %d hq %d hkv %d causal %d starts %lld %lld", type_name(c->t), D, c->sq, c->sk,
             c->hq, c->hkv, c->causal, c->q_start, c->k_start);
    void *q = random_tensor(c->t, qn, 0), *k = random_tensor(c->t, kn, 0), *v = random_tensor(c->t, kn, 0);
    void *dout = random_tensor(c->t, qn, 0);
    double *out_ref = malloc(qn * sizeof(double)), *lse_ref = malloc(rows * sizeof(double));
    double *dq_ref = malloc(qn * sizeof(double)), *dk_ref = malloc(kn * sizeof(double)), *dv_ref = malloc(kn * sizeof(double));
    attention_reference(c, scale, q, k, v, dout, out_ref, lse_ref, dq_ref, dk_ref, dv_ref);

    void *out = NULL;
    float *lse = NULL;
    for (int f32out = 1; f32out >= 0; f32out--) {  // ends with out in T, which the backward takes
        si_float_type ot = f32out ? SI_F32 : c->t;
        out = harness_alloc(qn * si_float_size(ot), 0), lse = harness_alloc(rows * 4, 0);
        snprintf(name, sizeof name, "flash_fwd_%s_d%d%s", type_name(c->t), D, f32out ? "_f32out" : "");
        expect(harness_launch(si_kernels_flash_fwd, name, dim(fwd_grid(c)), dim(fwd_threads(D)), fwd_shared(D), q, k, v, out,
                              lse, c->sq, c->sk, c->hq, c->hkv, (double)scale, c->causal, c->q_start, c->k_start),
               0, name);
        double e = rel_error(ot, out, out_ref, qn);
        harness_check(e <= tolerance(c->t), "%s %s: out error %.3g", name, what, e);
        int bad = 0;  // lse within 1e-4; rows that see no key: lse -inf and out exactly 0
        for (int64_t r = 0; r < rows; r++) {
            if (lse_ref[r] == -INFINITY) {
                bad += lse[r] != -INFINITY;
                for (int d = 0; d < D; d++) bad += si_load(ot, out, r * D + d) != 0.f;
            } else {
                bad += !(fabs(lse[r] - lse_ref[r]) <= 1e-4 * fmax(1, fabs(lse_ref[r])));
            }
        }
        harness_check(bad == 0, "%s %s: %d bad lse or empty-row values", name, what, bad);
    }

    float *delta = harness_alloc(rows * 4, 0), *dq0, *dk0, *dv0;
    double *delta_ref = malloc((rows ? rows : 1) * sizeof(double));
    for (int64_t r = 0; r < rows; r++) {
        delta_ref[r] = 0;
        for (int d = 0; d < D; d++) delta_ref[r] += si_load(c->t, out, r * D + d) * (double)si_load(c->t, dout, r * D + d);
    }
    snprintf(name, sizeof name, "flash_bwd_delta_%s", type_name(c->t));
    expect(harness_launch(si_kernels_flash_bwd, name, dim((uint32_t)((rows + 7) / 8)), dim(256), 0, out, dout, delta, c->sq,
                          c->hq, D),
           0, name);
    double e = rel_error(SI_F32, delta, delta_ref, rows);
    harness_check(e <= 1e-5, "%s %s: delta error %.3g", name, what, e);

    float *dq = accumulator(qn, &dq0), *dk = accumulator(kn, &dk0), *dv = accumulator(kn, &dv0);
    snprintf(name, sizeof name, "flash_bwd_%s_d%d", type_name(c->t), D);
    expect(harness_launch(si_kernels_flash_bwd, name, dim(bwd_grid(c)), dim(256), bwd_shared(D), q, k, v, dout, lse, delta, dq,
                          dk, dv, c->sq, c->sk, c->hq, c->hkv, (double)scale, c->causal, c->q_start, c->k_start),
           0, name);
    double eq = added_error(dq, dq0, dq_ref, qn), ek = added_error(dk, dk0, dk_ref, kn), ev = added_error(dv, dv0, dv_ref, kn);
    harness_check(eq <= tolerance(c->t) && ek <= tolerance(c->t) && ev <= tolerance(c->t),
                  "%s %s: added dq error %.3g, dk %.3g, dv %.3g", name, what, eq, ek, ev);
    free(out_ref), free(lse_ref), free(dq_ref), free(dk_ref), free(dv_ref), free(delta_ref);
    harness_free_all();
}

// Short and surplus grids, wrong geometry, bad pointers, on one small bf16 d64 problem
// (sq 130: two query blocks, sk 200: two key blocks, hq 2, hkv 1).
static void test_attention_faults(void) {
    const attn c = {SI_BF16, 64, 130, 200, 2, 1, 1, 0, 0};
    const int64_t qn = 130 * 2 * 64, kn = 200 * 64;
    void *q = random_tensor(SI_BF16, qn, 0), *k = random_tensor(SI_BF16, kn, 0), *v = random_tensor(SI_BF16, kn, 0);
    void *out = harness_alloc(qn * 2, 0), *lse = harness_alloc(130 * 2 * 4, 0);
    uint16_t *o = harness_alloc(qn * 2, 0);
    float *l = harness_alloc(130 * 2 * 4, 0);
#define FWD(grid, block, shared, Q, K, OUT, LSE)                                                                      \
    harness_launch(si_kernels_flash_fwd, "flash_fwd_bf16_d64", dim(grid), dim(block), shared, Q, K, v, OUT, LSE, 130, \
                   200, 2, 1, 0.125, 1, 0ll, 0ll)
    expect(FWD(fwd_grid(&c), 128, 32768, q, k, out, lse), 0, "fwd");
    // The last block of the 1-D order is head 1's first query block (the shortest, last).
    expect(FWD(fwd_grid(&c) - 1, 128, 32768, q, k, o, l), 0, "fwd short grid");
    harness_check(poisoned(o + 64, 2) && poisoned(o + 127 * 128 + 64 + 63, 2) && poisoned(l + 1, 4),
                  "fwd short grid: head 1 rows 0..127 should be unwritten");
    harness_check(!poisoned(o, 2) && !poisoned(o + 128 * 128 + 64, 2), "fwd short grid: the other blocks should be written");
    expect(FWD(fwd_grid(&c) + 1, 128, 32768, q, k, o, l), SI_ERROR_ILLEGAL_ADDRESS, "fwd surplus block");
    expect(FWD(fwd_grid(&c), 256, 32768, q, k, o, l), SI_ERROR_LAUNCH_FAILED, "fwd d64 with 256 threads");
    expect(harness_launch(si_kernels_flash_fwd, "flash_fwd_bf16_d64", (si_dim3){4, 2, 1}, dim(128), 32768, q, k, v, o, l, 130,
                          200, 2, 1, 0.125, 1, 0ll, 0ll),
           SI_ERROR_LAUNCH_FAILED, "fwd with a 2-D grid");
    expect(FWD(fwd_grid(&c), 128, 32767, q, k, o, l), SI_ERROR_ILLEGAL_ADDRESS, "fwd d64 with 32767 bytes of shared memory");
    void *q_odd = random_tensor(SI_BF16, qn, 8), *k_short = random_tensor(SI_BF16, kn - 1, 0);
    expect(FWD(fwd_grid(&c), 128, 32768, q_odd, k, o, l), SI_ERROR_MISALIGNED_ADDRESS, "fwd q 8-byte aligned");
    expect(FWD(fwd_grid(&c), 128, 32768, q, k_short, o, l), SI_ERROR_ILLEGAL_ADDRESS, "fwd k one element short");
    expect(harness_launch(si_kernels_flash_fwd, "flash_fwd_bf16_d64", dim(fwd_grid(&c)), dim(128), 32768, q, k, v, out, lse, 130,
                          200, 3, 2, 0.125, 1, 0ll, 0ll),
           SI_ERROR_LAUNCH_FAILED, "fwd hq 3, hkv 2");
#undef FWD

    // delta: a grid one block short leaves the last pairs unwritten; rows are 16-byte words.
    float *delta = harness_alloc(260 * 4, 0);
    expect(harness_launch(si_kernels_flash_bwd, "flash_bwd_delta_bf16", dim(32), dim(256), 0, out, out, delta, 130, 2, 64), 0,
           "delta short grid");
    harness_check(!poisoned(delta + 255, 4) && poisoned(delta + 256, 4), "delta short grid: pairs 256.. should be unwritten");
    expect(harness_launch(si_kernels_flash_bwd, "flash_bwd_delta_bf16", dim(33), dim(128), 0, out, out, delta, 130, 2, 64),
           SI_ERROR_LAUNCH_FAILED, "delta with 128 threads");
    expect(harness_launch(si_kernels_flash_bwd, "flash_bwd_delta_bf16", dim(33), dim(256), 0, out, out, delta, 130, 2, 60),
           SI_ERROR_MISALIGNED_ADDRESS, "delta d 60");

    // bwd: the last block of the order is the kv head's last key block, whose dk rows keep
    // their values; one block past the heads is a fault.
    float *dq = harness_alloc(qn * 4, 0), *dk = harness_alloc(kn * 4, 0), *dv = harness_alloc(kn * 4, 0);
    memset(dq, 0, qn * 4), memset(dk, 0, kn * 4), memset(dv, 0, kn * 4);
    memset(delta, 0, 260 * 4);
#define BWD(grid, shared) \
    harness_launch(si_kernels_flash_bwd, "flash_bwd_bf16_d64", dim(grid), dim(256), shared, q, k, v, q, lse, delta, dq, dk, dv, \
                   130, 200, 2, 1, 0.125, 1, 0ll, 0ll)
    expect(BWD(bwd_grid(&c) - 1, 99328), 0, "bwd short grid");
    int untouched = 0;
    for (int64_t i = 128 * 64; i < kn; i++) untouched += dk[i] == 0.f && dv[i] == 0.f;
    harness_check(untouched == kn - 128 * 64 && dk[0] != 0.f, "bwd short grid: only keys 128.. should keep dk, dv (%d)",
                  untouched);
    expect(BWD(bwd_grid(&c) + 1, 99328), SI_ERROR_ILLEGAL_ADDRESS, "bwd block past the kv heads");
    expect(BWD(bwd_grid(&c), 99327), SI_ERROR_ILLEGAL_ADDRESS, "bwd d64 with 99327 bytes of shared memory");
#undef BWD
    harness_free_all();
}

// ---- gemm --------------------------------------------------------------------------------

// Runs longbow_gemm_<t>_<ct>_<la><lb> on [m, k] x [k, n] (stored as the layouts say) and
// compares with float64; beta == 0 leaves C poisoned (NaN) before the call, as it is never read.
static void test_gemm(si_float_type t, si_float_type ct, int ta, int tb, int m, int n, int k, float alpha, float beta,
                      uint64_t misalign_a) {
    char name[64];
    snprintf(name, sizeof name, "longbow_gemm_%s_%s_%c%c", type_name(t), type_name(ct), ta ? 't' : 'n', tb ? 't' : 'n');
    void *a = random_tensor(t, (int64_t)m * k, misalign_a), *b = random_tensor(t, (int64_t)k * n, 0);
    void *c = beta == 0.f ? harness_alloc((uint64_t)m * n * si_float_size(ct), 0) : random_tensor(ct, (int64_t)m * n, 0);
    double *want = malloc((size_t)m * n * sizeof *want);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int x = 0; x < k; x++)
                s += (double)si_load(t, a, ta ? (int64_t)x * m + i : (int64_t)i * k + x) *
                     si_load(t, b, tb ? (int64_t)j * k + x : (int64_t)x * n + j);
            want[(int64_t)i * n + j] = alpha * s + (beta == 0.f ? 0 : beta * (double)si_load(ct, c, (int64_t)i * n + j));
        }
    uint32_t shared = (ta ? 4352 : 5120) + (tb ? 5120 : 4352);  // bf16 elements; fp32 tiles have the same bytes
    shared = 3 * shared * 2;
    expect(harness_launch(si_kernels_gemm, name, (si_dim3){(n + 127) / 128, (m + 127) / 128, 1}, dim(256), shared, a, b, c, m, n,
                          k, (double)alpha, (double)beta),
           0, name);
    double e = rel_error(ct, c, want, (int64_t)m * n);
    harness_check(e <= tolerance(ct), "%s m %d n %d k %d alpha %g beta %g: error %.3g", name, m, n, k, alpha, beta, e);
    free(want);
    harness_free_all();
}

static void test_gemm_faults(void) {
    const int m = 200, n = 150, k = 70;
    float *a = random_tensor(SI_F32, m * k, 0), *b = random_tensor(SI_F32, k * n, 0), *c = harness_alloc(m * n * 4, 0);
    float *a_odd = random_tensor(SI_F32, m * k, 2), *c_short = harness_alloc(m * n * 4 - 4, 0);
#define GEMM(gx, gy, shared, A, C) \
    harness_launch(si_kernels_gemm, "longbow_gemm_f32_f32_nt", (si_dim3){gx, gy, 1}, dim(256), shared, A, b, C, m, n, k, 1.0, 0.0)
    expect(GEMM(1, 1, 61440, a, c), 0, "gemm short grid");
    harness_check(!poisoned(c + 127 * n + 127, 4) && poisoned(c + 127 * n + 128, 4) && poisoned(c + 128 * n, 4),
                  "gemm short grid: only the tile (0, 0) should be written");
    expect(GEMM(3, 3, 61440, a, c), 0, "gemm surplus grid");
    harness_check(!poisoned(c + m * n - 1, 4), "gemm surplus grid: C should be written");
    expect(GEMM(2, 2, 61439, a, c), SI_ERROR_ILLEGAL_ADDRESS, "gemm nt with 61439 bytes of shared memory");
    expect(GEMM(2, 2, 61440, a_odd, c), SI_ERROR_MISALIGNED_ADDRESS, "gemm f32 a 2-byte aligned");
    expect(GEMM(2, 2, 61440, a, c_short), SI_ERROR_ILLEGAL_ADDRESS, "gemm c one element short");
    expect(harness_launch(si_kernels_gemm, "longbow_gemm_f32_f32_nt", dim(2), dim(128), 61440, a, b, c, m, n, k, 1.0, 0.0),
           SI_ERROR_LAUNCH_FAILED, "gemm with 128 threads");
    expect(harness_launch(si_kernels_gemm, "longbow_gemm_f32_f32_nt", (si_dim3){2, 2, 2}, dim(256), 61440, a, b, c, m, n, k, 1.0,
                          0.0),
           SI_ERROR_LAUNCH_FAILED, "gemm with a 3-D grid");
#undef GEMM
    harness_free_all();
}

int main(void) {
    const attn cases[] = {
        {SI_BF16, 64, 180, 300, 4, 2, 1, 100, 0},   // GQA 2:1, sq != sk, queries ahead of the keys
        {SI_F16, 128, 200, 150, 2, 1, 1, 0, 130},   // rows 0..129 see no key: query block 0 sees nothing
        {SI_BF16, 128, 100, 257, 4, 4, 0, 0, 0},    // not causal, ragged key blocks
        {SI_F16, 64, 256, 256, 3, 3, 1, 512, 512},  // the diagonal, both offset
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_attention(&cases[i]);
    test_attention_faults();

    const si_float_type types[][2] = {{SI_F32, SI_F32}, {SI_BF16, SI_F32}, {SI_BF16, SI_BF16}};
    for (int i = 0; i < 3; i++)
        for (int layout = 0; layout < 4; layout++)  // beta alternates between 0 (C poisoned) and -0.5
            test_gemm(types[i][0], types[i][1], layout >> 1, layout & 1, 200, 150, 70, 1.5f, layout & 1 ? -0.5f : 0.f, 0);
    test_gemm(SI_BF16, SI_F32, 0, 0, 33, 300, 200, -1.f, 2.f, 2);  // a off cp.async alignment: the scalar path
    test_gemm(SI_F32, SI_F32, 1, 1, 1, 1, 0, 1.f, 0.5f, 0);        // k = 0: C = beta C
    test_gemm_faults();
    return harness_exit();
}
