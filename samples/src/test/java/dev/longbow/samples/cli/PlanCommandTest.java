package dev.longbow.samples.cli;

import dev.longbow.backend.BackendChoice;
import dev.longbow.hf.HfConfig;
import dev.longbow.model.Precision;
import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.CostModel;
import dev.longbow.plan.LongbowStack;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.Plan;
import dev.longbow.plan.Planner;
import dev.longbow.plan.Run;
import dev.longbow.plan.Search;
import dev.longbow.train.MemoryEstimate;
import dev.longbow.train.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code longbow plan} answers with a command {@code longbow train} accepts for the very run it ranked first. */
class PlanCommandTest {

    /** What one plan command printed and its exit code. */
    private record Printed(int code, String out) {
        /** The train command under "Run it:", without the launcher's path. */
        String trainArguments() {
            List<String> lines = out.lines().toList();
            int i = lines.indexOf("Run it:");
            assertTrue(i >= 0, "no command printed:\n" + out);
            String command = lines.get(i + 1).strip();
            assertTrue(command.startsWith("samples/longbow train "), command);
            return command.substring("samples/longbow ".length());
        }
    }

    private static Printed plan(String args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int code = Longbow.commandLine().execute(("plan " + args).split(" "));
            return new Printed(code, out.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
        }
    }

    /** The configuration the real train command makes of {@code arguments}, checked as it checks before training. */
    private static TrainConfig trainConfig(String arguments) {
        CommandLine cli = Longbow.commandLine();
        cli.parseArgs(arguments.split(" "));
        return cli.getSubcommands().get("train").<TrainCommand>getCommand().configure();
    }

    /** The planner's own answer for the same question, asked of the library, model states whole and sharded tried. */
    private static Run answer(ModelShape model, long seqLen, ClusterSpec cluster) {
        return answer(model, seqLen, cluster, List.of(false, true));
    }

    /** The planner's own answer trying these model-state settings. */
    private static Run answer(ModelShape model, long seqLen, ClusterSpec cluster, List<Boolean> shardModelStates) {
        Search search = new Search(seqLen, true, Precision.BF16_MIXED, 1, List.of(1), List.of(false, true), List.of(false),
                shardModelStates);
        Plan plan = Planner.plan(new CostModel(model, true, cluster, new LongbowStack()), search);
        assertNotNull(plan.answer(), "something fits");
        return plan.answer().run();
    }

    @Test
    void theCommandPrintedForATrainerPresetTrainsThePlansAnswer() {
        Printed p = plan("--model large --seq-len 64K --nodes 2");
        assertEquals(0, p.code(), p.out());
        TrainConfig config = trainConfig(p.trainArguments());
        assertEquals(answer(ModelShape.preset("large"), 64 << 10, ClusterSpec.preset("h100").withNodes(2)), Run.of(config));
        assertEquals(BackendChoice.CUDA, config.backend());
        assertTrue(ModelShape.of(config.model()).sameDimensions(ModelShape.preset("large")));
    }

    /** A model train has no preset of comes from a Hugging Face folder: with one written for it, the command trains the answer. */
    @Test
    void theCommandPrintedForAHuggingFaceModelTrainsThePlansAnswer(@TempDir Path dir) throws IOException {
        ModelShape llama = ModelShape.preset("llama3-8b");
        Files.writeString(dir.resolve(HfConfig.FILE), HfConfig.write(llama.toConfig(), 1 << 20, null, null));
        Printed p = plan("--model llama3-8b --seq-len 128K --gpu-memory-gib 400");
        assertEquals(0, p.code(), p.out());
        assertTrue(p.out().contains(TrainCommandLine.MODEL_DIR + ": a Hugging Face folder of llama3-8b"), p.out());
        TrainConfig config = trainConfig(p.trainArguments().replace(TrainCommandLine.MODEL_DIR, dir.toString()));
        ClusterSpec big = ClusterSpec.preset("h100").withMemory(400 * ClusterSpec.GIB, ClusterSpec.preset("h100").hostMemory());
        assertEquals(answer(llama, 128 << 10, big), Run.of(config));
        assertTrue(ModelShape.of(config.model()).sameDimensions(llama));
    }

    /**
     * Llama-3 8B keeps 18 bytes a parameter on every GPU under longbow train with whole model
     * states (fp32 weights, gradients and two AdamW moments, a bf16 copy): 8,030,261,248
     * parameters (Meta's model card) are 134.6 GiB, more than an H100 holds however many there
     * are; sharded over the 32 GPUs they fit, and that remedy comes with its command.
     */
    @Test
    void nothingFitsWithWholeModelStatesSaysWhatWouldAndWhyMoreGpusDoNot(@TempDir Path dir) throws IOException {
        Printed p = plan("--model llama3-8b --seq-len 1M --nodes 4 --top 3 --shard-model-states OFF");
        assertEquals(3, p.code(), p.out());
        assertTrue(p.out().contains("Nothing fits. What would"), p.out());
        String states = String.format(Locale.ROOT, "%.1f GiB", 18.0 * 8_030_261_248L / ClusterSpec.GIB);
        assertTrue(p.out().contains("the model states alone (" + states + ")"), p.out());
        assertTrue(p.out().contains("more GPUs, recomputation or a shorter sequence cannot help; a smaller model or sharded model "
                + "states (--shard-model-states) can"), p.out());
        List<String> lines = p.out().lines().toList();
        int i = lines.stream().filter(l -> l.startsWith("- sharded model states (--shard-model-states): ")).findFirst()
                .map(lines::indexOf).orElseThrow(() -> new AssertionError("no sharding remedy in:\n" + p.out()));
        ModelShape llama = ModelShape.preset("llama3-8b");
        Files.writeString(dir.resolve(HfConfig.FILE), HfConfig.write(llama.toConfig(), 1 << 20, null, null));
        String command = lines.get(i + 1).strip().substring("samples/longbow ".length());
        TrainConfig config = trainConfig(command.replace(TrainCommandLine.MODEL_DIR, dir.toString()));
        assertTrue(config.shardModelStates(), command);
        assertEquals(answer(llama, 1 << 20, ClusterSpec.preset("h100").withNodes(4), List.of(true)), Run.of(config));
    }

    /**
     * Issue 17's first decision, Llama-3 8B at 1M tokens on 4 x 8 H100: with the model states
     * sharded it fits, and the printed command trains the plan's answer.
     */
    @Test
    void llama3With1MTokensOn32H100sTrainsWithShardedModelStates(@TempDir Path dir) throws IOException {
        ModelShape llama = ModelShape.preset("llama3-8b");
        Files.writeString(dir.resolve(HfConfig.FILE), HfConfig.write(llama.toConfig(), 1 << 20, null, null));
        Printed p = plan("--model llama3-8b --seq-len 1M --nodes 4 --top 3");
        assertEquals(0, p.code(), p.out());
        TrainConfig config = trainConfig(p.trainArguments().replace(TrainCommandLine.MODEL_DIR, dir.toString()));
        assertTrue(config.shardModelStates(), p.trainArguments());
        assertEquals(answer(llama, 1 << 20, ClusterSpec.preset("h100").withNodes(4)), Run.of(config));
        long perGpu = MemoryEstimate.of(config).perRank();
        assertTrue(perGpu < ClusterSpec.preset("h100").gpuMemory(), "the trainer's own estimate fits an H100: " + perGpu);
    }

    /**
     * A Llama-2 7B with r50k's vocabulary (so that train's default tokenizer fits the folder written
     * here, which has no tokenizer.json): its 116 GiB of whole model states fit an H200 but no H100, and
     * the plan says so with the command that runs it there.
     */
    @Test
    void nothingFitsOnH100sButTheH200RemedyComesWithItsCommand(@TempDir Path dir) throws IOException {
        ModelShape llama = new ModelShape("custom", 32, 4096, 32, 32, 11008, 3, 50304);
        Files.writeString(dir.resolve(HfConfig.FILE), HfConfig.write(llama.toConfig(), 1 << 20, null, null));
        Printed p = plan("--model custom --layers 32 --hidden 4096 --heads 32 --ffn 11008 --vocab 50304 --seq-len 128K --top 1 "
                + "--shard-model-states OFF");
        assertEquals(3, p.code(), p.out());
        List<String> lines = p.out().lines().toList();
        int i = lines.stream().filter(l -> l.startsWith("- h200 GPUs (140 GiB, --cluster h200): ")).findFirst().map(lines::indexOf)
                .orElseThrow(() -> new AssertionError("no h200 remedy in:\n" + p.out()));
        String command = lines.get(i + 1).strip().substring("samples/longbow ".length());
        TrainConfig config = trainConfig(command.replace(TrainCommandLine.MODEL_DIR, dir.toString()));
        assertEquals(answer(llama, 128 << 10, ClusterSpec.preset("h200"), List.of(false)), Run.of(config));
    }

    /** A model whose states fit but whose activations do not at this length: recomputation, more nodes or a shorter sequence would. */
    @Test
    void nothingFitsNamesTheChangesThatWouldFit() {
        Printed p = plan("--model large --seq-len 4M --recompute OFF --top 3");
        assertEquals(3, p.code(), p.out());
        assertTrue(p.out().contains("- recomputation: "), p.out());
        assertTrue(p.out().contains("- 2 nodes (16 GPUs): "), p.out());
        assertTrue(p.out().contains("- a sequence of 2097152 tokens: "), p.out());
        assertFalse(p.out().contains("model states alone"), p.out());
    }

    @Test
    void theHeaderStatesTheMfuConventionAndTheAttentionRatesSource() {
        Printed p = plan("--model large --seq-len 64K --top 3");
        assertTrue(p.out().contains("MFU and tokens/s count model FLOPs"), p.out());
        assertTrue(p.out().contains("recomputation not counted"), p.out());
        assertTrue(p.out().contains("Longbow's flash kernels on an H100"), p.out());
        assertTrue(p.out().contains("are a tie"), p.out());
    }

    @Test
    void zero3AnswersAreMarkedNotRunnableByTrain() {
        Printed p = plan("--model llama3-8b --seq-len 256K --nodes 2 --stack ZERO3 --top 3");
        assertEquals(0, p.code(), p.out());
        assertTrue(p.out().contains("Not runnable by longbow train: it has no data parallelism"), p.out());
        assertFalse(p.out().contains("Run it:"), p.out());
    }

    /** Every option is described in --help, and every bandwidth names its unit. */
    @Test
    void everyOptionIsDescribedAndBandwidthsNameTheirUnit() {
        CommandLine plan = Longbow.commandLine().getSubcommands().get("plan");
        for (OptionSpec o : plan.getCommandSpec().options()) {
            assertTrue(o.description().length > 0 && !o.description()[0].isBlank(), o.longestName() + " has no description");
            assertFalse(o.longestName().contains("gbps"), o.longestName() + ": GB/s is gbytes-per-s");
        }
        StringWriter help = new StringWriter();
        plan.usage(new PrintWriter(help));
        for (String option : List.of("--network-gbytes-per-s", "--nvlink-gbytes-per-s", "--host-link-gbytes-per-s", "--stack", "--recompute",
                "--shard-model-states", "--batch")) {
            assertTrue(help.toString().contains(option), option + " in:\n" + help);
        }
    }
}
