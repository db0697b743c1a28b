package dev.longbow.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.cuda.Context;
import dev.longbow.cuda.DeviceBuffer;
import dev.longbow.cuda.DeviceMemory;
import dev.longbow.cuda.PinnedBuffer;
import dev.longbow.cuda.Stream;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A one-rank communicator on GPU 0: every collective must reproduce its input (the sum over one
 * rank is the input itself), and a rank's grouped send to itself must arrive in its receive.
 */
@Tag("gpu")
class NcclGpuTest {
    private static final int N = 1 << 16;

    private static Context context;
    private static Stream stream;
    private static NcclComm comm;

    @BeforeAll
    static void open() {
        context = Context.primary(0).makeCurrent();
        stream = Stream.create("nccl");
        System.out.println("NCCL " + Nccl.version() + " from " + Nccl.load());
        comm = NcclComm.initRank(NcclUniqueId.create(), 1, 0);
    }

    @AfterAll
    static void close() throws Exception {
        for (AutoCloseable resource : new AutoCloseable[] {comm, stream, context}) {
            if (resource != null) {
                resource.close();
            }
        }
    }

    @Test
    void aOneRankCommunicatorKnowsItself() {
        assertEquals(0, comm.rank());
        assertEquals(1, comm.size());
        assertEquals(0, comm.device());
        comm.checkAsyncError();
    }

    @Test
    void allReduceOverOneRankIsTheIdentityInPlaceAndOutOfPlace() {
        for (DType dtype : List.of(DType.F32, DType.BF16)) {
            try (Buffers b = new Buffers(dtype)) {
                comm.allReduce(b.send, b.recv, NcclOp.SUM, stream);
                b.expectReceived("allReduce " + dtype);
                comm.allReduce(b.send, b.send, NcclOp.SUM, stream);
                b.expect(b.send, "in-place allReduce " + dtype);
            }
        }
    }

    @Test
    void groupedSendAndReceiveToItselfArrive() {
        try (Buffers b = new Buffers(DType.F32)) {
            try (NcclGroup group = Nccl.group()) {
                comm.send(b.send, 0, stream);
                comm.recv(b.recv, 0, stream);
            }
            b.expectReceived("send/recv");
        }
    }

    @Test
    void gatherScatterAndAllToAllOverOneRankCopy() {
        try (Buffers b = new Buffers(DType.F32)) {
            comm.allGather(b.send, b.recv, stream);
            b.expectReceived("allGather");
        }
        try (Buffers b = new Buffers(DType.F32)) {
            comm.reduceScatter(b.send, b.recv, NcclOp.SUM, stream);
            b.expectReceived("reduceScatter");
        }
        try (Buffers b = new Buffers(DType.F32)) {
            comm.allToAll(b.send, b.recv, stream);
            b.expectReceived("allToAll");
        }
    }

    @Test
    void splitAndInitAllMakeCommunicatorsTheCallerOwns() {
        try (NcclComm same = comm.split(0, 0)) {
            assertEquals(1, same.size());
        }
        assertNull(comm.split(-1, 0), "NCCL_SPLIT_NOCOLOR joins no communicator");
        List<NcclComm> all = NcclComm.initAll(0);
        assertEquals(1, all.size());
        all.getFirst().abort();
        assertThrows(IllegalStateException.class, () -> all.getFirst().checkAsyncError());
    }

    @Test
    void hostTensorsAreRefused() {
        Tensor host = new Tensor(MemorySegment.ofArray(new float[4]), DType.F32, Shape.of(4), Placement.HOST);
        var e = assertThrows(IllegalArgumentException.class, () -> comm.allReduce(host, host, NcclOp.SUM, stream));
        assertTrue(e.getMessage().contains("is on the host"), e.getMessage());
    }

    /** A send tensor holding 1, 2, 3, ... (exact in bf16 up to 256, so the pattern repeats), a zeroed recv. */
    private static final class Buffers implements AutoCloseable {
        final DeviceBuffer memory;
        final PinnedBuffer host;
        final Tensor send;
        final Tensor recv;
        final Tensor hostView;

        Buffers(DType dtype) {
            long bytes = (long) N * dtype.byteSize();
            memory = DeviceBuffer.allocate(2 * bytes);
            host = PinnedBuffer.allocate(bytes);
            send = new Tensor(memory.segment().asSlice(0, bytes), dtype, Shape.of(N), Placement.DEVICE);
            recv = new Tensor(memory.segment().asSlice(bytes, bytes), dtype, Shape.of(N), Placement.DEVICE);
            hostView = new Tensor(host.segment(), dtype, Shape.of(N), Placement.HOST);
            for (int i = 0; i < N; i++) {
                hostView.setFloat(i, 1 + i % 256);
            }
            DeviceMemory.hostToDevice(host.segment(), send.data(), stream);
            DeviceMemory.fill(recv.data(), (byte) 0, stream);
            stream.synchronize();  // the copy from pinned memory is asynchronous: host is reused below
        }

        void expectReceived(String what) {
            expect(recv, what);
        }

        void expect(Tensor device, String what) {
            host.segment().fill((byte) 0);
            DeviceMemory.deviceToHost(device.data(), host.segment(), stream);
            stream.synchronize();
            for (int i = 0; i < N; i++) {
                assertEquals(1 + i % 256, hostView.getFloat(i), what + ": element " + i);
            }
        }

        @Override
        public void close() {
            host.close();
            memory.close();
        }
    }
}
