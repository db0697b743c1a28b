package dev.longbow.hf;

import dev.longbow.backend.BackendChoice;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.Json;
import dev.longbow.data.Tokenizer;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.RandomSequences;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes the model folders of {@link HfRoundTripTest}: a tiny tied GQA Llama and a tiny untied one
 * (theta 500000, head_dim not hidden/heads) trained by Longbow for a few steps on 2 ranks, exported
 * with {@link HfExport}, and a {@code tokens.json} to score (a held-out sequence like those it trained on). {@code hf_llama_reference.py} then
 * writes each folder's {@code reference-loss.json}.
 *
 * <pre>
 * ./mvnw -q -pl runtime -am test-compile
 * java --add-modules jdk.incubator.vector -cp runtime/target/classes:runtime/target/test-classes:$(ls ~/.m2/repository/com/knuddels/jtokkit/1.1.0/*.jar):bindings/target/classes \
 *     dev.longbow.hf.MakeHfFixtures runtime/src/test/resources/dev/longbow/hf
 * python3 runtime/src/test/resources/dev/longbow/hf/hf_llama_reference.py runtime/src/test/resources/dev/longbow/hf/tiny-*
 * </pre>
 */
public final class MakeHfFixtures {
    static final ModelConfig TIED = new ModelConfig("fixture-tied", 659, 32, 2, 4, 2, 8, 64, 10000f, 1e-5f, true);
    static final ModelConfig UNTIED = new ModelConfig("fixture-untied", 659, 24, 2, 2, 2, 16, 48, 500000f, 1e-6f, false);

    /** Enough steps on sequences that repeat at distance 4 that attention carries the prediction (RoPE conventions then show in the loss). */
    private static final int STEPS = 200;

    private MakeHfFixtures() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Path tokenizerJson = out.resolve("../data/tokenizers/tiny-gpt2.json").normalize();
        Tokenizer tokenizer = Tokenizer.open(tokenizerJson.toString());
        for (var e : Map.of("tiny-tied", TIED, "tiny-untied", UNTIED).entrySet()) {
            Path ckpt = Files.createTempDirectory("fixture");
            TrainConfig config = new TrainConfig(e.getValue(), new Ring(), 2, 32, BackendChoice.CPU, STEPS, 4,
                    OptimizerConfig.defaults(2e-2f, 10), 7, false, 16, Precision.F32, false);
            Trainer.run(config, new RandomSequences(e.getValue().vocab(), 32, 3),
                    new Trainer.Checkpointing(ckpt, STEPS, 1, false, "fixture", dev.longbow.train.OnSaveFailure.STOP),
                    s -> { }, null);
            Path folder = out.resolve(e.getKey());
            HfExport.export(Checkpoint.fileFor(ckpt, "fixture", STEPS), folder, tokenizer);
            // A held-out sequence of the training distribution (other seed): its loss depends on attention.
            int[] ids = new RandomSequences(e.getValue().vocab(), 48, 1_000_003).next().tokens();
            List<Integer> input = java.util.Arrays.stream(ids).boxed().toList();
            List<Integer> labels = new java.util.ArrayList<>(input);
            labels.set(5, -100);   // one ignored label, as HF's data collators mark padding
            Map<String, Object> tokens = new LinkedHashMap<>();
            tokens.put("input_ids", input);
            tokens.put("labels", labels);
            Files.writeString(folder.resolve("tokens.json"), Json.write(tokens) + "\n");
        }
    }
}
