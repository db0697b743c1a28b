package dev.longbow.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model's GEMM with each micro-tile selected explicitly, against float64: {@code
 * CpuModelOpsTest} covers only the one this machine prefers, and the six-row (AVX2) tile must stay
 * right on AVX-512 machines too.
 */
class GemmBlockingTest {

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (CpuModelOpsGemm.Blocking blocking : CpuModelOpsGemm.Blocking.values()) {
            // Full and edge tiles in both directions, more than one K block (KC = 256), every
            // transpose, beta 0 (the first K block stores), 1 and other, alpha other than 1.
            // Small M takes the path where each task runs every K block (and, with N over NC = 128
            // panels, several column chunks); M over MC x threads the shared-B path.
            cases.add(Arguments.of(blocking, false, false, 150, 64, 300, 1f, 0f));
            cases.add(Arguments.of(blocking, true, false, 29, 70, 520, 0.5f, 1f));
            cases.add(Arguments.of(blocking, false, true, 37, 100, 64, 1f, 0f));
            cases.add(Arguments.of(blocking, true, true, 13, 33, 260, 2f, -0.5f));
            cases.add(Arguments.of(blocking, false, true, 13, 128 * CpuModelOpsGemm.NR + 70, 20, 1f, 0f));
            cases.add(Arguments.of(blocking, false, true, 1000, 40, 300, 1f, 0f));
            cases.add(Arguments.of(blocking, true, false, 900, 33, 40, 0.5f, 1f));
            // A transposed A read in place on the shared-B path: a last row block with a partial
            // panel (1000 rows: 232 = 19 x 12 + 4, or 40 = 6 x 6 + 4) and a short last K block.
            cases.add(Arguments.of(blocking, true, false, 1000, 40, 300, 1f, 0f));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2} {3}x{4}x{5} alpha={6} beta={7}")
    @MethodSource("cases")
    void matchesFloat64(CpuModelOpsGemm.Blocking blocking, boolean transA, boolean transB, int m, int n, int k,
                        float alpha, float beta) {
        try (HostTensors mem = new HostTensors()) {
            Random random = new Random(HostTensors.seed("GemmBlockingTest " + blocking + m + n + k));
            Tensor a = transA ? mem.random(DType.F32, random, k, m) : mem.random(DType.F32, random, m, k);
            Tensor b = transB ? mem.random(DType.F32, random, n, k) : mem.random(DType.F32, random, k, n);
            Tensor c = mem.random(DType.F32, random, m, n);
            double[] expected = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        double av = transA ? a.getFloat((long) p * m + i) : a.getFloat((long) i * k + p);
                        double bv = transB ? b.getFloat((long) j * k + p) : b.getFloat((long) p * n + j);
                        sum += av * bv;
                    }
                    expected[i * n + j] = alpha * sum + beta * c.getFloat((long) i * n + j);
                }
            }
            new CpuModelOpsGemm(blocking).matmul(a, transA, b, transB, c, alpha, beta);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], c.getFloat(i), 2e-5 * Math.sqrt(k) * Math.max(1, Math.abs(expected[i])), "element " + i);
            }
        }
    }
}
