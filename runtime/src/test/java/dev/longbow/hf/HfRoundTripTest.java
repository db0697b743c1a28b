package dev.longbow.hf;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.Json;
import dev.longbow.checkpoint.SafeTensors;
import dev.longbow.data.Tokenizer;
import dev.longbow.model.Llama;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.SingleRankAttention;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.AdamW;
import dev.longbow.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face in and out. The folders {@code tiny-tied} and {@code tiny-untied} were trained by
 * Longbow and exported ({@link MakeHfFixtures}); {@code hf_llama_reference.py}, a float64 numpy
 * forward written from transformers' modeling_llama.py that shares nothing with Longbow, read them by
 * Hugging Face's conventions and wrote the loss in {@code reference-loss.json}.
 */
class HfRoundTripTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-tied", "tiny-untied"})
    void longbowImportsTheExportedFolderAndGetsTheIndependentReferencesLoss(String name) throws Exception {
        Path folder = fixture(name);
        double reference = ((Number) ((Map<?, ?>) Json.parse(Files.readString(folder.resolve("reference-loss.json")))).get("loss"))
                .doubleValue();
        Map<?, ?> tokens = (Map<?, ?>) Json.parse(Files.readString(folder.resolve("tokens.json")));
        int[] ids = ints((List<?>) tokens.get("input_ids")), labels = ints((List<?>) tokens.get("labels"));
        try (HfWeights hf = HfWeights.open(folder)) {
            double loss = loss(hf.config(), ids, labels, params -> hf.copyInto(params, CPU));
            assertEquals(reference, loss, 1e-5 * reference, name + ": Longbow's loss on the imported folder");
            // The check has the power to see a layout mistake: q/k rows in the interleaved RoPE order move the loss far off.
            double permuted = loss(hf.config(), ids, labels, params -> {
                hf.copyInto(params, CPU);
                interleaveQueryKeyRows(params);
            });
            assertTrue(Math.abs(permuted - reference) > 20 * 1e-5 * reference, "permuted " + permuted + " vs " + reference);
        }
    }

    /** Reorders each head's q_proj/k_proj rows from (0, 2, 4, ..., 1, 3, ...) as a checkpoint for interleaved RoPE would hold them. */
    private static void interleaveQueryKeyRows(Weights params) {
        ModelConfig c = params.config();
        for (int l = 0; l < c.layers(); l++) {
            for (Tensor w : List.of(params.layer(l).wq(), params.layer(l).wk())) {
                float[] f = floats(w);
                int d = c.headDim(), in = c.dim();
                for (int row = 0; row < w.dim(0); row++) {
                    int head = row / d, e = row % d;
                    int from = head * d + (e < d / 2 ? 2 * e : 2 * (e - d / 2) + 1);
                    for (int i = 0; i < in; i++) {
                        w.setFloat((long) row * in + i, f[from * in + i]);
                    }
                }
            }
        }
    }

    /** The committed folders are what today's exporter writes: import, save as a checkpoint, export again, same bytes. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-tied", "tiny-untied"})
    void reExportingAnImportedFolderWritesTheSameWeightsAndConfig(String name, @TempDir Path dir) throws Exception {
        Path folder = fixture(name);
        Path checkpoint;
        try (HfWeights hf = HfWeights.open(folder); Weights params = Weights.allocate(hf.config(), CPU);
             AdamW optimizer = new AdamW(hf.config(), CPU)) {
            hf.copyInto(params, CPU);
            checkpoint = Checkpoint.save(dir, "again", 1, new Checkpoint.State(params, optimizer.m(), optimizer.v()), CPU, Map.of(Trainer.MODEL, ConfigJson.write(hf.config()),
                    Trainer.SEQ_LEN, "32", Trainer.TOKENIZER, folder.resolve("tokenizer.json").toString()), 1);
        }
        Path out = dir.resolve("exported");
        HfExport.export(checkpoint, out, null);
        assertEquals(Files.readString(folder.resolve("config.json")), Files.readString(out.resolve("config.json")));
        try (SafeTensors a = SafeTensors.open(folder.resolve("model.safetensors"));
             SafeTensors b = SafeTensors.open(out.resolve("model.safetensors"))) {
            assertEquals(a.entries().keySet(), b.entries().keySet());
            for (String t : a.entries().keySet()) {
                assertArrayEquals(bytes(a, t), bytes(b, t), t);
            }
        }
        assertEquals(Files.readString(folder.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));
    }

    @Test
    void exportThenImportIsBitExactAndKeepsTheOptimizerOut(@TempDir Path dir) throws Exception {
        ModelConfig c = new ModelConfig("rt", 50257, 16, 2, 4, 1, 4, 40, 10000f, 1e-5f, false);
        Path checkpoint;
        float[] before;
        try (Weights params = Weights.allocate(c, CPU); AdamW optimizer = new AdamW(c, CPU)) {
            params.initialize(99, CPU);
            CPU.tensors().fill(optimizer.m().flat(), 0.5f);
            before = floats(params.flat());
            checkpoint = Checkpoint.save(dir, "rt", 3, new Checkpoint.State(params, optimizer.m(), optimizer.v()), CPU, Map.of(Trainer.MODEL, ConfigJson.write(c),
                    Trainer.SEQ_LEN, "64", Trainer.TOKENIZER, "r50k"), 1);
        }
        HfExport.Result r = HfExport.export(checkpoint, dir.resolve("hf"), null);
        assertEquals(List.of("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"),
                r.files().stream().map(p -> p.getFileName().toString()).toList());
        try (SafeTensors st = SafeTensors.open(dir.resolve("hf/model.safetensors"))) {
            assertTrue(st.entries().keySet().stream().noneMatch(n -> n.startsWith("optimizer.")), "weights only");
            assertEquals("pt", st.metadata().get("format"));
        }
        try (HfWeights hf = HfWeights.open(dir.resolve("hf")); Weights again = Weights.allocate(hf.config(), CPU)) {
            assertEquals(new ModelConfig("hf:hf", 50257, 16, 2, 4, 1, 4, 40, 10000f, 1e-5f, false), hf.config());
            hf.copyInto(again, CPU);
            assertArrayEquals(before, floats(again.flat()));
        }
        Map<?, ?> config = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("hf/config.json")));
        assertEquals(List.of("LlamaForCausalLM"), config.get("architectures"));
        assertEquals(50256L, config.get("eos_token_id"));
        assertEquals(64L, config.get("max_position_embeddings"));
        assertEquals(Tokenizer.named("r50k").toTokenizerJson() + "\n", Files.readString(dir.resolve("hf/tokenizer.json")));
    }

    /** Shards with their index, in bf16: what a downloaded model looks like. */
    @Test
    void shardedBf16FoldersLoadAsTheirValues(@TempDir Path dir) throws Exception {
        Path folder = fixture("tiny-tied");
        Files.copy(folder.resolve("config.json"), dir.resolve("config.json"));
        Map<String, Object> weightMap = new LinkedHashMap<>();
        Map<String, float[]> expected = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(folder.resolve("model.safetensors"))) {
            List<String> names = List.copyOf(st.entries().keySet());
            for (int shard = 0; shard < 2; shard++) {
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                String file = String.format("model-%05d-of-00002.safetensors", shard + 1);
                for (int i = shard; i < names.size(); i += 2) {
                    String n = names.get(i);
                    float[] f = floats(st, n);
                    HostAllocation a = new HostAllocation(2L * f.length);
                    Tensor bf = new Tensor(a.segment(), DType.BF16, st.entries().get(n).shape(), Placement.HOST);
                    float[] rounded = new float[f.length];
                    for (int j = 0; j < f.length; j++) {
                        short bits = (short) (Float.floatToRawIntBits(f[j]) >>> 16);   // truncation: exactly representable back
                        bf.data().set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2L * j, bits);
                        rounded[j] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                    }
                    tensors.put(n, bf);
                    expected.put(n, rounded);
                    weightMap.put(n, file);
                }
                SafeTensors.write(dir.resolve(file), tensors, Map.of("format", "pt"));
            }
        }
        Files.writeString(dir.resolve(HfWeights.INDEX), Json.write(Map.of("metadata", Map.of(), "weight_map", weightMap)));
        try (HfWeights hf = HfWeights.open(dir); Weights params = Weights.allocate(hf.config(), CPU)) {
            hf.copyInto(params, CPU);
            for (var e : expected.entrySet()) {
                assertArrayEquals(e.getValue(), floats(params.get(e.getKey())), e.getKey());
            }
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "\"rope_scaling\":null;\"rope_scaling\":{\"rope_type\":\"llama3\"};rope_scaling {\"rope_type\":\"llama3\"} is not supported",
            "\"model_type\":\"llama\";\"model_type\":\"qwen2\";model_type \"qwen2\" is not supported",
            "\"attention_bias\":false;\"attention_bias\":true;attention_bias true is not supported",
            "\"num_hidden_layers\":2;\"num_hidden_layers\":3;lacks tensor 'model.layers.2.input_layernorm.weight'",
            "\"num_hidden_layers\":2;\"num_hidden_layers\":1;holds tensor 'model.layers.1.input_layernorm.weight', which a Llama",
            "\"hidden_size\":32;\"hidden_size\":48;has shape [659, 32] but config.json says [659, 48]",
            "\"tie_word_embeddings\":true;\"tie_word_embeddings\":false;lacks tensor 'lm_head.weight'",
            "\"vocab_size\":659;\"vocab_size\":0;a positive whole number is needed"})
    void foldersOfOtherModelsAreRefusedNamingTheField(String from, String to, String message, @TempDir Path dir) throws Exception {
        Path folder = fixture("tiny-tied");
        Files.copy(folder.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        String config = Files.readString(folder.resolve("config.json"));
        assertTrue(config.contains(from), from);
        Files.writeString(dir.resolve("config.json"), config.replace(from, to));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfWeights.open(dir).close());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void aFolderWithoutSafetensorsSaysWhatItHolds(@TempDir Path dir) throws Exception {
        Files.copy(fixture("tiny-tied").resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "pickle");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfWeights.open(dir)).getMessage()
                .contains("Longbow reads only safetensors"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfWeights.open(dir.resolve("nothing"))).getMessage()
                .contains("is not a folder"));
    }

    @Test
    void exportRefusesAFolderInUse(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("keep.txt"), "mine");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfExport.export(dir.resolve("x.safetensors"), dir, null))
                .getMessage().contains("is not empty"));
    }

    private static final Backend CPU = Backends.open(BackendChoice.CPU, 0);

    /** Longbow's mean loss over HF-style labels (position i predicts labels[i + 1]; -100 ignored). */
    static double loss(ModelConfig c, int[] ids, int[] labels, java.util.function.Consumer<Weights> init) {
        int n = ids.length;
        int[] targets = new int[n], positions = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            targets[i] = i + 1 < n && labels[i + 1] != -100 ? labels[i + 1] : -1;
            positions[i] = i;
            count += targets[i] >= 0 ? 1 : 0;
        }
        try (Llama model = new Llama(c, Precision.F32, CPU, new SingleRankAttention(CPU.attention(), CPU.tensors(), Llama.attentionParams(c)),
                n, 16, new boolean[c.layers()])) {
            init.accept(model.params());
            model.load(ids, targets, positions);
            return model.forwardLoss() / count;
        }
    }

    static Path fixture(String name) throws Exception {
        return Path.of(HfRoundTripTest.class.getResource(name).toURI());
    }

    private static int[] ints(List<?> values) {
        return values.stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    private static float[] floats(Tensor t) {
        float[] f = new float[(int) t.numel()];
        for (int i = 0; i < f.length; i++) {
            f[i] = t.getFloat(i);
        }
        return f;
    }

    private static float[] floats(SafeTensors st, String name) {
        SafeTensors.Entry e = st.entries().get(name);
        try (HostAllocation a = new HostAllocation(e.shape().numel() * 4)) {
            Tensor t = new Tensor(a.segment(), DType.F32, e.shape(), Placement.HOST);
            st.copyTo(name, t);
            return floats(t);
        }
    }

    private static byte[] bytes(SafeTensors st, String name) {
        float[] f = floats(st, name);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * f.length);
        for (float x : f) {
            b.putFloat(x);
        }
        return b.array();
    }
}
