package dev.longbow.samples.cli;

import dev.longbow.backend.Backends;
import dev.longbow.checkpoint.IoFailures;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.data.PasskeyTask;
import dev.longbow.data.SequenceSource;
import dev.longbow.data.TextCorpus;
import dev.longbow.data.TextDocuments;
import dev.longbow.data.Tokenizer;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.ModelConfig;
import dev.longbow.parallel.Scheme;
import dev.longbow.samples.SchemeOptions;
import dev.longbow.train.OnNonFinite;
import dev.longbow.train.OnSaveFailure;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.PasskeyAccuracy;
import dev.longbow.train.StepStats;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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
    @Option(names = "--backend", defaultValue = "cpu", description = "cpu|cuda|tornado (default: ${DEFAULT-VALUE})")
    String backend;
    @Option(names = "--data", defaultValue = "jdk", description = "jdk (the running JDK's lib/src.zip), passkey, or a text file, "
            + "folder or .zip (default: ${DEFAULT-VALUE})")
    String data;
    @Option(names = "--tokenizer", defaultValue = "r50k", description = "r50k|p50k|cl100k|o200k (default: ${DEFAULT-VALUE})")
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

    @Override
    public Integer call() throws Exception {
        TrainConfig config = configure();
        String reason = Backends.provider(backend).unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + backend + "' cannot run here: " + reason + " (use --backend cpu)");
        }
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
        Tokenizer tok = Tokenizer.named(tokenizer);
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
                    if (resumedFrom != null) {
                        System.out.println("  resumed from " + resumedFrom + " at step " + firstStep);
                        report[0].resumed(firstStep, resumedFrom);
                    }
                }

                @Override
                public void step(StepStats s) {
                    report[0].step(s);
                    bar.update(s, buffers[0]);
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
            Trainer.Result<PasskeyAccuracy> result = Trainer.run(config, source, checkpointing, safeguards, listener,
                    passkey ? t -> PasskeyAccuracy.measure(t, heldOut) : null);
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
        Tokenizer tok = Tokenizer.named(tokenizer);
        ModelConfig m = ModelConfig.named(model, data.equals("passkey") ? PasskeyTask.vocabSize(tok) : tok.vocabSize());
        OptimizerConfig o = new OptimizerConfig(lr, lr / 10, warmup, 0.9f, 0.95f, 1e-8f, weightDecay, clip);
        TrainConfig config = new TrainConfig(m, s, ranks, seqLen, backend, steps, batch, o, seed, recompute, logitChunk);
        try {
            return config.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--scheme " + scheme + " --ranks " + ranks + " --seq-len " + seqLen + " --model "
                    + model + " (" + m.heads() + " heads, " + m.kvHeads() + " kv heads): " + e.getMessage(), e);
        }
    }

    private SequenceSource source(Tokenizer tok, TrainConfig config) {
        if (data.equals("passkey")) {
            return new PasskeyTask(tok, seqLen, seed, config.scheme().layout(), ranks, passkeyTargets.equals("answer"));
        }
        Path path = data.equals("jdk") ? TextDocuments.jdkSources() : Path.of(data);
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("--data " + data + ": no such file or folder");
        }
        try {
            return new TextCorpus(TextDocuments.open(path), tok, seqLen, seed);
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
        m.put("backend", backend);
        m.put("steps", steps);
        m.put("batch", batch);
        m.put("lr", (double) lr);
        m.put("seed", seed);
        m.put("resumed", resume);
        return m;
    }
}
