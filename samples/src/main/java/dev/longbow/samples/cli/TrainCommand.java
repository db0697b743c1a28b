package dev.longbow.samples.cli;

import dev.longbow.checkpoint.IoFailures;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.RankLauncher;
import dev.longbow.data.ByteLevelBpe;
import dev.longbow.data.HeldOutSplit;
import dev.longbow.data.PasskeyTask;
import dev.longbow.data.SequenceSource;
import dev.longbow.data.TextCorpus;
import dev.longbow.data.TextDocuments;
import dev.longbow.data.TokenSequence;
import dev.longbow.data.Tokenizer;
import dev.longbow.hf.HfConfig;
import dev.longbow.hf.HfWeights;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Scheme;
import dev.longbow.samples.DeviceOptions;
import dev.longbow.samples.SchemeOptions;
import dev.longbow.train.EvalStats;
import dev.longbow.train.Evaluation;
import dev.longbow.train.LrSchedule;
import dev.longbow.train.OnNonFinite;
import dev.longbow.train.OnSaveFailure;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.PasskeyAccuracy;
import dev.longbow.train.StepStats;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code longbow train}: everything is checked before any work starts; then train, report, plot. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a Llama-style model on long sequences with a sequence-parallel scheme. "
                + "The defaults run in about a minute on a 2-core CPU.")
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--scheme", defaultValue = "wallfacer", completionCandidates = SchemeOptions.Names.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    String scheme;
    @Mixin
    SchemeOptions schemeOptions;
    @Option(names = "--ranks", defaultValue = "4", description = "ranks: threads on the CPU, GPUs otherwise (default: ${DEFAULT-VALUE})")
    int ranks;
    @Option(names = "--seq-len", defaultValue = "1024", description = "tokens per sequence, split over the ranks (default: ${DEFAULT-VALUE})")
    int seqLen;
    @Option(names = "--model", defaultValue = "tiny", description = "tiny|small|base|large (default: ${DEFAULT-VALUE})")
    String model;
    @Mixin
    DeviceOptions device;
    @Option(names = "--precision", description = "f32|bf16: bf16 is mixed precision (bf16 activations and attention; fp32 "
            + "master weights, optimizer state, gradients and losses) (default: bf16 on cuda, f32 elsewhere)")
    String precision;
    @Option(names = "--data", defaultValue = "jdk", description = "jdk (the running JDK's lib/src.zip), passkey, or a text file, "
            + "folder or .zip (default: ${DEFAULT-VALUE})")
    String data;
    @Option(names = "--tokenizer", description = "r50k|p50k|cl100k|o200k, or a tokenizer.json (default: r50k, or the "
            + "--init-from folder's tokenizer.json)")
    String tokenizer;
    @Option(names = "--steps", defaultValue = "40", description = "optimizer steps (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--batch", defaultValue = "1", description = "sequences per step (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--lr", defaultValue = "3e-3", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    float lr;
    @Option(names = "--warmup", defaultValue = "5", description = "warmup steps (default: ${DEFAULT-VALUE})")
    int warmup;
    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay (default: ${DEFAULT-VALUE})")
    float weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "gradient norm clip, 0 for none (default: ${DEFAULT-VALUE})")
    float clip;
    @Option(names = "--seed", defaultValue = "1234", description = "initialisation and data order (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--recompute", description = "recompute layer activations in backward (less memory, more compute)")
    boolean recompute;
    @Option(names = "--shard-model-states", description = "shard the fp32 weights, gradients and AdamW moments over the ranks "
            + "(ZeRO-3, FSDP style): 16/ranks bytes a parameter instead of 16, for gathering each layer's weights before it "
            + "computes and reduce-scattering its gradients")
    boolean shardModelStates;
    @Option(names = "--logit-chunk", defaultValue = "256", description = "rows of logits computed at once (default: ${DEFAULT-VALUE})")
    int logitChunk;
    @Option(names = "--checkpoint-dir", description = "where checkpoints go (default: none)")
    Path checkpointDir;
    @Option(names = "--checkpoint-every", defaultValue = "10", description = "steps between checkpoints (default: ${DEFAULT-VALUE})")
    int checkpointEvery;
    @Option(names = "--keep", defaultValue = "3", description = "newest checkpoints kept (default: ${DEFAULT-VALUE})")
    int keep;
    @Option(names = "--resume", description = "continue a run from its newest checkpoint in --checkpoint-dir: the run --run-id "
            + "names, or the only run there")
    boolean resume;
    @Option(names = "--run-id", description = "the run's id, in its checkpoints' names (default: a fresh one; with --resume, "
            + "the only run in --checkpoint-dir)")
    String runId;
    @Option(names = "--on-save-error", defaultValue = "stop", description = "when a checkpoint cannot be written: stop the run, "
            + "or continue training and retry at the next save (default: ${DEFAULT-VALUE})")
    OnSaveFailure onSaveError;
    @Option(names = "--on-nonfinite", defaultValue = "stop", description = "when the loss or gradient norm is NaN or infinite: "
            + "stop the run, or skip that step's update (default: ${DEFAULT-VALUE})")
    OnNonFinite onNonFinite;
    @Option(names = "--collective-timeout", description = "seconds a collective waits for a rank before every rank fails "
            + "(default: LONGBOW_COLLECTIVE_TIMEOUT, else 600)")
    Long collectiveTimeout;
    @Option(names = "--run-dir", description = "where metrics.jsonl, summary.json and loss.png go (default: runs/<time>-<scheme>)")
    Path runDir;
    @Option(names = "--passkey-targets", defaultValue = "answer", description = "passkey training loss on the answer's digits "
            + "(answer) or on every token (all) (default: ${DEFAULT-VALUE})")
    String passkeyTargets;
    @Option(names = "--eval-samples", defaultValue = "100", description = "passkey: held-out sequences scored at the end (default: ${DEFAULT-VALUE})")
    int evalSamples;
    @Option(names = "--init-from", description = "start from a Hugging Face Llama folder's weights (config.json, model.safetensors "
            + "or shards with their index); its config.json is the model (--model is not used)")
    Path initFrom;
    @Option(names = "--text-field", defaultValue = TextDocuments.DEFAULT_FIELD, description = "the JSON field holding each "
            + "document's text in .jsonl data (default: ${DEFAULT-VALUE})")
    String textField;
    @Option(names = "--eval-every", defaultValue = "0", description = "evaluate on held-out data every N steps and after the "
            + "last: text holds out --holdout of the documents, passkey uses --eval-samples new sequences (default: 0, never)")
    int evalEvery;
    @Option(names = "--holdout", defaultValue = "0.01", description = "with --eval-every: the fraction of documents held out "
            + "of training, chosen by --seed (default: ${DEFAULT-VALUE})")
    double holdout;
    @Option(names = "--eval-sequences", defaultValue = "8", description = "with --eval-every on text: held-out sequences "
            + "scored each time (default: ${DEFAULT-VALUE})")
    int evalSequences;
    @Option(names = "--lr-schedule", defaultValue = "cosine", description = "cosine|linear|constant|wsd after --warmup, down to "
            + "lr/10 (default: ${DEFAULT-VALUE})")
    String lrSchedule;
    @Option(names = "--decay-fraction", defaultValue = "0.2", description = "wsd: the share of the steps after warmup spent "
            + "decaying (default: ${DEFAULT-VALUE})")
    double decayFraction;
    @Option(names = "--grad-accum", defaultValue = "1", description = "micro-batches of --batch sequences accumulated per "
            + "optimizer step; the loss is the mean over all their tokens (default: ${DEFAULT-VALUE})")
    int gradAccum;
    @Option(names = "--config", paramLabel = "FILE", description = "options from a JSON file ({\"ranks\": 2, ...}) or a run "
            + "folder's run-config.json, which repeats that run (in a new run folder); options given here win")
    Path config;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (config != null) {
            List<String> args = new ArrayList<>(List.of(spec.name()));
            args.addAll(ConfigFile.arguments(config, spec, spec.commandLine().getParseResult()));
            CommandLine again = Longbow.commandLine();
            again.setOut(spec.root().commandLine().getOut());
            again.setErr(spec.root().commandLine().getErr());
            return again.execute(args.toArray(String[]::new));
        }
        TrainConfig config = configure();
        String reason = device.backend().unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + device.backendName() + "' cannot run here: " + reason + " (use --backend cpu)");
        }
        RankLauncher launcher = device.communicator().launcher(device.backend());
        if (resume && checkpointDir == null) {
            throw new IllegalArgumentException("--resume needs --checkpoint-dir, the folder holding the checkpoints");
        }
        Trainer.requireMemory(config);
        Trainer.Checkpointing checkpointing = new Trainer.Checkpointing(checkpointDir, checkpointEvery, keep, resume, runId, onSaveError);
        Trainer.Safeguards safeguards = new Trainer.Safeguards(onNonFinite, collectiveTimeout == null
                ? CollectiveTimeout.from(System.getenv()) : CollectiveTimeout.require(Duration.ofSeconds(collectiveTimeout),
                "--collective-timeout " + collectiveTimeout));
        Path dir = runDir != null ? runDir : Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + scheme);
        RunReport.requireUsable(dir, resume);
        Tokenizer tok = tokenizer();
        List<TokenSequence> evalSet = evalEvery > 0 && !data.equals("passkey") ? heldOutText(tok) : List.of();
        HfWeights init = initFrom == null ? null : HfWeights.open(initFrom);
        RunReport[] report = {null};   // made when training starts: a run refused before that leaves no folder behind
        try (SequenceSource source = source(tok, config)) {
            System.out.println("longbow train: " + config.describe());
            System.out.println("  data: " + source.describe());
            System.out.println("  run folder: " + dir);
            ProgressBar bar = new ProgressBar(System.out, System.console() != null, steps);
            long[] buffers = {0};
            Trainer.Listener listener = new Trainer.Listener() {
                @Override
                public void started(int firstStep, long bufferBytesPerRank, Path resumedFrom) {
                    buffers[0] = bufferBytesPerRank * ranks;
                    report[0] = new RunReport(dir, resume);
                    report[0].writeConfig(ResolvedOptions.of(spec), config.describe(), config.model());
                    if (resumedFrom != null) {
                        System.out.println("  resumed from " + resumedFrom + " at step " + firstStep);
                        report[0].resumed(firstStep, resumedFrom);
                    }
                    bar.start(firstStep, buffers[0]);
                }

                @Override
                public void step(StepStats s) {
                    report[0].step(s);
                    bar.update(s, buffers[0]);
                }

                @Override
                public void evaluated(EvalStats e) {
                    report[0].evaluated(e);
                    bar.interrupt();
                    System.out.printf("  eval after step %d: loss %.4f, perplexity %.2f%s%n", e.step(), e.loss(), e.perplexity(),
                            e.passkey() == null ? "" : String.format(", passkey digits %.1f%%, keys %.1f%%",
                                    100 * e.passkey().tokenAccuracy(), 100 * e.passkey().sequenceAccuracy()));
                }

                @Override
                public void checkpointed(Path file, int steps) {
                    if (System.console() == null) {
                        System.out.println("  checkpoint " + file);
                    }
                }

                @Override
                public void notice(String message) {
                    bar.interrupt();
                    System.out.println("  " + message);
                }
            };
            boolean passkey = data.equals("passkey");
            List<TokenSequence> heldOut = passkey ? heldOut(tok, config) : List.of();
            Evaluation evaluation = evalEvery == 0 ? null : new Evaluation(evalEvery, passkey
                    ? (t, step) -> new EvalStats(step, t.evaluate(heldOut), PasskeyAccuracy.measure(t, heldOut))
                    : (t, step) -> new EvalStats(step, t.evaluate(evalSet), null));
            Trainer.Result<PasskeyAccuracy> result;
            try (init) {
                result = Trainer.run(config, launcher, source, checkpointing, safeguards, init == null ? null : init::copyInto,
                        evaluation, listener, passkey ? t -> PasskeyAccuracy.measure(t, heldOut) : null);
            }
            Map<String, Object> summary = summary(config, source);
            if (result.finish() != null) {
                PasskeyAccuracy a = result.finish();
                summary.put("passkey_digit_accuracy", a.tokenAccuracy());
                summary.put("passkey_key_accuracy", a.sequenceAccuracy());
                summary.put("passkey_eval_sequences", a.sequences());
                System.out.printf("passkey: %.1f%% of digits and %.1f%% of whole keys right on %d held-out sequences "
                        + "(chance: 10%% and 0.001%%)%n", 100 * a.tokenAccuracy(), 100 * a.sequenceAccuracy(), a.sequences());
            }
            Path png = report[0].finish(summary, config.scheme().name() + " x" + ranks + ", " + model + ", seq " + seqLen + ": "
                    + (passkey ? "passkey" : "text") + " loss");
            List<StepStats> done = result.steps();
            if (!done.isEmpty()) {
                System.out.printf("loss %.4f -> %.4f over steps %d..%d; metrics %s%s%n", done.getFirst().loss(),
                        done.getLast().loss(), done.getFirst().step(), done.getLast().step(), dir.resolve("metrics.jsonl"),
                        png == null ? "" : ", plot " + png);
            }
        } finally {
            if (report[0] != null) {
                report[0].close();
            }
        }
        return 0;
    }

    /** Every check that needs no data: model, scheme and sequence fit together. */
    TrainConfig configure() {
        Scheme s = schemeOptions.scheme(scheme, ranks, seqLen);
        if (!passkeyTargets.equals("answer") && !passkeyTargets.equals("all")) {
            throw new IllegalArgumentException("--passkey-targets " + passkeyTargets + ": choose answer or all");
        }
        if (checkpointEvery < 1 || keep < 1 || evalSamples < 1) {
            throw new IllegalArgumentException("--checkpoint-every, --keep and --eval-samples must be at least 1");
        }
        if (evalEvery < 0 || evalSequences < 1 || gradAccum < 1) {
            throw new IllegalArgumentException("--eval-every " + evalEvery + " must not be negative (0: no evaluation), --eval-sequences "
                    + evalSequences + " and --grad-accum " + gradAccum + " must be at least 1");
        }
        Tokenizer tok = tokenizer();
        int vocab = data.equals("passkey") ? PasskeyTask.vocabSize(tok) : tok.vocabSize();
        ModelConfig m = initFrom == null ? ModelConfig.named(model, vocab) : initModel(vocab);
        OptimizerConfig o = new OptimizerConfig(lr, lr / 10, warmup, 0.9f, 0.95f, 1e-8f, weightDecay, clip,
                LrSchedule.parse(lrSchedule, decayFraction));
        // One sequence is one micro-batch here (sequence parallelism): accumulating --grad-accum micro-batches of --batch is a
        // step of their product, the mean taken over all their tokens.
        TrainConfig.Builder config = TrainConfig.builder(m, s).ranks(ranks).seqLen(seqLen).backend(device.backend())
                .steps(steps).batch(Math.multiplyExact(batch, gradAccum)).optimizer(o).seed(seed).recompute(recompute)
                .shardModelStates(shardModelStates).chunkRows(logitChunk).precision(precision != null ? Precision.named(precision) : null);
        try {
            return config.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--scheme " + scheme + " --ranks " + ranks + " --seq-len " + seqLen + " --model "
                    + model + " (" + m.heads() + " heads, " + m.kvHeads() + " kv heads): " + e.getMessage(), e);
        }
    }

    /** --tokenizer, else the --init-from folder's tokenizer.json, else r50k. */
    private Tokenizer tokenizer() {
        if (tokenizer != null) {
            return Tokenizer.open(tokenizer);
        }
        if (initFrom != null && Files.isRegularFile(initFrom.resolve(ByteLevelBpe.FILE))) {
            return Tokenizer.open(initFrom.resolve(ByteLevelBpe.FILE).toString());
        }
        return Tokenizer.named("r50k");
    }

    /** The --init-from folder's model, whose vocabulary must hold the tokenizer's ids. */
    private ModelConfig initModel(int vocab) {
        ModelConfig m;
        try {
            m = HfConfig.read(initFrom);
        } catch (IOException e) {
            throw new IllegalArgumentException("--init-from " + initFrom + " cannot be read: " + IoFailures.reason(e), e);
        }
        if (vocab > m.vocab()) {
            throw new IllegalArgumentException("--init-from " + initFrom + " has a vocabulary of " + m.vocab() + " but the tokenizer "
                    + "gives ids up to " + (vocab - 1) + "; use the model's own tokenizer (its tokenizer.json, or --tokenizer)");
        }
        return m;
    }

    private Path dataPath() {
        Path path = data.equals("jdk") ? TextDocuments.jdkSources() : Path.of(data);
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("--data " + data + ": no such file or folder");
        }
        return path;
    }

    /** The split text training reads from, or null when nothing is held out. */
    private HeldOutSplit split() {
        return evalEvery > 0 ? new HeldOutSplit(holdout, seed, false) : null;
    }

    /** The first --eval-sequences sequences of the held-out documents: the same each time the run evaluates. */
    private List<TokenSequence> heldOutText(Tokenizer tok) throws IOException {
        try (TextCorpus heldOut = new TextCorpus(TextDocuments.open(dataPath(), textField, split().other()), tok, seqLen, seed)) {
            List<TokenSequence> list = new ArrayList<>();
            for (int i = 0; i < evalSequences; i++) {
                list.add(heldOut.next());
            }
            return list;
        }
    }

    private SequenceSource source(Tokenizer tok, TrainConfig config) {
        if (data.equals("passkey")) {
            return new PasskeyTask(tok, seqLen, seed, config.scheme().layout(), ranks, passkeyTargets.equals("answer"));
        }
        Path path = dataPath();
        try {
            return new TextCorpus(TextDocuments.open(path, textField, split()), tok, seqLen, seed);
        } catch (IOException e) {
            throw new IllegalArgumentException("--data " + data + " cannot be read: " + IoFailures.reason(e), e);
        }
    }

    /** Passkey sequences the model never trains on (another seed). */
    private List<TokenSequence> heldOut(Tokenizer tok, TrainConfig config) {
        PasskeyTask eval = new PasskeyTask(tok, seqLen, seed + 1_000_000_007L, config.scheme().layout(), ranks, true);
        List<TokenSequence> list = new ArrayList<>();
        for (int i = 0; i < evalSamples; i++) {
            list.add(eval.next());
        }
        return list;
    }

    private Map<String, Object> summary(TrainConfig config, SequenceSource source) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", config.describe());
        m.put("data", source.describe());
        m.put("scheme", config.scheme().name());
        m.put("ranks", ranks);
        m.put("seq_len", seqLen);
        m.put("model", model);
        m.put("parameters", config.model().parameterCount());
        m.put("backend", device.backendName());
        m.put("precision", config.precision().label());
        m.put("steps", steps);
        m.put("batch", batch);
        m.put("grad_accum", gradAccum);
        m.put("lr_schedule", config.optimizer().schedule().toString());
        m.put("lr", (double) lr);
        m.put("seed", seed);
        m.put("resumed", resume);
        return m;
    }
}
