package dev.longbow.hf;

import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.Json;
import dev.longbow.checkpoint.SafeTensors;
import dev.longbow.data.Tokenizer;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Longbow checkpoint as a Hugging Face model folder: {@code model.safetensors} with the weights
 * only (fp32, Hugging Face's names and {@code [out, in]} layouts, which are Longbow's own), a
 * {@code config.json} for {@code LlamaForCausalLM}, and the tokenizer the run trained with
 * ({@code tokenizer.json}, {@code tokenizer_config.json}, {@code generation_config.json}). The
 * AdamW moments stay in the checkpoint. The layouts need no permutation: Longbow's RoPE rotates
 * the two halves of each head ({@code rotate_half}), as Hugging Face's Llama does.
 */
public final class HfExport {
    /** What was written, and anything the user should know (a task vocabulary with no tokenizer to export). */
    public record Result(ModelConfig config, List<Path> files, String note) {
    }

    private HfExport() {
    }

    /**
     * @param tokenizer the tokenizer to export, or null for the one the checkpoint names
     */
    public static Result export(Path checkpoint, Path dir, Tokenizer tokenizer) throws IOException {
        requireEmptyFolder(dir);
        try (SafeTensors st = SafeTensors.open(checkpoint)) {
            Map<String, String> meta = st.metadata();
            String modelJson = meta.get(Trainer.MODEL);
            if (modelJson == null) {
                throw new IllegalArgumentException(checkpoint + " names no model configuration (" + Trainer.MODEL
                        + "): it is not a Longbow training checkpoint");
            }
            ModelConfig config = ConfigJson.read(modelJson);
            String named = meta.get(Trainer.TOKENIZER);
            String note = null;
            if (tokenizer == null && named != null && named.startsWith(Trainer.TASK_VOCABULARY)) {
                note = "no tokenizer exported: the model was trained on the passkey task's own dense vocabulary (" + named + ")";
            } else if (tokenizer == null) {
                if (named == null) {
                    throw new IllegalArgumentException(checkpoint + " does not say which tokenizer it was trained with (written by an "
                            + "older Longbow); pass --tokenizer NAME or --tokenizer PATH/tokenizer.json");
                }
                tokenizer = Tokenizer.open(named);
            }
            if (tokenizer != null && tokenizer.vocabSize() > config.vocab()) {
                throw new IllegalArgumentException("tokenizer " + tokenizer.name() + " has " + tokenizer.vocabSize()
                        + " tokens but the model's vocabulary is " + config.vocab() + "; pass the tokenizer it was trained with");
            }
            int maxPositions = Integer.parseInt(meta.getOrDefault(Trainer.SEQ_LEN, "2048"));
            Files.createDirectories(dir);
            List<Path> files = new ArrayList<>();
            files.add(writeWeights(st, config, dir.resolve(HfWeights.SINGLE)));
            Integer eos = tokenizer == null ? null : tokenizer.endOfText();
            files.add(write(dir.resolve(HfConfig.FILE), HfConfig.write(config, maxPositions, null, eos)));
            if (tokenizer != null) {
                files.add(write(dir.resolve("tokenizer.json"), tokenizer.toTokenizerJson()));
                Map<String, Object> tc = new LinkedHashMap<>();
                tc.put("tokenizer_class", "PreTrainedTokenizerFast");
                tc.put("eos_token", tokenizer.endOfTextToken());
                tc.put("model_max_length", maxPositions);
                tc.put("clean_up_tokenization_spaces", false);
                files.add(write(dir.resolve("tokenizer_config.json"), Json.write(tc)));
                Map<String, Object> gen = new LinkedHashMap<>();
                gen.put("eos_token_id", eos);
                gen.put("max_length", maxPositions);
                files.add(write(dir.resolve("generation_config.json"), Json.write(gen)));
            }
            return new Result(config, files, note);
        }
    }

    private static Path writeWeights(SafeTensors st, ModelConfig config, Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        List<HostAllocation> staging = new ArrayList<>();
        try {
            for (var e : Weights.shapes(config).entrySet()) {
                Shape shape = Shape.of(e.getValue());
                HostAllocation a = new HostAllocation(shape.numel() * DType.F32.byteSize());
                staging.add(a);
                Tensor t = new Tensor(a.segment().asSlice(0, shape.numel() * DType.F32.byteSize()), DType.F32, shape, Placement.HOST);
                st.copyTo(e.getKey(), t);
                tensors.put(e.getKey(), t);
            }
            SafeTensors.write(file, tensors, Map.of("format", "pt"));   // "pt": what transformers expects of a state dict
            try {
                // written through a private temporary file; a model folder is for sharing, like the files beside it
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its default permissions stand
            }
            return file;
        } finally {
            staging.forEach(HostAllocation::close);
        }
    }

    private static Path write(Path file, String text) throws IOException {
        Files.writeString(file, text.endsWith("\n") ? text : text + "\n");
        return file;
    }

    private static void requireEmptyFolder(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is a file; export into a new or empty folder");
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException(dir + " is not empty; export into a new or empty folder so no model's "
                            + "files mix with another's");
                }
            }
        }
    }
}
