// test_model_kernels.c: the CPU kernels of elementwise, layout, merge, rmsnorm, rope, swiglu,
// embedding, cross_entropy and adamw against float64 references computed from the operations'
// definitions, with the grid semantics and the faults (a tensor one element short, a misaligned
// pointer, a block the .cu cannot use) of each family.
#include <math.h>
#include <stdio.h>

#include "harness.h"
#include "standin.h"

#define G1(x) ((si_dim3){(x), 1, 1})
#define L(x) ((long long)(x))

static const char *type_name[] = {"f32", "bf16", "f16"};
static const double tolerance[] = {1e-5, 5e-3, 1e-3};

static double uniform(double lo, double hi) {
    static uint64_t state = 42;
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(state >> 11) * 0x1p-53;
}

// n elements of type t, uniform in [lo, hi) as stored (rounded to t).
static void *random_tensor(si_float_type t, int64_t n, double lo, double hi) {
    void *p = harness_alloc((uint64_t)n * si_float_size(t), 0);
    for (int64_t i = 0; i < n; i++) si_store(t, p, i, (float)uniform(lo, hi));
    return p;
}

static double at(si_float_type t, const void *p, int64_t i) { return si_load(t, p, i); }

static void check_close(const char *what, si_float_type t, const void *p, const double *ref, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(at(t, p, i) - ref[i]) / (fabs(ref[i]) > 1 ? fabs(ref[i]) : 1);
        if (!(e <= worst)) worst = e;
    }
    harness_check(worst <= tolerance[t], "%s %s: max relative error %g", what, type_name[t], worst);
}

static int poisoned(const void *p, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; i++)
        if (((const uint8_t *)p)[i] != SI_POISON) return 0;
    return 1;
}

static void expect(int got, int want, const char *what) { harness_check(got == want, "%s: CUresult %d, want %d", what, got, want); }

static void launch_ok(int got, const char *what) { expect(got, 0, what); }

// v rounded to nearest even at t's precision (normal and f16 subnormal range).
static double round_to(si_float_type t, double v) {
    if (t == SI_F32) return (float)v;
    int e;
    frexp(v, &e);
    int bits = t == SI_BF16 ? 8 : 11;
    if (t == SI_F16 && e < -13) e = -13;
    return ldexp(nearbyint(ldexp(v, bits - e)), e - bits);
}

static int same(double a, double b) { return (a == b && signbit(a) == signbit(b)) || (isnan(a) && isnan(b)); }

// ---- elementwise -------------------------------------------------------------------------

static void test_elementwise(void) {
    enum { n = 1003 };  // packs and a scalar tail; 2 blocks of 64 threads stride over it
    static double ref[n];
    char name[64];
    for (int s = 0; s < 3; s++) {
        for (int d = 0; d < 3; d++) {
            void *x = random_tensor(s, n, -3, 3), *y = random_tensor(d, n, -3, 3), *c = harness_alloc((n + 1) * si_float_size(d), 0);
            const double special[] = {1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-11, 1 + 3 * 0x1p-11, NAN, -0.0, 1e-6};  // ties, NaN, -0, f16 subnormal
            for (int i = 0; i < 7; i++) si_store(s, x, i, (float)special[i]);
            snprintf(name, sizeof name, "longbow_convert_%s_%s", type_name[s], type_name[d]);
            launch_ok(harness_launch(si_kernels_elementwise, name, G1(2), G1(64), 0, x, c, L(n)), name);
            int exact = 1;
            for (int i = 0; i < n; i++) exact &= same(at(d, c, i), round_to(d, at(s, x, i)));
            harness_check(exact && poisoned((char *)c + n * si_float_size(d), si_float_size(d)), "%s: not exact, or wrote past n", name);

            for (int i = 0; i < n; i++) ref[i] = at(d, y, i) + 0.75 * at(s, x, i);
            snprintf(name, sizeof name, "longbow_axpy_%s_%s", type_name[s], type_name[d]);
            launch_ok(harness_launch(si_kernels_elementwise, name, G1(2), G1(64), 0, 0.75, x, y, L(n)), name);
            check_close(name, d, (char *)y + 7 * si_float_size(d), ref + 7, n - 7);  // past the specials
        }
    }
    // fill (the same bits everywhere, nothing past n) and scale, f32 and bf16
    for (int t = 0; t < 2; t++) {
        void *p = harness_alloc((n + 1) * si_float_size(t), 0);
        snprintf(name, sizeof name, "longbow_fill_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_elementwise, name, G1(1), G1(32), 0, p, L(n), 1 + 0x1p-8), name);
        int exact = 1;
        for (int i = 0; i < n; i++) exact &= at(t, p, i) == round_to(t, 1 + 0x1p-8);
        harness_check(exact && poisoned((char *)p + n * si_float_size(t), si_float_size(t)), "%s", name);
        void *q = random_tensor(t, n, -2, 2);
        for (int i = 0; i < n; i++) ref[i] = -1.5 * at(t, q, i);
        snprintf(name, sizeof name, "longbow_scale_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_elementwise, name, G1(3), G1(32), 0, q, L(n), -1.5), name);
        check_close(name, t, q, ref, n);
    }
    // fill_i32 truncates and saturates like cvt.rzi.s32.f32 (and Java's (int)); NaN gives 0
    const double values[] = {3.7, -3.7, NAN, 1e10, -1e10};
    const int32_t want[] = {3, -3, 0, INT32_MAX, INT32_MIN};
    for (int k = 0; k < 5; k++) {
        int32_t *p = harness_alloc(5 * 4, 0);
        launch_ok(harness_launch(si_kernels_elementwise, "longbow_fill_i32", G1(1), G1(32), 0, p, L(5), values[k]), "fill_i32");
        harness_check(p[0] == want[k] && p[4] == want[k], "fill_i32(%g) = %d, want %d", values[k], p[0], want[k]);
    }
    // sum of squares: one partial per block of the grid (a fourth slot stays poisoned), then pass 2
    for (int t = 0; t < 2; t++) {
        for (int misalign = 0; misalign <= 4; misalign += 4) {  // 4: no 16-byte packs, still legal
            void *x = harness_alloc(n * si_float_size(t), misalign);
            double sum = 0, *partials = harness_alloc(4 * 8, 0), *result = harness_alloc(8, 0);
            for (int i = 0; i < n; i++) {
                si_store(t, x, i, (float)uniform(-2, 2));
                sum += at(t, x, i) * at(t, x, i);
            }
            snprintf(name, sizeof name, "longbow_sum_of_squares_partial_%s", type_name[t]);
            launch_ok(harness_launch(si_kernels_elementwise, name, G1(3), G1(64), 0, x, L(n), partials), name);
            launch_ok(harness_launch(si_kernels_elementwise, "longbow_sum_partials_f64", G1(1), G1(256), 0, partials, 3, result), "sum_partials");
            harness_check(fabs(*result - sum) <= 1e-12 * sum && poisoned(partials + 3, 8), "%s: %.17g, want %.17g", name, *result, sum);
            expect(harness_launch(si_kernels_elementwise, name, G1(5), G1(64), 0, x, L(n), partials), SI_ERROR_ILLEGAL_ADDRESS, "partials too few for the grid");
            expect(harness_launch(si_kernels_elementwise, name, G1(3), G1(48), 0, x, L(n), partials), SI_ERROR_LAUNCH_FAILED, "block of 48");
        }
    }
    float *odd = harness_alloc(n * 4, 2), *short_y = harness_alloc((n - 1) * 4, 0), *x = random_tensor(SI_F32, n, -1, 1);
    expect(harness_launch(si_kernels_elementwise, "longbow_scale_f32", G1(2), G1(64), 0, odd, L(n), 2.0), SI_ERROR_MISALIGNED_ADDRESS, "misaligned f32");
    expect(harness_launch(si_kernels_elementwise, "longbow_axpy_f32_f32", G1(2), G1(64), 0, 1.0, x, short_y, L(n)), SI_ERROR_ILLEGAL_ADDRESS, "short y");
    expect(harness_launch(si_kernels_elementwise, "longbow_fill_f32", G1(2), (si_dim3){32, 2, 1}, 0, x, L(n), 0.0), SI_ERROR_LAUNCH_FAILED, "2-D block");
}

// ---- layout ------------------------------------------------------------------------------

static void test_layout(void) {
    // swap [3, 5, 7 words] -> [5, 3, 7 words], w4, a grid of one block of 4 rows
    enum { A = 3, B = 5, W = 7 };
    uint32_t *src = harness_alloc(A * B * W * 4, 0), *dst = harness_alloc(A * B * W * 4, 0);
    for (int i = 0; i < A * B * W; i++) src[i] = 0x01000000u + (uint32_t)i;
    launch_ok(harness_launch(si_kernels_layout, "longbow_swap_leading_dims_w4", G1(1), (si_dim3){8, 4, 1}, 0, src, dst, L(A), L(B), L(W)), "swap");
    int ok = 1;
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int w = 0; w < W; w++) ok &= dst[(b * A + a) * W + w] == src[(a * B + b) * W + w];
    harness_check(ok, "swap_leading_dims_w4");
    // repeat [2, 3, 3 words of 8 bytes] -> [2, 6, ...]: destination head h' copies head h' / 2
    uint64_t *heads = harness_alloc(6 * 3 * 8, 0), *repeated = harness_alloc(12 * 3 * 8, 0);
    for (int i = 0; i < 18; i++) heads[i] = 0x0123456789000000ull + (uint64_t)i;
    launch_ok(harness_launch(si_kernels_layout, "longbow_repeat_heads_w8", G1(2), (si_dim3){4, 2, 1}, 0, heads, repeated, L(12), L(2), L(3)), "repeat");
    ok = 1;
    for (int s = 0; s < 2; s++)
        for (int h = 0; h < 6; h++)
            for (int w = 0; w < 3; w++) ok &= repeated[(s * 6 + h) * 3 + w] == heads[(s * 3 + h / 2) * 3 + w];
    harness_check(ok, "repeat_heads_w8");
    expect(harness_launch(si_kernels_layout, "longbow_repeat_heads_w8", G1(2), (si_dim3){4, 2, 1}, 0, heads, harness_alloc(12 * 3 * 8, 4), L(12), L(2), L(3)),
           SI_ERROR_MISALIGNED_ADDRESS, "repeat_heads_w8 misaligned");
    expect(harness_launch(si_kernels_layout, "longbow_repeat_heads_w8", G1(2), (si_dim3){4, 2, 1}, 0, harness_alloc(6 * 3 * 8 - 8, 0), repeated, L(12), L(2), L(3)),
           SI_ERROR_ILLEGAL_ADDRESS, "repeat_heads_w8 short source");
    // pad [5 rows, 2 words of 16 bytes] -> [5, 8] (a bf16 head dim 16 -> 64): words 2..7 zero;
    // a grid of one block of 2 rows strides over all 5
    enum { PR = 5, PS = 2, PD = 8 };
    uint32_t *narrow = harness_alloc(PR * PS * 16, 0), *wide = harness_alloc(PR * PD * 16, 0);
    for (int i = 0; i < PR * PS * 4; i++) narrow[i] = 0x02000000u + (uint32_t)i;
    launch_ok(harness_launch(si_kernels_layout, "longbow_copy_rows_w16", G1(1), (si_dim3){32, 2, 1}, 0, narrow, wide, L(PR), L(PS), L(PD)), "pad");
    ok = 1;
    for (int r = 0; r < PR; r++)
        for (int u = 0; u < PD * 4; u++) ok &= wide[r * PD * 4 + u] == (u < PS * 4 ? narrow[r * PS * 4 + u] : 0u);
    harness_check(ok, "copy_rows_w16 pads with zeros");
    // crop it back, w4: the first 8 of 32 words of each row, the last row's tail never read
    uint32_t *cropped = harness_alloc(PR * PS * 16, 0);
    launch_ok(harness_launch(si_kernels_layout, "longbow_copy_rows_w4", G1(3), (si_dim3){32, 2, 1}, 0, wide, cropped, L(PR), L(PD * 4), L(PS * 4)), "crop");
    harness_check(memcmp(cropped, narrow, PR * PS * 16) == 0, "copy_rows_w4 crops");
    expect(harness_launch(si_kernels_layout, "longbow_copy_rows_w4", G1(3), (si_dim3){32, 2, 1}, 0, harness_alloc((PR - 1) * PD * 16 + PS * 16, 0),
                          cropped, L(PR), L(PD * 4), L(PS * 4)), 0, "copy_rows_w4 crop reads only the kept words of the last row");
    expect(harness_launch(si_kernels_layout, "longbow_copy_rows_w16", G1(1), (si_dim3){32, 2, 1}, 0, narrow, harness_alloc(PR * PD * 16, 8), L(PR), L(PS), L(PD)),
           SI_ERROR_MISALIGNED_ADDRESS, "copy_rows_w16 misaligned");
    expect(harness_launch(si_kernels_layout, "longbow_copy_rows_w16", G1(1), (si_dim3){32, 2, 1}, 0, harness_alloc(PR * PS * 16 - 16, 0), wide, L(PR), L(PS), L(PD)),
           SI_ERROR_ILLEGAL_ADDRESS, "copy_rows_w16 short source");
    expect(harness_launch(si_kernels_layout, "longbow_copy_rows_w16", G1(1), (si_dim3){32, 2, 1}, 0, narrow, harness_alloc(PR * PD * 16 - 16, 0), L(PR), L(PS), L(PD)),
           SI_ERROR_ILLEGAL_ADDRESS, "copy_rows_w16 short destination");
    // sum [4, 3, 12] -> [4, 12]
    for (int t = 0; t < 2; t++) {
        void *x = random_tensor(t, 4 * 3 * 12, -2, 2), *y = harness_alloc(4 * 12 * si_float_size(t), 0);
        double ref[4 * 12] = {0};
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < 12; j++) ref[r * 12 + j] += at(t, x, (r * 3 + k) * 12 + j);
        char name[64];
        snprintf(name, sizeof name, "longbow_sum_repeated_heads_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_layout, name, G1(1), (si_dim3){32, 2, 1}, 0, x, y, L(4), L(3), L(12)), name);
        check_close(name, t, y, ref, 4 * 12);
    }
}

// ---- merge -------------------------------------------------------------------------------

static void test_merge(void) {
    enum { R = 6, D = 40 };
    for (int t = 0; t < 2; t++) {
        float *out = random_tensor(SI_F32, R * D, -1, 1), *lse = harness_alloc(R * 4, 0), *part_lse = harness_alloc(R * 4, 0);
        void *part = random_tensor(t, R * D, -1, 1);
        const float a[R] = {0.3f, -INFINITY, 2.f, -INFINITY, -1.f, 5.f}, b[R] = {-0.2f, 1.f, -INFINITY, -INFINITY, 1.5f, 4.f};
        memcpy(lse, a, sizeof a);
        memcpy(part_lse, b, sizeof b);
        memset(out + 1 * D, SI_POISON, D * 4);                           // row 1: out has no weight
        memset((char *)part + 2 * D * si_float_size(t), SI_POISON, D * si_float_size(t));  // row 2: part has none
        double ref[R * D], ref_lse[R];
        for (int r = 0; r < R; r++) {
            double ea = exp((double)a[r]), eb = exp((double)b[r]);
            ref_lse[r] = log(ea + eb);
            for (int i = 0; i < D; i++) {
                double o = ea > 0 ? ea * out[r * D + i] : 0, p = eb > 0 ? eb * at(t, part, r * D + i) : 0;
                ref[r * D + i] = ea + eb > 0 ? (o + p) / (ea + eb) : 0;
            }
        }
        char name[64];
        snprintf(name, sizeof name, "longbow_attention_merge_%s", type_name[t]);
        expect(harness_launch(si_kernels_merge, name, G1(1), G1(48), 0, out, lse, part, part_lse, L(R), D), SI_ERROR_LAUNCH_FAILED, "merge block of 48");
        launch_ok(harness_launch(si_kernels_merge, name, G1(1), G1(64), 0, out, lse, part, part_lse, L(R), D), name);  // 2 warps, 6 rows
        check_close(name, SI_F32, out, ref, R * D);
        harness_check(lse[3] == -INFINITY, "%s: two masked rows give lse %g", name, lse[3]);
        lse[3] = 0, ref_lse[3] = 0;
        check_close("merge lse", SI_F32, lse, ref_lse, R);
        expect(harness_launch(si_kernels_merge, name, G1(1), G1(64), 0, out, lse, part, harness_alloc((R - 1) * 4, 0), L(R), D), SI_ERROR_ILLEGAL_ADDRESS,
               "merge short part_lse");
    }
}

// ---- rmsnorm -----------------------------------------------------------------------------

static void test_rmsnorm(void) {
    enum { R = 5, D = 48 };
    const double eps = 0.25;  // large enough to matter at fp32 tolerance
    float *w = random_tensor(SI_F32, D, 0.5, 1.5);
    for (int t = 0; t < 2; t++) {
        uint64_t size = si_float_size(t);
        void *x = random_tensor(t, R * D, -2, 2), *y = harness_alloc(R * D * size, 0), *dy = random_tensor(t, R * D, -1, 1);
        void *dx = harness_alloc(R * D * size, 0);
        float *rstd = harness_alloc(R * 4, 0), *partial = harness_alloc(3 * D * 4, 0), *dw = harness_alloc(D * 4, 0);
        float *partial7 = harness_alloc(7 * D * 4, 0);
        double ref_y[R * D], ref_r[R], ref_dx[R * D], ref_dw[D] = {0};
        for (int r = 0; r < R; r++) {
            double ss = 0, dot = 0;
            for (int j = 0; j < D; j++) ss += at(t, x, r * D + j) * at(t, x, r * D + j), dot += at(t, dy, r * D + j) * w[j] * at(t, x, r * D + j);
            double rs = ref_r[r] = 1 / sqrt(ss / D + eps), c = rs * rs * dot / D;
            for (int j = 0; j < D; j++) {
                double xv = at(t, x, r * D + j), g = at(t, dy, r * D + j);
                ref_y[r * D + j] = xv * rs * w[j];
                ref_dx[r * D + j] = rs * (w[j] * g - c * xv);
                ref_dw[j] += g * xv * rs;
            }
        }
        char name[64];
        snprintf(name, sizeof name, "longbow_rmsnorm_forward_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_rmsnorm, name, G1(2), G1(32), 0, x, w, y, rstd, L(R), L(D), eps), name);  // 2 blocks stride over 5 rows
        check_close(name, t, y, ref_y, R * D);
        check_close("rmsnorm rstd", SI_F32, rstd, ref_r, R);
        expect(harness_launch(si_kernels_rmsnorm, name, G1(2), G1(100), 0, x, w, y, rstd, L(R), L(D), eps), SI_ERROR_LAUNCH_FAILED, "rmsnorm block of 100");
        snprintf(name, sizeof name, "longbow_rmsnorm_backward_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_rmsnorm, name, G1(2), G1(64), 0, x, w, rstd, dy, dx, partial, L(R), L(D)), name);
        check_close(name, t, dx, ref_dx, R * D);
        harness_check(poisoned(partial + 2 * D, D * 4), "%s: a partial row past the grid's 2 blocks was written", name);
        memset(dw, 0, D * 4);
        launch_ok(harness_launch(si_kernels_rmsnorm, "longbow_column_sum_f32", G1(1), G1(32), 0, partial, L(2), L(D), dw), "column_sum");
        check_close("rmsnorm dw", SI_F32, dw, ref_dw, D);
        launch_ok(harness_launch(si_kernels_rmsnorm, "longbow_column_sum_f32", G1(1), G1(32), 0, partial, L(3), L(D), dw), "column_sum");
        harness_check(isnan(dw[0]) && isnan(dw[D - 1]), "column_sum over 3 blocks of a 2-block backward must read the unwritten partial");
        // 7 blocks for 5 rows: the two without a row still zero their partials
        launch_ok(harness_launch(si_kernels_rmsnorm, name, G1(7), G1(32), 0, x, w, rstd, dy, dx, partial7, L(R), L(D)), name);
        memset(dw, 0, D * 4);
        launch_ok(harness_launch(si_kernels_rmsnorm, "longbow_column_sum_f32", G1(2), G1(32), 0, partial7, L(7), L(D), dw), "column_sum");
        check_close("rmsnorm dw, 7 blocks", SI_F32, dw, ref_dw, D);
        expect(harness_launch(si_kernels_rmsnorm, name, G1(4), G1(64), 0, x, w, rstd, dy, dx, partial, L(R), L(D)), SI_ERROR_ILLEGAL_ADDRESS,
               "rmsnorm backward: partials for 3 blocks, grid of 4");
    }
}

// ---- rope --------------------------------------------------------------------------------

static void test_rope(void) {
    enum { S = 3, H = 2 };
    int32_t *positions = harness_alloc(S * 4, 0);
    const int32_t pos[S] = {0, 7, 100000};
    memcpy(positions, pos, sizeof pos);
    for (int t = 0; t < 2; t++) {
        for (int d = 8; d <= 9; d++) {  // 9: odd, each row's last element is untouched
            int half = d / 2;
            int64_t n = S * H * d - d % 2;
            void *x = random_tensor(t, n, -1, 1);
            double ref[S * H * 9], orig[S * H * 9];
            for (int i = 0; i < n; i++) ref[i] = orig[i] = at(t, x, i);
            for (int s = 0; s < S; s++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < half; i++) {
                        double angle = pos[s] * pow(10000.0, -2.0 * i / d), a = orig[(s * H + h) * d + i], b = orig[(s * H + h) * d + i + half];
                        ref[(s * H + h) * d + i] = a * cos(angle) - b * sin(angle);
                        ref[(s * H + h) * d + i + half] = b * cos(angle) + a * sin(angle);
                    }
            char name[64];
            snprintf(name, sizeof name, "longbow_rope_%s", type_name[t]);
            launch_ok(harness_launch(si_kernels_rope, name, G1(1), G1(32), 0, x, positions, L(S), H, d, 10000.0, 0), name);
            check_close(name, t, x, ref, n);
            if (t == SI_F32) {
                launch_ok(harness_launch(si_kernels_rope, name, G1(1), G1(32), 0, x, positions, L(S), H, d, 10000.0, 1), name);
                check_close("rope inverse", t, x, orig, n);
            }
            expect(harness_launch(si_kernels_rope, name, G1(1), G1(32), 0, harness_alloc((n - 1) * si_float_size(t), 0), positions, L(S), H, d, 10000.0, 0),
                   SI_ERROR_ILLEGAL_ADDRESS, "rope short x");
        }
    }
}

// ---- swiglu ------------------------------------------------------------------------------

static void test_swiglu(void) {
    enum { n = 1003 };
    static double out[n], dg[n], du[n];
    for (int t = 0; t < 2; t++) {
        uint64_t size = si_float_size(t);
        void *g = random_tensor(t, n, -6, 6), *u = random_tensor(t, n, -2, 2), *d = random_tensor(t, n, -1, 1);
        void *o = harness_alloc(n * size, 0), *dgate = harness_alloc(n * size, 0), *dup = harness_alloc(n * size, 0);
        for (int i = 0; i < n; i++) {
            double gv = at(t, g, i), s = 1 / (1 + exp(-gv));
            out[i] = gv * s * at(t, u, i);
            dg[i] = at(t, d, i) * at(t, u, i) * (s + gv * s * (1 - s));  // d/dg of g s(g), times u
            du[i] = at(t, d, i) * gv * s;
        }
        char name[64];
        snprintf(name, sizeof name, "longbow_swiglu_forward_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_swiglu, name, G1(2), G1(64), 0, g, u, o, L(n)), name);
        check_close(name, t, o, out, n);
        expect(harness_launch(si_kernels_swiglu, name, G1(2), G1(64), 0, g, u, harness_alloc(n * size, 1), L(n)), SI_ERROR_MISALIGNED_ADDRESS, "swiglu misaligned out");
        snprintf(name, sizeof name, "longbow_swiglu_backward_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_swiglu, name, G1(3), G1(32), 0, g, u, d, dgate, dup, L(n)), name);
        check_close(name, t, dgate, dg, n);
        check_close(name, t, dup, du, n);
        expect(harness_launch(si_kernels_swiglu, name, G1(3), G1(32), 0, g, u, harness_alloc((n - 1) * size, 0), dgate, dup, L(n)), SI_ERROR_ILLEGAL_ADDRESS,
               "swiglu short dout");
    }
}

// ---- embedding ---------------------------------------------------------------------------

static void test_embedding(void) {
    enum { V = 7, D = 20, S = 6 };
    int32_t *tokens = harness_alloc(S * 4, 0);
    const int32_t tok[S] = {3, 0, 6, -1, V, 3};  // -1 and V are invalid; 3 repeats
    memcpy(tokens, tok, sizeof tok);
    const int pairs[][2] = {{SI_F32, SI_F32}, {SI_BF16, SI_F32}, {SI_F32, SI_BF16}, {SI_BF16, SI_BF16}};
    for (int k = 0; k < 4; k++) {
        si_float_type t = pairs[k][0], o = pairs[k][1];
        void *table = random_tensor(t, V * D, -1, 1), *out = harness_alloc(S * D * si_float_size(o), 0);
        char name[64];
        snprintf(name, sizeof name, "longbow_embedding_forward_%s_%s", type_name[t], type_name[o]);
        launch_ok(harness_launch(si_kernels_embedding, name, G1(1), (si_dim3){16, 2, 1}, 0, table, tokens, out, L(S), L(V), L(D)), name);  // 2 tokens a block
        int ok = 1;
        for (int s = 0; s < S; s++)
            for (int j = 0; j < D; j++) {
                double want = tok[s] >= 0 && tok[s] < V ? round_to(o, at(t, table, tok[s] * D + j)) : NAN;
                ok &= same(at(o, out, s * D + j), want);
            }
        harness_check(ok, "%s", name);
        expect(harness_launch(si_kernels_embedding, name, G1(1), (si_dim3){16, 2, 1}, 0, harness_alloc((V * D - 1) * si_float_size(t), 0), tokens, out, L(S), L(V), L(D)),
               SI_ERROR_ILLEGAL_ADDRESS, "embedding table one element short");
    }
    for (int t = 0; t < 2; t++) {
        void *dout = random_tensor(t, S * D, -1, 1);
        float *dtable = harness_alloc((V + 1) * D * 4, 0);  // a row past the table, to stay 0
        memset(dtable, 0, (V + 1) * D * 4);
        double ref[V * D] = {0};
        for (int s = 0; s < S; s++)
            for (int j = 0; j < D && tok[s] >= 0 && tok[s] < V; j++) ref[tok[s] * D + j] += at(t, dout, s * D + j);
        char name[64];
        snprintf(name, sizeof name, "longbow_embedding_backward_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_embedding, name, G1(2), (si_dim3){8, 2, 1}, 0, tokens, dout, dtable, L(S), L(V), L(D)), name);
        check_close(name, SI_F32, dtable, ref, V * D);
        harness_check(dtable[V * D] == 0 && dtable[V * D + D - 1] == 0, "%s: token %d (= vocab) was added", name, V);
        expect(harness_launch(si_kernels_embedding, name, G1(2), (si_dim3){8, 2, 2}, 0, tokens, dout, dtable, L(S), L(V), L(D)), SI_ERROR_LAUNCH_FAILED,
               "embedding 3-D block");
    }
}

// ---- cross_entropy -----------------------------------------------------------------------

static void test_cross_entropy(void) {
    enum { R = 5 };
    const double scale = 0.5;
    for (int t = 0; t < 2; t++) {
        int64_t V = t == SI_F32 ? 37 : 64;  // scalar rows, and 16-byte packs
        int32_t *targets = harness_alloc(R * 4, 0);
        const int32_t tgt[R] = {5, -1, (int32_t)V, 0, (int32_t)V - 1};  // -1 masks the row; V is invalid
        memcpy(targets, tgt, sizeof tgt);
        void *logits = random_tensor(t, R * V, -4, 4);
        float *losses = harness_alloc(R * 4, 0);
        double ref_loss[R], ref_grad[R * 64];
        for (int r = 0; r < R; r++) {
            double m = -INFINITY, sum = 0;
            for (int j = 0; j < V; j++) m = fmax(m, at(t, logits, r * V + j));
            for (int j = 0; j < V; j++) sum += exp(at(t, logits, r * V + j) - m);
            int valid = tgt[r] >= 0 && tgt[r] < V;
            ref_loss[r] = tgt[r] == -1 ? 0 : valid ? m + log(sum) - at(t, logits, r * V + tgt[r]) : NAN;
            for (int j = 0; j < V; j++)
                ref_grad[r * V + j] = tgt[r] == -1 ? 0 : valid ? scale * (exp(at(t, logits, r * V + j) - m) / sum - (j == tgt[r])) : NAN;
        }
        char name[64];
        snprintf(name, sizeof name, "longbow_cross_entropy_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_cross_entropy, name, G1(2), G1(32), 0, logits, targets, losses, L(R), L(V), scale), name);
        int nan_ok = isnan(losses[2]) && isnan(at(t, logits, 2 * V)) && isnan(at(t, logits, 3 * V - 1));
        harness_check(nan_ok, "%s: an invalid target gives a NaN loss and gradient", name);
        losses[2] = 0, ref_loss[2] = 0;
        for (int j = 0; j < V; j++) si_store(t, logits, 2 * V + j, 0.f), ref_grad[2 * V + j] = 0;
        check_close(name, SI_F32, losses, ref_loss, R);
        check_close(name, t, logits, ref_grad, R * V);
        expect(harness_launch(si_kernels_cross_entropy, name, G1(2), G1(16), 0, logits, targets, losses, L(R), L(V), scale), SI_ERROR_LAUNCH_FAILED,
               "cross_entropy block of 16");
        expect(harness_launch(si_kernels_cross_entropy, name, G1(2), G1(32), 0, logits, harness_alloc((R - 1) * 4, 0), losses, L(R), L(V), scale),
               SI_ERROR_ILLEGAL_ADDRESS, "cross_entropy short targets");
        // A NaN logit makes the row's loss NaN whether it is the first value its thread meets
        // (thread k owns element k, or pack k of 16 bytes when vectorised; the online max skips
        // it, so the kernel flags it) or a later one.
        for (int later = 0; later < 2; later++) {
            void *row = random_tensor(t, V, -4, 4);
            si_store(t, row, t == SI_F32 ? (later ? 33 : 1) : (later ? 9 : 8), NAN);
            launch_ok(harness_launch(si_kernels_cross_entropy, name, G1(1), G1(32), 0, row, targets, losses, L(1), L(V), scale), name);
            harness_check(isnan(losses[0]), "%s: NaN logit met %s gives loss %g", name, later ? "later" : "first", losses[0]);
        }
    }
}

// ---- adamw -------------------------------------------------------------------------------

static void test_adamw(void) {
    enum { n = 1003 };
    static double ref_p[n], ref_m[n], ref_v[n];
    const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01, bc1 = 1 - pow(b1, 3), bc2 = 1 - pow(b2, 3);
    for (int t = 0; t < 2; t++) {
        float *p = random_tensor(SI_F32, n, -1, 1), *m = random_tensor(SI_F32, n, -0.1, 0.1), *v = random_tensor(SI_F32, n, 0, 0.01);
        void *g = random_tensor(t, n, -0.5, 0.5);
        for (int i = 0; i < n; i++) {
            double gv = at(t, g, i);
            ref_m[i] = b1 * m[i] + (1 - b1) * gv;
            ref_v[i] = b2 * v[i] + (1 - b2) * gv * gv;
            ref_p[i] = p[i] - lr * wd * p[i] - lr * (ref_m[i] / bc1) / (sqrt(ref_v[i] / bc2) + eps);
        }
        char name[64];
        snprintf(name, sizeof name, "longbow_adamw_%s", type_name[t]);
        launch_ok(harness_launch(si_kernels_adamw, name, G1(2), G1(64), 0, p, g, m, v, L(n), lr, b1, b2, eps, wd, bc1, bc2), name);
        check_close(name, SI_F32, p, ref_p, n);
        check_close("adamw m", SI_F32, m, ref_m, n);
        check_close("adamw v", SI_F32, v, ref_v, n);
        expect(harness_launch(si_kernels_adamw, name, G1(2), G1(64), 0, p, g, harness_alloc((n - 1) * 4, 0), v, L(n), lr, b1, b2, eps, wd, bc1, bc2),
               SI_ERROR_ILLEGAL_ADDRESS, "adamw short m");
        expect(harness_launch(si_kernels_adamw, name, G1(2), G1(64), 0, p, harness_alloc(n * si_float_size(t), 1), m, v, L(n), lr, b1, b2, eps, wd, bc1, bc2),
               SI_ERROR_MISALIGNED_ADDRESS, "adamw misaligned grad");
    }
}

int main(void) {
    void (*const tests[])(void) = {test_elementwise, test_layout, test_merge, test_rmsnorm, test_rope,
                                   test_swiglu, test_embedding, test_cross_entropy, test_adamw};
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        tests[i]();
        harness_free_all();
    }
    return harness_exit();
}
