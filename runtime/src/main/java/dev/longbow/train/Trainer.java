package dev.longbow.train;

import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.SafeTensors;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankLaunchers;
import dev.longbow.data.DataPosition;
import dev.longbow.data.SequenceSource;
import dev.longbow.data.TokenSequence;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs training on {@code ranks} ranks of a backend: every rank takes its shard of each step's
 * sequences, rank 0 reports each step and writes the checkpoints. Resuming loads the newest
 * checkpoint (verified before any rank starts) and moves the data to where it stood, so the
 * loss curve continues as if the run had never stopped.
 */
public final class Trainer {
    public static final String DATA = "longbow.data";
    public static final String SEED = "longbow.seed";
    public static final String MODEL = "longbow.model";
    public static final String RUN = "longbow.run";

    /**
     * @param checkpointDir where checkpoints go (null: none)
     * @param every         checkpoint every this many steps (and after the last)
     * @param keep          newest checkpoints kept
     * @param resume        continue from the newest checkpoint in {@code checkpointDir}, if any
     */
    public record Checkpointing(Path checkpointDir, int every, int keep, boolean resume) {
        public static final Checkpointing NONE = new Checkpointing(null, 0, 0, false);
    }

    /** Hears about the run on rank 0's thread. */
    public interface Listener {
        default void started(int firstStep, long bufferBytesPerRank, Path resumedFrom) {
        }

        void step(StepStats stats);

        default void checkpointed(Path file, int steps) {
        }
    }

    /** Work done on every rank once training ends (an evaluation); rank 0's result is returned. */
    @FunctionalInterface
    public interface Finish<T> {
        T run(RankTrainer trainer) throws Exception;
    }

    public record Result<T>(List<StepStats> steps, T finish) {
    }

    private record Batch(List<TokenSequence> sequences, DataPosition after) {
    }

    private Trainer() {
    }

    public static <T> Result<T> run(TrainConfig config, SequenceSource data, Checkpointing checkpointing,
                                    Listener listener, Finish<T> finish) {
        return run(config, RankLaunchers.forBackend(config.backend()), data, checkpointing, listener, finish);
    }

    /** As {@link #run(TrainConfig, SequenceSource, Checkpointing, Listener, Finish)}, on the ranks {@code launcher} starts. */
    public static <T> Result<T> run(TrainConfig config, RankLauncher launcher, SequenceSource data, Checkpointing checkpointing,
                                    Listener listener, Finish<T> finish) {
        config.validate();
        if (data.vocabSize() != config.model().vocab()) {
            throw new IllegalArgumentException("the data's tokenizer has " + data.vocabSize() + " tokens but the model's vocab is "
                    + config.model().vocab());
        }
        Path resumeFrom = resumePoint(config, checkpointing);
        int firstStep = 0;
        if (resumeFrom != null) {
            Map<String, String> meta = metadata(resumeFrom);
            firstStep = Integer.parseInt(meta.get(Checkpoint.STEP));
            data.seek(DataPosition.parse(meta.get(DATA)));
        }
        int start = firstStep;
        List<Batch> feed = new ArrayList<>();
        List<Result<T>> results = launcher.run(config.ranks(), config.backend(), (backend, comm) -> {
            List<StepStats> mine = new ArrayList<>();
            try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                if (resumeFrom != null) {
                    Checkpoint.load(resumeFrom, trainer.model().params(), trainer.optimizer(), backend);
                }
                if (comm.rank() == 0) {
                    listener.started(start, trainer.bufferBytes(), resumeFrom);
                }
                for (int step = start; step < config.steps(); step++) {
                    Batch batch = batch(feed, step - start, data, config.batch());
                    StepStats stats = trainer.step(step, batch.sequences);
                    if (comm.rank() == 0) {
                        listener.step(stats);
                        boolean last = step == config.steps() - 1;
                        if (checkpointing.checkpointDir() != null && ((step + 1) % checkpointing.every() == 0 || last)) {
                            Path file = Checkpoint.save(checkpointing.checkpointDir(), step + 1, trainer.model().params(),
                                    trainer.optimizer(), backend, metadata(config, data, batch.after), checkpointing.keep());
                            listener.checkpointed(file, step + 1);
                        }
                    }
                    mine.add(stats);
                }
                T done = finish == null ? null : finish.run(trainer);
                return new Result<>(mine, done);
            }
        });
        return results.getFirst();
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
        return m;
    }

    private static Path resumePoint(TrainConfig config, Checkpointing c) {
        if (!c.resume() || c.checkpointDir() == null) {
            return null;
        }
        try {
            Path latest = Checkpoint.latest(c.checkpointDir());
            if (latest == null) {
                return null;
            }
            Map<String, String> meta = metadata(latest);
            String model = ConfigJson.write(config.model());
            if (!model.equals(meta.get(MODEL))) {
                throw new IllegalArgumentException("checkpoint " + latest + " holds model " + meta.get(MODEL) + " but this run builds "
                        + model + "; resume with the same --model, or use another --checkpoint-dir");
            }
            if (!Long.toString(config.seed()).equals(meta.get(SEED))) {
                throw new IllegalArgumentException("checkpoint " + latest + " was trained with seed " + meta.get(SEED)
                        + " but this run has seed " + config.seed() + "; resume with --seed " + meta.get(SEED));
            }
            return latest;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The metadata of a fully verified checkpoint; a damaged one stops the run here, before any rank starts. */
    private static Map<String, String> metadata(Path file) {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.metadata();
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
