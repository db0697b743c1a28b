package dev.longbow.hf;

import dev.longbow.backend.Backend;
import dev.longbow.checkpoint.Json;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Weights;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A Hugging Face Llama model folder, opened to initialise training: {@code config.json} and the
 * weights in {@code model.safetensors}, or in shards {@code model-0000x-of-0000y.safetensors}
 * listed by {@code model.safetensors.index.json}. Every tensor the model needs is checked (present,
 * shape) when the folder is opened, before anything is copied; weights only, no optimizer state.
 */
public final class HfWeights implements AutoCloseable {
    /** The file of a model saved in one piece. */
    public static final String SINGLE = "model.safetensors";
    /** The index of a model saved in shards. */
    public static final String INDEX = "model.safetensors.index.json";

    private final Path dir;
    private final ModelConfig config;
    private final List<SafeTensorsFile> files;
    private final Map<String, SafeTensorsFile> byName;

    private HfWeights(Path dir, ModelConfig config, List<SafeTensorsFile> files, Map<String, SafeTensorsFile> byName) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.byName = byName;
    }

    /** Opens and checks {@code dir}; throws {@link IllegalArgumentException} naming the file, the tensor and the fix. */
    public static HfWeights open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--init-from " + dir + " is not a folder; pass a Hugging Face model folder "
                    + "(config.json and model*.safetensors)");
        }
        ModelConfig config = HfConfig.read(dir);
        List<SafeTensorsFile> files = new ArrayList<>();
        Map<String, SafeTensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Path f : shardFiles(dir)) {
                SafeTensorsFile st = SafeTensorsFile.open(f);
                files.add(st);
                st.entries().keySet().forEach(name -> byName.put(name, st));
            }
            HfWeights w = new HfWeights(dir, config, files, byName);
            w.check();
            return w;
        } catch (IOException | RuntimeException e) {
            files.forEach(SafeTensorsFile::close);
            throw e;
        }
    }

    /** The weight files of a folder: the single file, or the shards its index names. */
    private static List<Path> shardFiles(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            Object weightMap;
            try {
                weightMap = ((Map<?, ?>) Json.parse(Files.readString(index))).get("weight_map");
            } catch (IllegalArgumentException | ClassCastException e) {
                throw new IllegalArgumentException(index + " is not a JSON object: " + e.getMessage());
            }
            if (!(weightMap instanceof Map<?, ?> m) || m.isEmpty()) {
                throw new IllegalArgumentException(index + " has no \"weight_map\" naming the shard of each tensor");
            }
            List<Path> shards = new ArrayList<>();
            for (Object f : new TreeSet<>(m.values().stream().map(String::valueOf).toList())) {
                Path shard = dir.resolve((String) f);
                if (!Files.isRegularFile(shard)) {
                    throw new IllegalArgumentException(index + " names shard " + f + " but " + dir + " does not hold it "
                            + "(download every model-0000x-of-0000y.safetensors of the model)");
                }
                shards.add(shard);
            }
            return shards;
        }
        if (Files.isRegularFile(dir.resolve(SINGLE))) {
            return List.of(dir.resolve(SINGLE));
        }
        String bin = Files.isRegularFile(dir.resolve("pytorch_model.bin")) ? " (it holds pytorch_model.bin: Longbow reads only "
                + "safetensors; convert with model.save_pretrained(dir, safe_serialization=True))" : "";
        throw new IllegalArgumentException(dir + " holds neither " + SINGLE + " nor " + INDEX + bin);
    }

    /** Every tensor the model needs is there with its shape; nothing unexpected besides RoPE tables and a tied head. */
    private void check() {
        Map<String, long[]> needed = expectedShapes(config);
        for (var e : needed.entrySet()) {
            SafeTensorsFile f = byName.get(e.getKey());
            if (f == null) {
                throw new IllegalArgumentException(dir + " lacks tensor '" + e.getKey() + "' that config.json's Llama needs"
                        + (e.getKey().equals("lm_head.weight") ? " (set tie_word_embeddings true if the head is the embedding)" : ""));
            }
            long[] shape = f.entries().get(e.getKey()).shape();
            if (!Arrays.equals(shape, e.getValue())) {
                throw new IllegalArgumentException(f.path() + ": tensor '" + e.getKey() + "' has shape " + Arrays.toString(shape)
                        + " but config.json says " + Arrays.toString(e.getValue()) + " (config.json and weights of different models?)");
            }
        }
        for (String name : byName.keySet()) {
            boolean harmless = name.endsWith("rotary_emb.inv_freq") || (config.tied() && name.equals("lm_head.weight"));
            if (!needed.containsKey(name) && !harmless) {
                throw new IllegalArgumentException(byName.get(name).path() + " holds tensor '" + name + "', which a Llama of this "
                        + "config.json does not have (another architecture, or more layers than num_hidden_layers?)");
            }
        }
    }

    /** Hugging Face's tensor names and shapes for {@code c}: the names Longbow's own slabs use. */
    static Map<String, long[]> expectedShapes(ModelConfig c) {
        return Weights.shapes(c);
    }

    /**
     * The model folder.
     *
     * @return its path
     */
    public Path dir() {
        return dir;
    }

    /** The shape config.json gives. */
    public ModelConfig config() {
        return config;
    }

    /** Copies every weight into {@code params} (converted to fp32), through the host when they live on a device. */
    public void copyInto(Weights params, Backend backend) {
        if (!params.config().equals(config)) {
            throw new IllegalArgumentException("the model to initialise is " + params.config() + " but " + dir + " holds " + config);
        }
        for (String name : params.names()) {
            Tensor dst = params.get(name);
            if (dst.placement() == Placement.HOST) {
                backend.synchronize(); // the host may touch a backend's HOST tensors only when its work has finished
                byName.get(name).readFloats(name, dst.data());
                continue;
            }
            try (HostAllocation a = new HostAllocation(dst.byteSize())) {
                Tensor h = new Tensor(a.segment().asSlice(0, dst.byteSize()), dst.dtype(), dst.shape(), Placement.HOST);
                byName.get(name).readFloats(name, h.data());
                backend.tensors().copy(h, dst);
            }
        }
    }

    @Override
    public void close() {
        files.forEach(SafeTensorsFile::close);
    }
}
