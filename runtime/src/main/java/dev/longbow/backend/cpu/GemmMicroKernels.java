package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked micro-kernels of {@link CpuModelOpsGemm}: {@code C tile (+)= alpha * (A
 * panel x B panel)} for one micro-tile, its accumulators held in named vector variables (the
 * Vector API keeps them in registers only as locals, so each tile height is written out). 6 x 2
 * vectors fills AVX2's 16 registers, 12 x 2 AVX-512's 32; the A panel is k-major (a transposed
 * A's runs as copied, read in place) or row-major (copied from a plain A).
 */
final class GemmMicroKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private static final int NR = CpuModelOpsGemm.NR;

    private GemmMicroKernels() {
    }

    /**
     * C tile (+)= alpha * (A panel x B panel), 6 rows x 2 vectors, the A panel k-major: 6
     * contiguous values a k, {@code aStep} apart.
     */
    static void kernel6x2(float[] a, int aOff, int aStep, float[] b, int bOff, int kc, GemmTile t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + LANES);
            int ak = aOff + k * aStep;
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ak + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ak + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ak + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ak + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ak + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(t.spill(), t.spillAt());
        c01.intoArray(t.spill(), t.spillAt() + LANES);
        c10.intoArray(t.spill(), t.spillAt() + NR);
        c11.intoArray(t.spill(), t.spillAt() + NR + LANES);
        c20.intoArray(t.spill(), t.spillAt() + 2 * NR);
        c21.intoArray(t.spill(), t.spillAt() + 2 * NR + LANES);
        c30.intoArray(t.spill(), t.spillAt() + 3 * NR);
        c31.intoArray(t.spill(), t.spillAt() + 3 * NR + LANES);
        c40.intoArray(t.spill(), t.spillAt() + 4 * NR);
        c41.intoArray(t.spill(), t.spillAt() + 4 * NR + LANES);
        c50.intoArray(t.spill(), t.spillAt() + 5 * NR);
        c51.intoArray(t.spill(), t.spillAt() + 5 * NR + LANES);
        t.write();
    }

    /**
     * C tile (+)= alpha * (A panel x B panel), 12 rows x 2 vectors, the A panel k-major: 12
     * contiguous values a k, {@code aStep} apart.
     */
    static void kernel12x2(float[] a, int aOff, int aStep, float[] b, int bOff, int kc, GemmTile t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        FloatVector c80 = FloatVector.zero(F), c81 = FloatVector.zero(F);
        FloatVector c90 = FloatVector.zero(F), c91 = FloatVector.zero(F);
        FloatVector c100 = FloatVector.zero(F), c101 = FloatVector.zero(F);
        FloatVector c110 = FloatVector.zero(F), c111 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + LANES);
            int ak = aOff + k * aStep;
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ak + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ak + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ak + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ak + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ak + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ak + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ak + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(F, a[ak + 8]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(F, a[ak + 9]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(F, a[ak + 10]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(F, a[ak + 11]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
        }
        c00.intoArray(t.spill(), t.spillAt());
        c01.intoArray(t.spill(), t.spillAt() + LANES);
        c10.intoArray(t.spill(), t.spillAt() + NR);
        c11.intoArray(t.spill(), t.spillAt() + NR + LANES);
        c20.intoArray(t.spill(), t.spillAt() + 2 * NR);
        c21.intoArray(t.spill(), t.spillAt() + 2 * NR + LANES);
        c30.intoArray(t.spill(), t.spillAt() + 3 * NR);
        c31.intoArray(t.spill(), t.spillAt() + 3 * NR + LANES);
        c40.intoArray(t.spill(), t.spillAt() + 4 * NR);
        c41.intoArray(t.spill(), t.spillAt() + 4 * NR + LANES);
        c50.intoArray(t.spill(), t.spillAt() + 5 * NR);
        c51.intoArray(t.spill(), t.spillAt() + 5 * NR + LANES);
        c60.intoArray(t.spill(), t.spillAt() + 6 * NR);
        c61.intoArray(t.spill(), t.spillAt() + 6 * NR + LANES);
        c70.intoArray(t.spill(), t.spillAt() + 7 * NR);
        c71.intoArray(t.spill(), t.spillAt() + 7 * NR + LANES);
        c80.intoArray(t.spill(), t.spillAt() + 8 * NR);
        c81.intoArray(t.spill(), t.spillAt() + 8 * NR + LANES);
        c90.intoArray(t.spill(), t.spillAt() + 9 * NR);
        c91.intoArray(t.spill(), t.spillAt() + 9 * NR + LANES);
        c100.intoArray(t.spill(), t.spillAt() + 10 * NR);
        c101.intoArray(t.spill(), t.spillAt() + 10 * NR + LANES);
        c110.intoArray(t.spill(), t.spillAt() + 11 * NR);
        c111.intoArray(t.spill(), t.spillAt() + 11 * NR + LANES);
        t.write();
    }

    /** C tile (+)= alpha * (A panel x B panel), 6 rows x 2 vectors, the A panel row-major (6 rows of kc). */
    static void kernel6x2Rows(float[] a, int aOff, float[] b, int bOff, int kc, GemmTile t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + LANES);
            int ak = aOff + k;
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ak + kc]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ak + 2 * kc]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ak + 3 * kc]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ak + 4 * kc]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ak + 5 * kc]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(t.spill(), t.spillAt());
        c01.intoArray(t.spill(), t.spillAt() + LANES);
        c10.intoArray(t.spill(), t.spillAt() + NR);
        c11.intoArray(t.spill(), t.spillAt() + NR + LANES);
        c20.intoArray(t.spill(), t.spillAt() + 2 * NR);
        c21.intoArray(t.spill(), t.spillAt() + 2 * NR + LANES);
        c30.intoArray(t.spill(), t.spillAt() + 3 * NR);
        c31.intoArray(t.spill(), t.spillAt() + 3 * NR + LANES);
        c40.intoArray(t.spill(), t.spillAt() + 4 * NR);
        c41.intoArray(t.spill(), t.spillAt() + 4 * NR + LANES);
        c50.intoArray(t.spill(), t.spillAt() + 5 * NR);
        c51.intoArray(t.spill(), t.spillAt() + 5 * NR + LANES);
        t.write();
    }

    /** C tile (+)= alpha * (A panel x B panel), 12 rows x 2 vectors, the A panel row-major (12 rows of kc). */
    static void kernel12x2Rows(float[] a, int aOff, float[] b, int bOff, int kc, GemmTile t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        FloatVector c80 = FloatVector.zero(F), c81 = FloatVector.zero(F);
        FloatVector c90 = FloatVector.zero(F), c91 = FloatVector.zero(F);
        FloatVector c100 = FloatVector.zero(F), c101 = FloatVector.zero(F);
        FloatVector c110 = FloatVector.zero(F), c111 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + LANES);
            int ak = aOff + k;
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ak + kc]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ak + 2 * kc]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ak + 3 * kc]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ak + 4 * kc]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ak + 5 * kc]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ak + 6 * kc]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ak + 7 * kc]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(F, a[ak + 8 * kc]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(F, a[ak + 9 * kc]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(F, a[ak + 10 * kc]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(F, a[ak + 11 * kc]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
        }
        c00.intoArray(t.spill(), t.spillAt());
        c01.intoArray(t.spill(), t.spillAt() + LANES);
        c10.intoArray(t.spill(), t.spillAt() + NR);
        c11.intoArray(t.spill(), t.spillAt() + NR + LANES);
        c20.intoArray(t.spill(), t.spillAt() + 2 * NR);
        c21.intoArray(t.spill(), t.spillAt() + 2 * NR + LANES);
        c30.intoArray(t.spill(), t.spillAt() + 3 * NR);
        c31.intoArray(t.spill(), t.spillAt() + 3 * NR + LANES);
        c40.intoArray(t.spill(), t.spillAt() + 4 * NR);
        c41.intoArray(t.spill(), t.spillAt() + 4 * NR + LANES);
        c50.intoArray(t.spill(), t.spillAt() + 5 * NR);
        c51.intoArray(t.spill(), t.spillAt() + 5 * NR + LANES);
        c60.intoArray(t.spill(), t.spillAt() + 6 * NR);
        c61.intoArray(t.spill(), t.spillAt() + 6 * NR + LANES);
        c70.intoArray(t.spill(), t.spillAt() + 7 * NR);
        c71.intoArray(t.spill(), t.spillAt() + 7 * NR + LANES);
        c80.intoArray(t.spill(), t.spillAt() + 8 * NR);
        c81.intoArray(t.spill(), t.spillAt() + 8 * NR + LANES);
        c90.intoArray(t.spill(), t.spillAt() + 9 * NR);
        c91.intoArray(t.spill(), t.spillAt() + 9 * NR + LANES);
        c100.intoArray(t.spill(), t.spillAt() + 10 * NR);
        c101.intoArray(t.spill(), t.spillAt() + 10 * NR + LANES);
        c110.intoArray(t.spill(), t.spillAt() + 11 * NR);
        c111.intoArray(t.spill(), t.spillAt() + 11 * NR + LANES);
        t.write();
    }
}
