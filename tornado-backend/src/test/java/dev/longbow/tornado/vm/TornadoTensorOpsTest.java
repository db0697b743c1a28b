package dev.longbow.tornado.vm;

import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static dev.longbow.tornado.vm.DeviceTensors.CPU;
import static dev.longbow.tornado.vm.DeviceTensors.TORNADO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/** Each {@link TensorOps} kernel against the CPU backend on fresh random inputs. */
class TornadoTensorOpsTest {
    private static final double TOLERANCE = 1e-4;

    /** Runs {@code op} on the CPU with host tensors and on the device with copies, then compares every output. */
    private static void compare(String name, Tensor[] inputs, int outputs, BiConsumer<TensorOps, Tensor[]> op) {
        try (DeviceTensors dev = new DeviceTensors()) {
            Tensor[] device = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                device[i] = dev.put(inputs[i]);
            }
            op.accept(CPU.tensors(), inputs);
            op.accept(TORNADO.tensors(), device);
            for (int i = inputs.length - outputs; i < inputs.length; i++) {
                assertClose(name + " output " + i, dev.get(device[i]), toDoubles(inputs[i]), TOLERANCE);
            }
        }
    }

    @Test
    void elementwiseOpsMatchTheCpuBackend() {
        try (HostTensors host = new HostTensors()) {
            Random random = new Random(HostTensors.seed("TornadoTensorOpsTest elementwise"));
            compare("copy", new Tensor[] {host.random(DType.F32, random, 1000), host.random(DType.F32, random, 1000)}, 1,
                    (ops, t) -> ops.copy(t[0], t[1]));
            compare("fill", new Tensor[] {host.random(DType.F32, random, 333)}, 1, (ops, t) -> ops.fill(t[0], -2.5f));
            compare("axpy", new Tensor[] {host.random(DType.F32, random, 5, 77), host.random(DType.F32, random, 5, 77)}, 1,
                    (ops, t) -> ops.axpy(0.75f, t[0], t[1]));
            compare("scale", new Tensor[] {host.random(DType.F32, random, 4097)}, 1, (ops, t) -> ops.scale(t[0], -3f));
        }
    }

    @Test
    void layoutPermutationsMatchTheCpuBackend() {
        try (HostTensors host = new HostTensors()) {
            Random random = new Random(HostTensors.seed("TornadoTensorOpsTest layouts"));
            compare("swapLeadingDims", new Tensor[] {host.random(DType.F32, random, 6, 4, 3, 5), host.zeros(DType.F32, 4, 6, 3, 5)}, 1,
                    (ops, t) -> ops.swapLeadingDims(t[0], t[1]));
            compare("swapLeadingDims 2-D", new Tensor[] {host.random(DType.F32, random, 7, 9), host.zeros(DType.F32, 9, 7)}, 1,
                    (ops, t) -> ops.swapLeadingDims(t[0], t[1]));
            compare("repeatHeads", new Tensor[] {host.random(DType.F32, random, 11, 2, 24), host.zeros(DType.F32, 11, 6, 24)}, 1,
                    (ops, t) -> ops.repeatHeads(t[0], t[1]));
            compare("sumRepeatedHeads", new Tensor[] {host.random(DType.F32, random, 11, 6, 24), host.zeros(DType.F32, 11, 2, 24)}, 1,
                    (ops, t) -> ops.sumRepeatedHeads(t[0], t[1]));
        }
    }

    @Test
    void sumOfSquaresMatchesTheCpuBackend() {
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoTensorOpsTest sumOfSquares"));
            Tensor x = host.random(DType.F32, random, 100_003);
            double expected = CPU.tensors().sumOfSquares(x);
            double actual = TORNADO.tensors().sumOfSquares(dev.put(x));
            assertEquals(expected, actual, 1e-5 * expected);
        }
    }

    @Test
    void int32TensorsMoveThroughTheHostAndConvertToFloat() {
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Tensor ids = host.zeros(DType.I32, 300);
            for (int i = 0; i < 300; i++) {
                ids.setInt(i, i * 7919 - 1_000_000);
            }
            Tensor onDevice = dev.put(ids);
            Tensor copied = dev.zeros(DType.I32, 300);
            TORNADO.tensors().copy(onDevice, copied);
            Tensor asFloat = dev.zeros(DType.F32, 300);
            TORNADO.tensors().convert(copied, asFloat);
            double[] expected = toDoubles(ids);
            assertArrayEquals(expected, dev.get(copied));
            assertArrayEquals(expected, dev.get(asFloat));
        }
    }

    @Test
    void refuses16BitTensorsWithAMessage() {
        try (DeviceTensors dev = new DeviceTensors()) {
            Tensor bf16 = dev.zeros(DType.BF16, 8);
            var e = assertThrows(IllegalArgumentException.class, () -> TORNADO.tensors().fill(bf16, 1f));
            assertTrue(e.getMessage().contains("must be F32"), e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> TORNADO.tensors().convert(dev.zeros(DType.F32, 8), bf16));
            assertTrue(e2.getMessage().contains("converts int32 to fp32 only"), e2.getMessage());
        }
    }
}
