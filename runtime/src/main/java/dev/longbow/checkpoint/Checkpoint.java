package dev.longbow.checkpoint;

import dev.longbow.backend.Backend;
import dev.longbow.model.Weights;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.AdamW;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A training checkpoint: one safetensors file {@code step-NNNNNNNN.safetensors} per saved step
 * holding the parameters under their Hugging Face names (loadable as a LlamaForCausalLM state
 * dict), the AdamW moments under {@code optimizer.m.*} and {@code optimizer.v.*}, and in the
 * metadata the step, the data position, the seed and the configuration.
 */
public final class Checkpoint {
    public static final String STEP = "longbow.step";
    public static final String FORMAT = "longbow.format";
    private static final String FORMAT_VERSION = "1";
    private static final Pattern FILE = Pattern.compile("step-(\\d{8})\\.safetensors");

    private Checkpoint() {
    }

    public static Path fileFor(Path dir, int step) {
        return dir.resolve(String.format("step-%08d.safetensors", step));
    }

    /**
     * Writes the state after {@code step} completed steps, atomically, and deletes all but the
     * newest {@code keep} checkpoints of {@code dir}. {@code metadata} holds the caller's strings
     * (data position, seed, configuration).
     */
    public static Path save(Path dir, int step, Weights params, AdamW optimizer, Backend backend,
                            Map<String, String> metadata, int keep) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        List<HostAllocation> staging = new ArrayList<>();
        try {
            for (String name : params.names()) {
                tensors.put(name, host(params.get(name), backend, staging));
            }
            for (String name : params.names()) {
                tensors.put("optimizer.m." + name, host(optimizer.m().get(name), backend, staging));
                tensors.put("optimizer.v." + name, host(optimizer.v().get(name), backend, staging));
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt"); // what transformers' from_pretrained expects of a PyTorch state dict
            meta.put(FORMAT, FORMAT_VERSION);
            meta.put(STEP, Integer.toString(step));
            meta.putAll(metadata);
            Path file = fileFor(dir, step);
            SafeTensors.write(file, tensors, meta);
            prune(dir, keep);
            return file;
        } finally {
            staging.forEach(HostAllocation::close);
        }
    }

    /**
     * Verifies {@code file} completely, then copies parameters and moments into the model's and
     * optimizer's slabs and returns the metadata. A corrupt file changes nothing.
     */
    public static Map<String, String> load(Path file, Weights params, AdamW optimizer, Backend backend) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            if (!FORMAT_VERSION.equals(st.metadata().get(FORMAT))) {
                throw new CorruptCheckpointException(file, "it is not a Longbow checkpoint of format " + FORMAT_VERSION
                        + " (metadata " + FORMAT + " = " + st.metadata().get(FORMAT) + ")");
            }
            for (String name : params.names()) {
                for (String key : List.of(name, "optimizer.m." + name, "optimizer.v." + name)) {
                    if (!st.entries().containsKey(key)) {
                        throw new CorruptCheckpointException(file, "it lacks tensor '" + key + "' (a different model?)");
                    }
                }
            }
            for (String name : params.names()) {
                copyIn(st, name, params.get(name), backend);
                copyIn(st, "optimizer.m." + name, optimizer.m().get(name), backend);
                copyIn(st, "optimizer.v." + name, optimizer.v().get(name), backend);
            }
            return st.metadata();
        }
    }

    /** The newest checkpoint in {@code dir} by step number, or null when there is none. */
    public static Path latest(Path dir) throws IOException {
        List<Path> all = list(dir);
        return all.isEmpty() ? null : all.getLast();
    }

    private static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> FILE.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
    }

    /** The step a checkpoint file name carries. */
    public static int stepOf(Path file) {
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(file + " is not named step-NNNNNNNN.safetensors");
        }
        return Integer.parseInt(m.group(1));
    }

    private static void prune(Path dir, int keep) throws IOException {
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - keep; i++) {
            Files.deleteIfExists(all.get(i));
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
