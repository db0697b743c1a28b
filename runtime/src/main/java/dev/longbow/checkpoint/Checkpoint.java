package dev.longbow.checkpoint;

import dev.longbow.backend.Backend;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A training checkpoint: one safetensors file {@code RUN-step-NNNNNNNN.safetensors} per saved
 * step of a run, holding the parameters under their Hugging Face names (loadable as a
 * LlamaForCausalLM state dict), the AdamW moments under {@code optimizer.m.*} and
 * {@code optimizer.v.*}, and in the metadata the run id, the step, the data position, the seed
 * and the configuration. Saving refuses a state with NaN or infinity, and prunes only the run's
 * own older checkpoints.
 */
public final class Checkpoint {
    /** Metadata key: optimizer steps done when the checkpoint was written. */
    public static final String STEP = "longbow.step";
    /** Metadata key: the id of the run the checkpoint belongs to. */
    public static final String RUN_ID = "longbow.run_id";
    /** Metadata key: the version of the checkpoint layout. */
    public static final String FORMAT = "longbow.format";
    /** Format 2: the header checksum and the run id. */
    static final String FORMAT_VERSION = "2";
    static final Pattern FILE = Pattern.compile("(.+)-step-(\\d{8})\\.safetensors");

    private Checkpoint() {
    }

    /**
     * What a checkpoint holds: the parameters and the optimizer's two moments, each laid out like
     * the parameters. The checkpoint names them; it needs nothing of the optimizer itself.
     *
     * @param m first moments ({@code optimizer.m.*})
     * @param v second moments ({@code optimizer.v.*})
     */
    public record State(Weights params, Weights m, Weights v) {
    }

    /**
     * The file of run {@code run}'s checkpoint after {@code step} steps in {@code dir}.
     *
     * @param dir  the checkpoint folder
     * @param run  the run id
     * @param step optimizer steps done
     * @return {@code dir/RUN-step-NNNNNNNN.safetensors}
     */
    public static Path fileFor(Path dir, String run, int step) {
        return dir.resolve(String.format("%s-step-%08d.safetensors", RunId.require(run), step));
    }

    /**
     * Writes run {@code run}'s state after {@code step} completed steps, atomically, then deletes
     * all but the newest {@code keep} checkpoints of that run (no other run's). {@code metadata}
     * holds the caller's strings (data position, seed, configuration). A state holding NaN or
     * infinity is refused ({@link NonFiniteCheckpointException}) before anything is written.
     */
    public static Path save(Path dir, String run, int step, State state, Backend backend, Map<String, String> metadata, int keep)
            throws IOException {
        Weights params = state.params();
        Path file = fileFor(dir, run, step);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        List<HostAllocation> staging = new ArrayList<>();
        try {
            for (String name : params.names()) {
                tensors.put(name, host(params.get(name), backend, staging));
            }
            for (String name : params.names()) {
                tensors.put("optimizer.m." + name, host(state.m().get(name), backend, staging));
                tensors.put("optimizer.v." + name, host(state.v().get(name), backend, staging));
            }
            requireFinite(file, tensors);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt"); // what transformers' from_pretrained expects of a PyTorch state dict
            meta.put(FORMAT, FORMAT_VERSION);
            meta.put(RUN_ID, run);
            meta.put(STEP, Integer.toString(step));
            meta.putAll(metadata);
            SafeTensors.write(file, tensors, meta);
            prune(dir, run, keep);
            return file;
        } finally {
            staging.forEach(HostAllocation::close);
        }
    }

    /**
     * Verifies {@code file} completely, then copies parameters and moments into the model's and
     * optimizer's slabs and returns the metadata. A corrupt file changes nothing.
     */
    public static Map<String, String> load(Path file, State state, Backend backend) throws IOException {
        Weights params = state.params();
        try (SafeTensors st = SafeTensors.open(file)) {
            requireFormat(file, st.metadata());
            for (String name : params.names()) {
                for (String key : List.of(name, "optimizer.m." + name, "optimizer.v." + name)) {
                    if (!st.entries().containsKey(key)) {
                        throw new CorruptCheckpointException(file, "it lacks tensor '" + key + "' (a different model?)");
                    }
                }
            }
            for (String name : params.names()) {
                copyIn(st, name, params.get(name), backend);
                copyIn(st, "optimizer.m." + name, state.m().get(name), backend);
                copyIn(st, "optimizer.v." + name, state.v().get(name), backend);
            }
            return st.metadata();
        }
    }

    /** Refuses metadata of another format, or whose run id is not the one its file name carries. */
    static void requireFormat(Path file, Map<String, String> metadata) throws CorruptCheckpointException {
        if (!FORMAT_VERSION.equals(metadata.get(FORMAT))) {
            throw new CorruptCheckpointException(file, "it is not a Longbow checkpoint of format " + FORMAT_VERSION
                    + " (metadata " + FORMAT + " = " + metadata.get(FORMAT) + ")");
        }
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (m.matches() && !m.group(1).equals(metadata.get(RUN_ID))) {
            throw new CorruptCheckpointException(file, "its name says run " + m.group(1) + " but its header says run "
                    + metadata.get(RUN_ID) + " (renamed?)");
        }
    }

    /** Run {@code run}'s checkpoints in {@code dir}, oldest first by step. */
    public static List<Path> files(Path dir, String run) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> {
                Matcher m = FILE.matcher(p.getFileName().toString());
                return m.matches() && m.group(1).equals(run);
            }).sorted(Comparator.comparingInt(Checkpoint::stepOf)).toList();
        }
    }

    /** The step a checkpoint file name carries. */
    public static int stepOf(Path file) {
        return Integer.parseInt(matched(file).group(2));
    }

    /** The run a checkpoint file name carries. */
    public static String runOf(Path file) {
        return matched(file).group(1);
    }

    private static Matcher matched(Path file) {
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(file + " is not named RUN-step-NNNNNNNN.safetensors");
        }
        return m;
    }

    /** Deletes all but the newest {@code keep} of the run's checkpoints whose header confirms the run. */
    private static void prune(Path dir, String run, int keep) throws IOException {
        List<Path> mine = files(dir, run);
        for (int i = 0; i < mine.size() - keep; i++) {
            Path old = mine.get(i);
            try {
                if (run.equals(SafeTensors.readMetadata(old).get(RUN_ID))) {
                    Files.deleteIfExists(old);
                }
            } catch (CorruptCheckpointException e) {
                // not verifiably the run's: left for a person to look at
            }
        }
    }

    /** Throws naming the first NaN or infinity among the floating-point tensors. */
    private static void requireFinite(Path target, Map<String, Tensor> tensors) {
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() == DType.I32) {
                continue;
            }
            for (long i = 0; i < t.numel(); i++) {
                float x = t.getFloat(i);
                if (!Float.isFinite(x)) {
                    throw new NonFiniteCheckpointException(target, e.getKey(), i, x);
                }
            }
        }
    }

    private static Tensor host(Tensor t, Backend backend, List<HostAllocation> staging) {
        if (t.placement() == Placement.HOST) {
            backend.synchronize(); // an asynchronous backend (tornado) may still be writing t
            return t;
        }
        HostAllocation a = new HostAllocation(t.byteSize());
        staging.add(a);
        Tensor h = new Tensor(a.segment().asSlice(0, t.byteSize()), t.dtype(), t.shape(), Placement.HOST);
        backend.tensors().copy(t, h);
        return h;
    }

    private static void copyIn(SafeTensors st, String name, Tensor dst, Backend backend) {
        if (dst.placement() == Placement.HOST) {
            backend.synchronize(); // the host may touch a backend's HOST tensors only when its work has finished
            st.copyTo(name, dst);
            return;
        }
        try (HostAllocation a = new HostAllocation(dst.byteSize())) {
            Tensor h = new Tensor(a.segment().asSlice(0, dst.byteSize()), dst.dtype(), dst.shape(), Placement.HOST);
            st.copyTo(name, h);
            backend.tensors().copy(h, dst);
        }
    }
}
