package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.cuda.CudaCompute;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.RunId;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankLaunchers;
import dev.longbow.data.DataPosition;
import dev.longbow.data.SequenceSource;
import dev.longbow.data.TokenSequence;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Runs training on {@code ranks} ranks of a backend: every rank takes its shard of each step's
 * sequences, rank 0 reports each step and writes the checkpoints. Resuming loads the run's
 * newest checkpoint (verified before any rank starts) and moves the data to where it stood, so
 * the loss curve continues as if the run had never stopped.
 *
 * <p>Everything that can be refused is refused before any rank starts: the configuration, the
 * memory the run needs against what is available, the checkpoint folder and what a resume finds
 * there. While it runs, a non-finite loss or gradient norm stops it (or skips the step) and a
 * failed save stops it (or is retried at the next save), with the state on disk as it was.
 */
public final class Trainer {
    /** Checkpoint metadata key: where the data stood after the checkpoint's step. */
    public static final String DATA = "longbow.data";
    /** Checkpoint metadata key: the run's seed. */
    public static final String SEED = "longbow.seed";
    /** Checkpoint metadata key: the model's configuration as JSON. */
    public static final String MODEL = "longbow.model";
    /** Checkpoint metadata key: the run in words. */
    public static final String RUN = "longbow.run";
    /** The tokenizer a run trains with: a tiktoken name, a tokenizer.json path, or {@link #TASK_VOCABULARY} and a name. */
    public static final String TOKENIZER = "longbow.tokenizer";
    /** Tokens per training sequence. */
    public static final String SEQ_LEN = "longbow.seq_len";
    /** The prefix of {@link #TOKENIZER} for a synthetic task's own vocabulary, which no tokenizer file describes. */
    public static final String TASK_VOCABULARY = "task:";

    /**
     * @param checkpointDir where checkpoints go (null: none)
     * @param every         checkpoint every this many steps (and after the last)
     * @param keep          newest checkpoints of this run kept
     * @param resume        continue the run from its newest checkpoint in {@code checkpointDir}
     * @param runId         the run's id: null for a fresh id, or (resuming) the one run in the folder
     * @param onSaveFailure what a checkpoint that cannot be written does
     */
    public record Checkpointing(Path checkpointDir, int every, int keep, boolean resume, String runId, OnSaveFailure onSaveFailure) {
        /** No checkpoints. */
        public static final Checkpointing NONE = new Checkpointing(null, 0, 0, false, null, OnSaveFailure.STOP);

        /** Refuses a malformed run id, and an interval or count below 1 when there is a folder. */
        public Checkpointing {
            if (runId != null) {
                RunId.require(runId);
            }
            if (checkpointDir != null && (every < 1 || keep < 1)) {
                throw new IllegalArgumentException("checkpoint every " + every + " steps keeping " + keep + ": both must be at least 1");
            }
        }

        /** A fresh run, or the resume of the one run in the folder, stopping on a failed save. */
        public Checkpointing(Path checkpointDir, int every, int keep, boolean resume) {
            this(checkpointDir, every, keep, resume, null, OnSaveFailure.STOP);
        }
    }

    /**
     * How a run meets what goes wrong while it trains.
     *
     * @param collectiveTimeout how long a collective waits for a rank before every rank fails
     */
    public record Safeguards(OnNonFinite onNonFinite, Duration collectiveTimeout) {
        /** Stop on a non-finite loss; collectives wait {@link CollectiveTimeout#DEFAULT}. */
        public static final Safeguards DEFAULT = new Safeguards(OnNonFinite.STOP, CollectiveTimeout.DEFAULT);

        /** Refuses a timeout that is not positive. */
        public Safeguards {
            CollectiveTimeout.require(collectiveTimeout, "the collective timeout");
        }
    }

    /** Hears about the run on rank 0's thread. */
    public interface Listener {
        /**
         * Training is about to run its first step.
         *
         * @param firstStep          0, or the step a resumed run continues at
         * @param bufferBytesPerRank the buffers each rank allocated
         * @param resumedFrom        the checkpoint resumed from, or null
         */
        default void started(int firstStep, long bufferBytesPerRank, Path resumedFrom) {
        }

        /**
         * A step finished.
         *
         * @param stats its loss, gradient norm, learning rate and tokens
         */
        void step(StepStats stats);

        /**
         * A checkpoint was written.
         *
         * @param file  its file
         * @param steps the steps it holds
         */
        default void checkpointed(Path file, int steps) {
        }

        /** An evaluation on held-out data, right after the step it follows was reported. */
        default void evaluated(EvalStats stats) {
        }

        /** Something the user should know that is not an error: the run id, partial files removed, a save that failed and is retried. */
        default void notice(String message) {
        }
    }

    /** Work done on every rank once training ends (an evaluation); rank 0's result is returned. */
    @FunctionalInterface
    public interface Finish<T> {
        /**
         * The work, on this rank.
         *
         * @param trainer this rank's trainer, after the last step
         * @return the result (rank 0's is returned by the run)
         * @throws Exception anything: it fails the run
         */
        T run(RankTrainer trainer) throws Exception;
    }

    /**
     * What a run returns.
     *
     * @param steps  rank 0's steps, in order
     * @param finish rank 0's result of the {@link Finish}, or null
     * @param <T>    the finish's result type
     */
    public record Result<T>(List<StepStats> steps, T finish) {
    }

    private record Batch(List<TokenSequence> sequences, DataPosition after) {
    }

    private Trainer() {
    }

    /** Runs with {@link Safeguards#DEFAULT}. */
    public static <T> Result<T> run(TrainConfig config, SequenceSource data, Checkpointing checkpointing,
                                    Listener listener, Finish<T> finish) {
        return run(config, data, checkpointing, Safeguards.DEFAULT, listener, finish);
    }

    /** Starts from the seeded initialisation, with no evaluation during the run, on the launcher that serves the backend. */
    public static <T> Result<T> run(TrainConfig config, SequenceSource data, Checkpointing checkpointing, Safeguards safeguards,
                                    Listener listener, Finish<T> finish) {
        return run(config, RankLaunchers.forBackend(config.backend()), data, checkpointing, safeguards, null, null, listener, finish);
    }

    /**
     * Runs on the ranks {@code launcher} starts (a communicator chosen by name).
     *
     * @param initial    the weights a new run starts from (null: the seeded initialisation); a resumed run takes its checkpoint's
     * @param evaluation held-out evaluation during the run (null: none)
     */
    public static <T> Result<T> run(TrainConfig config, RankLauncher launcher, SequenceSource data, Checkpointing checkpointing,
                                    Safeguards safeguards, InitialWeights initial, Evaluation evaluation, Listener listener,
                                    Finish<T> finish) {
        config.validate();
        if (data.vocabSize() != config.model().vocab()) {
            throw new IllegalArgumentException("the data's tokenizer has " + data.vocabSize() + " tokens but the model's vocab is "
                    + config.model().vocab());
        }
        MemoryEstimate memory = requireMemory(config);
        try (RunCheckpoints checkpoints = RunCheckpoints.open(config, checkpointing, listener)) {
            Path resumeFrom = checkpoints.resumeFrom();
            int start = 0;
            if (resumeFrom != null) {
                start = Integer.parseInt(checkpoints.resumeMetadata().get(Checkpoint.STEP));
                data.seek(DataPosition.parse(checkpoints.resumeMetadata().get(DATA)));
            }
            int firstStep = start;
            List<Batch> feed = new ArrayList<>();
            List<Result<T>> results = launcher.run(config.ranks(), config.backend(), safeguards.collectiveTimeout(), (backend, comm) -> {
                requireDeviceMemory(backend, memory, config);
                List<StepStats> mine = new ArrayList<>();
                try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                    if (resumeFrom != null) {
                        trainer.loadCheckpoint(resumeFrom);
                    } else if (initial != null) {
                        trainer.initializeFrom(initial);
                    }
                    if (comm.rank() == 0) {
                        listener.started(firstStep, trainer.bufferBytes(), resumeFrom);
                    }
                    for (int step = firstStep; step < config.steps(); step++) {
                        Batch batch = batch(feed, step - firstStep, data, config.batch());
                        StepStats stats = trainer.step(step, batch.sequences, safeguards.onNonFinite());
                        if (comm.rank() == 0) {
                            listener.step(stats);
                        }
                        if (checkpoints.due(step + 1, config.steps())) {
                            int saved = step + 1;
                            trainer.withCheckpointState(state -> checkpoints.save(saved, state, backend,
                                    metadata(config, data, batch.after)));
                        }
                        if (evaluation != null && evaluation.due(step + 1, config.steps())) {
                            EvalStats e = evaluation.evaluator().evaluate(trainer, step);
                            if (comm.rank() == 0) {
                                listener.evaluated(e);
                            }
                        }
                        mine.add(stats);
                    }
                    T done = finish == null ? null : finish.run(trainer);
                    return new Result<>(mine, done);
                }
            });
            checkpoints.finish();
            return results.getFirst();
        }
    }

    /**
     * The memory {@code config} needs per rank; on the CPU backend (all ranks in this process)
     * refuses a run that does not fit the host's available memory, before anything is allocated.
     */
    public static MemoryEstimate requireMemory(TrainConfig config) {
        MemoryEstimate memory = MemoryEstimate.of(config);
        if (config.backend().equals(BackendChoice.CPU)) {
            OptionalLong available = HostMemory.available();
            if (available.isPresent()) {
                memory.requireAvailable(available.getAsLong(), config.ranks(), "host memory", shortly(config),
                        config.shardModelStates());
            }
        }
        return memory;
    }

    /** On a GPU, each rank checks its device's free memory before allocating anything. */
    private static void requireDeviceMemory(Backend backend, MemoryEstimate memory, TrainConfig config) {
        if (backend instanceof CudaCompute gpu) {
            gpu.context().makeCurrent();
            var info = gpu.context().memoryInfo();
            memory.requireAvailable(info.free(), 1, "memory of GPU " + gpu.context().ordinal(), shortly(config),
                    config.shardModelStates());
        }
    }

    /** "model base, 4194304-token sequences on 4 ranks": what decides the memory, for messages. */
    private static String shortly(TrainConfig c) {
        return "model " + c.model().name() + " with " + c.seqLen() + "-token sequences on " + c.ranks()
                + (c.ranks() == 1 ? " rank (" : " ranks (")
                + c.scheme().name() + (c.recompute() ? ", recompute" : "") + (c.shardModelStates() ? ", model states sharded" : "") + ")";
    }

    /** The batch of the {@code index}-th step of this run; the first rank to ask draws it from the source. */
    private static Batch batch(List<Batch> feed, int index, SequenceSource data, int size) {
        synchronized (feed) {
            while (feed.size() <= index) {
                List<TokenSequence> sequences = new ArrayList<>();
                for (int i = 0; i < size; i++) {
                    sequences.add(data.next());
                }
                feed.add(new Batch(sequences, data.position()));
            }
            Batch b = feed.get(index);
            if (index > 0) {
                feed.set(index - 1, null); // every rank has passed the previous step's all-reduce
            }
            return b;
        }
    }

    private static Map<String, String> metadata(TrainConfig config, SequenceSource data, DataPosition after) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(DATA, after.toString());
        m.put(SEED, Long.toString(config.seed()));
        m.put(MODEL, ConfigJson.write(config.model()));
        m.put(RUN, config.describe() + "; data " + data.describe());
        m.put(SEQ_LEN, Integer.toString(config.seqLen()));
        if (data.tokenizer() != null) {
            m.put(TOKENIZER, data.tokenizer());
        }
        return m;
    }
}
