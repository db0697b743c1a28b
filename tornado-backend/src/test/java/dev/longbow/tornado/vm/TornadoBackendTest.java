package dev.longbow.tornado.vm;

import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static dev.longbow.tornado.vm.DeviceTensors.CPU;
import static dev.longbow.tornado.vm.DeviceTensors.TORNADO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The backend as a whole: provider, memory ownership, and data staying on the device between operations. */
class TornadoBackendTest {

    @Test
    void providerIsAvailableWithTheSdkLoaded() {
        assertNull(Backends.provider("tornado").unavailableReason());
        assertEquals("tornado", TORNADO.name());
        assertEquals(Placement.HOST, TORNADO.placement());
    }

    @Test
    void closingABackendFreesWhatItAllocated() {
        DeviceSession session = ((TornadoBackend) TORNADO).session();
        long before = session.allocator().usedBytes();
        Backend rank = Backends.open("tornado", 0);
        rank.allocate(1 << 20);
        rank.allocate(12345);
        assertTrue(session.allocator().usedBytes() > before);
        rank.close();
        assertEquals(before, session.allocator().usedBytes());
        assertThrows(IllegalStateException.class, () -> rank.allocate(16));
    }

    /**
     * A chain of attention and tensor operations after a hand-over to the host: one upload before
     * the first kernel, nothing between kernels, and on synchronize only the ranges they wrote
     * come back. The results match the same chain on the CPU backend.
     */
    @Test
    void aStepStaysOnTheDeviceUntilSynchronize() {
        int s = 48;
        int h = 2;
        int d = 32;
        AttentionParams params = AttentionParams.of(d, true);
        DeviceSession session = ((TornadoBackend) TORNADO).session();
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoBackendTest step"));
            Tensor q = host.random(DType.F32, random, s, h, d);
            Tensor k = host.random(DType.F32, random, s, h, d);
            Tensor v = host.random(DType.F32, random, s, h, d);
            Tensor out = host.zeros(DType.F32, s, h, d);
            Tensor lse = host.zeros(DType.F32, s, h);
            Tensor acc = host.zeros(DType.F32, s, h, d);
            Tensor accLse = host.zeros(DType.F32, s, h);
            Tensor dQ = dev.put(q);
            Tensor dK = dev.put(k);
            Tensor dV = dev.put(v);
            Tensor dOut = dev.put(out);
            Tensor dLse = dev.put(lse);
            Tensor dAcc = dev.put(acc);
            Tensor dAccLse = dev.put(accLse);
            for (var backend : new Backend[] {CPU, TORNADO}) {
                boolean onDevice = backend == TORNADO;
                backend.tensors().fill(onDevice ? dAccLse : accLse, Float.NEGATIVE_INFINITY);
                backend.attention().forward(onDevice ? dQ : q, onDevice ? dK : k, onDevice ? dV : v, onDevice ? dOut : out,
                        onDevice ? dLse : lse, params);
                backend.attention().merge(onDevice ? dAcc : acc, onDevice ? dAccLse : accLse, onDevice ? dOut : out, onDevice ? dLse : lse);
                backend.tensors().scale(onDevice ? dAcc : acc, 0.5f);
                backend.tensors().axpy(2f, onDevice ? dOut : out, onDevice ? dAcc : acc);
            }
            TORNADO.synchronize();
            DeviceSession.Transfers handedOver = session.transfers();
            TORNADO.tensors().fill(dAccLse, Float.NEGATIVE_INFINITY);
            TORNADO.tensors().fill(dAcc, 0f);
            TORNADO.attention().forward(dQ, dK, dV, dOut, dLse, params);
            TORNADO.attention().merge(dAcc, dAccLse, dOut, dLse);
            TORNADO.tensors().scale(dAcc, 0.5f);
            TORNADO.tensors().axpy(2f, dOut, dAcc);
            DeviceSession.Transfers step = session.transfers();
            assertEquals(handedOver.refreshes() + 1, step.refreshes(), "one refresh, before the first kernel");
            assertEquals(handedOver.downloads(), step.downloads(), "nothing comes back between kernels");
            TORNADO.synchronize();
            DeviceSession.Transfers back = session.transfers();
            long written = (dAcc.byteSize() + dAccLse.byteSize() + dOut.byteSize() + dLse.byteSize());
            assertTrue(back.downloadedBytes() - step.downloadedBytes() <= written,
                    "synchronize copies back at most what the kernels wrote: " + (back.downloadedBytes() - step.downloadedBytes()));
            assertClose("acc", dev.get(dAcc), toDoubles(acc), 1e-4);
            assertClose("lse", dev.get(dAccLse), toDoubles(accLse), 1e-4);
        }
    }
}
