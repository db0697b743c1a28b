package dev.longbow.checkpoint;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Weights;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The file follows the safetensors layout, round-trips, and damaged files are refused with nothing loaded. */
class CheckpointTest {
    private static final ModelConfig MODEL = new ModelConfig("ckpt", 19, 8, 1, 2, 1, 4, 16, 10000f, 1e-5f, false);
    private static final String RUN = "run-a";
    @TempDir
    Path dir;
    private Backend backend;
    private Weights params;
    private Checkpoint.State state;

    @BeforeEach
    void setUp() {
        backend = Backends.open(BackendChoice.CPU, 0);
        state = allocate();
        params = state.params();
        params.initialize(5, backend);
        for (String name : params.names()) {
            for (long i = 0; i < params.get(name).numel(); i++) {
                state.m().get(name).setFloat(i, i * 0.5f);
                state.v().get(name).setFloat(i, i * 0.25f);
            }
        }
    }

    @AfterEach
    void tearDown() {
        close(state);
        backend.close();
    }

    /** Zeroed parameters and moments of MODEL. */
    private Checkpoint.State allocate() {
        return new Checkpoint.State(Weights.allocate(MODEL, backend), Weights.allocate(MODEL, backend), Weights.allocate(MODEL, backend));
    }

    private static void close(Checkpoint.State s) {
        s.params().close();
        s.m().close();
        s.v().close();
    }

    private Path save() throws IOException {
        return Checkpoint.save(dir, RUN, 7, state, backend, Map.of("longbow.data", "3:4:5"), 2);
    }

    @Test
    void headerFollowsTheSafetensorsLayout() throws IOException {
        Path file = save();
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "data section 8-byte aligned");
        Map<?, ?> header = (Map<?, ?>) Json.parse(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8).strip());
        Map<?, ?> q = (Map<?, ?>) header.get("model.layers.0.self_attn.q_proj.weight");
        assertEquals("F32", q.get("dtype"));
        assertEquals(java.util.List.of(8L, 8L), q.get("shape"), "[out, in] = [Hq * D, dim]");
        java.util.List<?> offsets = (java.util.List<?>) q.get("data_offsets");
        long begin = ((Number) offsets.get(0)).longValue();
        // The raw data is the tensor's fp32 values, little-endian, at 8 + headerLen + begin.
        ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + headerLen + begin), 4 * 64).order(ByteOrder.LITTLE_ENDIAN);
        Tensor expected = params.get("model.layers.0.self_attn.q_proj.weight");
        for (int i = 0; i < 64; i++) {
            assertEquals(expected.getFloat(i), data.getFloat(), "element " + i);
        }
        Map<?, ?> meta = (Map<?, ?>) header.get("__metadata__");
        assertEquals("7", meta.get(Checkpoint.STEP));
        assertEquals("pt", meta.get("format"));
    }

    @Test
    void roundTripsParametersMomentsAndMetadata() throws IOException {
        Path file = save();
        double[] p = values(params.flat()), m = values(state.m().flat()), v = values(state.v().flat());
        Checkpoint.State other = allocate();
        try {
            Map<String, String> meta = Checkpoint.load(file, other, backend);
            assertEquals("3:4:5", meta.get("longbow.data"));
            assertArrayEquals(p, values(other.params().flat()));
            assertArrayEquals(m, values(other.m().flat()));
            assertArrayEquals(v, values(other.v().flat()));
        } finally {
            close(other);
        }
        assertEquals(java.util.List.of(file), Checkpoint.files(dir, RUN));
        assertEquals(dir.resolve("run-a-step-00000007.safetensors"), file);
        assertEquals(7, Checkpoint.stepOf(file));
        assertEquals(RUN, Checkpoint.runOf(file));
        assertEquals(RUN, Checkpoint.load(file, state, backend).get(Checkpoint.RUN_ID));
    }

    @Test
    void aFlippedByteIsRefusedAndNothingIsLoaded() throws IOException {
        Path file = save();
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = f.length() - 10;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
        assertRefused(file, "fails its checksum");
    }

    @Test
    void aTruncatedFileIsRefusedAndNothingIsLoaded() throws IOException {
        Path file = save();
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        assertRefused(file, "truncated");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(5);
        }
        assertRefused(file, "truncated");
    }

    @Test
    void garbageIsRefused() throws IOException {
        Path file = dir.resolve("step-00000001.safetensors");
        Files.write(file, "not a checkpoint at all, just text".getBytes(StandardCharsets.UTF_8));
        assertRefused(file, "refusing checkpoint");
    }

    private void assertRefused(Path file, String why) throws IOException {
        Checkpoint.State loaded = allocate();
        try {
            Weights target = loaded.params();
            backend.tensors().fill(target.flat(), 42f);
            CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
                    () -> Checkpoint.load(file, loaded, backend));
            assertTrue(e.getMessage().contains(why), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
            double[] untouched = values(target.flat());
            assertTrue(Arrays.stream(untouched).allMatch(x -> x == 42f), "nothing was loaded");
        } finally {
            close(loaded);
        }
    }

    @Test
    void keepsOnlyTheNewestCheckpoints() throws IOException {
        for (int step = 1; step <= 4; step++) {
            Checkpoint.save(dir, RUN, step, state, backend, Map.of(), 2);
        }
        assertEquals(java.util.List.of("run-a-step-00000003.safetensors", "run-a-step-00000004.safetensors"), names());
    }

    /** A second run in the same folder used to prune the first one's checkpoints by step number. */
    @Test
    void pruningTouchesOnlyTheRunsOwnCheckpoints() throws IOException {
        for (int step = 10; step <= 30; step += 10) {
            Checkpoint.save(dir, "first", step, state, backend, Map.of(), 3);
        }
        for (int step = 1; step <= 4; step++) {
            Checkpoint.save(dir, "second", step, state, backend, Map.of(), 2);
        }
        assertEquals(java.util.List.of("first-step-00000010.safetensors", "first-step-00000020.safetensors",
                "first-step-00000030.safetensors", "second-step-00000003.safetensors", "second-step-00000004.safetensors"), names());
    }

    /** A diverged state is refused before anything is written: the newest finite checkpoint stays, and nothing is pruned. */
    @Test
    void aNonFiniteStateIsNeverWrittenOverTheLastFiniteOne() throws IOException {
        Path good = Checkpoint.save(dir, RUN, 1, state, backend, Map.of(), 1);
        byte[] before = Files.readAllBytes(good);
        state.v().get("model.norm.weight").setFloat(3, Float.NaN);
        NonFiniteCheckpointException e = assertThrows(NonFiniteCheckpointException.class,
                () -> Checkpoint.save(dir, RUN, 2, state, backend, Map.of(), 1));
        assertTrue(e.getMessage().contains("tensor 'optimizer.v.model.norm.weight' holds NaN at element 3"), e.getMessage());
        assertEquals(java.util.List.of("run-a-step-00000001.safetensors"), names());
        assertArrayEquals(before, Files.readAllBytes(good));
    }

    /** The header (step, data position, run, layout) is checksummed: a flipped bit there used to resume at the wrong step. */
    @Test
    void aFlippedBitInTheHeaderIsRefused() throws IOException {
        Path file = save();
        byte[] bytes = Files.readAllBytes(file);
        String header = new String(bytes, 8, (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(), StandardCharsets.UTF_8);
        for (String field : new String[] {"\"longbow.step\":\"7\"", "\"longbow.data\":\"3:4:5\"", "\"longbow.run_id\":\"run-a\""}) {
            int at = 8 + header.indexOf(field) + field.length() - 2;   // the value's last character
            byte[] flipped = bytes.clone();
            flipped[at] ^= 0x01;
            Files.write(file, flipped);
            assertRefused(file, "refusing checkpoint");
        }
    }

    @Test
    void aFolderWithTooLittleSpaceIsRefusedNamingBothSizes() {
        var e = assertThrows(IllegalArgumentException.class, () -> CheckpointFolder.requireSpace(dir, 5L << 20, 12L << 20));
        assertEquals("checkpoint folder " + dir + " has 5.0 MiB free, but one checkpoint of this model needs 12.0 MiB; free some "
                + "space or choose another --checkpoint-dir", e.getMessage());
    }

    private java.util.List<String> names() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    private static double[] values(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFloat(i);
        }
        return d;
    }
}
