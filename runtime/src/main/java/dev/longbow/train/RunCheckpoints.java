package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.CheckpointFolder;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.CorruptCheckpointException;
import dev.longbow.checkpoint.IoFailures;
import dev.longbow.checkpoint.NonFiniteCheckpointException;
import dev.longbow.checkpoint.RunId;
import dev.longbow.checkpoint.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One run's checkpoints: which run this is, where it resumes from, its locked folder, and its
 * saves under the run's failure policy. Everything that can be refused is refused when it is
 * opened, before any rank starts: a resume that finds nothing of the run, several runs to choose
 * from, another run's id taken, a damaged newest checkpoint, a folder that cannot be written.
 */
final class RunCheckpoints implements AutoCloseable {
    private final Trainer.Checkpointing c;
    private final String runId;
    private final Path resumeFrom;
    private final Map<String, String> resumeMetadata;
    private final CheckpointFolder folder;
    private final Trainer.Listener listener;
    private Path newest;
    private String failedSave;

    private RunCheckpoints(Trainer.Checkpointing c, String runId, Path resumeFrom, Map<String, String> resumeMetadata,
                           CheckpointFolder folder, Trainer.Listener listener) {
        this.c = c;
        this.runId = runId;
        this.resumeFrom = resumeFrom;
        this.resumeMetadata = resumeMetadata;
        this.folder = folder;
        this.listener = listener;
        this.newest = resumeFrom;
    }

    /** A run without checkpoints. */
    static RunCheckpoints none() {
        return new RunCheckpoints(Trainer.Checkpointing.NONE, null, null, null, null, null);
    }

    static RunCheckpoints open(TrainConfig config, Trainer.Checkpointing c, Trainer.Listener listener) {
        if (c.checkpointDir() == null) {
            if (c.resume()) {
                throw new IllegalArgumentException("--resume needs --checkpoint-dir, the folder holding the checkpoints");
            }
            return none();
        }
        Path dir = c.checkpointDir();
        CheckpointFolder.Contents found;
        try {
            found = CheckpointFolder.scan(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read checkpoint folder " + dir + ": " + IoFailures.reason(e), e);
        }
        String run;
        Path resumeFrom = null;
        Map<String, String> meta = null;
        if (c.resume()) {
            run = c.runId() != null ? c.runId() : onlyRun(found);
            List<Path> mine = found.runs().get(run);
            if (mine == null) {
                throw new IllegalArgumentException("--resume: " + dir + " holds no checkpoint of run " + run + "; it holds "
                        + found.describe());
            }
            resumeFrom = mine.getLast();
            meta = verified(config, resumeFrom, run);
        } else {
            run = c.runId() != null ? c.runId() : RunId.fresh();
            if (found.runs().containsKey(run)) {
                throw new IllegalArgumentException("run " + run + " already has checkpoints in " + dir + " ("
                        + found.runs().get(run).size() + " of them); pass --resume to continue it, or choose another --run-id");
            }
        }
        CheckpointFolder folder = CheckpointFolder.open(dir, run, checkpointBytes(config));
        listener.notice("run " + run + ": checkpoints " + dir.resolve(run + "-step-*.safetensors"));
        if (!folder.removed().isEmpty()) {
            listener.notice("removed " + folder.removed().size() + " partial checkpoint file" + (folder.removed().size() == 1 ? "" : "s")
                    + " left by interrupted writes: " + folder.removed().stream().map(p -> p.getFileName().toString()).toList());
        }
        List<String> others = found.runs().keySet().stream().filter(r -> !r.equals(run)).toList();
        if (!others.isEmpty()) {
            listener.notice(dir + " also holds checkpoints of " + others + "; this run leaves them alone");
        }
        return new RunCheckpoints(c, run, resumeFrom, meta, folder, listener);
    }

    /** The one run a resume without --run-id can mean. */
    private static String onlyRun(CheckpointFolder.Contents found) {
        if (found.runs().size() == 1) {
            return found.runs().keySet().iterator().next();
        }
        if (found.runs().isEmpty()) {
            throw new IllegalArgumentException("--resume: " + found.dir() + " holds no checkpoint to resume; it holds "
                    + found.describe() + ". Check --checkpoint-dir, or start without --resume");
        }
        throw new IllegalArgumentException("--resume: " + found.dir() + " holds " + found.describe()
                + "; pass --run-id with the run to continue");
    }

    /**
     * The metadata of a fully verified checkpoint of run {@code run} made with this model and
     * seed; anything else stops the run here, before any rank starts.
     */
    private static Map<String, String> verified(TrainConfig config, Path file, String run) {
        Map<String, String> meta;
        try (SafeTensors st = SafeTensors.open(file)) {
            meta = st.metadata();
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        if (!run.equals(meta.get(Checkpoint.RUN_ID))) {
            throw new IllegalStateException(new CorruptCheckpointException(file, "its name says run " + run
                    + " but its header says run " + meta.get(Checkpoint.RUN_ID) + " (renamed?)").getMessage());
        }
        String model = ConfigJson.write(config.model());
        if (!model.equals(meta.get(Trainer.MODEL))) {
            throw new IllegalArgumentException("checkpoint " + file + " holds model " + meta.get(Trainer.MODEL) + " but this run builds "
                    + model + "; resume with the same --model, or use another --checkpoint-dir");
        }
        if (!Long.toString(config.seed()).equals(meta.get(Trainer.SEED))) {
            throw new IllegalArgumentException("checkpoint " + file + " was trained with seed " + meta.get(Trainer.SEED)
                    + " but this run has seed " + config.seed() + "; resume with --seed " + meta.get(Trainer.SEED));
        }
        return meta;
    }

    /** One checkpoint's size: three tensors per parameter (parameter, two moments) and a generous header. */
    private static long checkpointBytes(TrainConfig config) {
        return 3 * 4L * config.model().parameterCount() + (1L << 20);
    }

    String runId() {
        return runId;
    }

    /** The checkpoint to resume from, or null for a fresh start. */
    Path resumeFrom() {
        return resumeFrom;
    }

    Map<String, String> resumeMetadata() {
        return resumeMetadata;
    }

    /** Whether a checkpoint is due after {@code steps} completed steps of a run of {@code total}. */
    boolean due(int steps, int total) {
        return folder != null && (steps % c.every() == 0 || steps == total);
    }

    /**
     * Writes the state after {@code steps} completed steps (rank 0). A state with NaN or infinity
     * stops the run and nothing is written; a failed write stops the run or, with
     * {@link OnSaveFailure#CONTINUE}, is reported and the next save tries again. Either way the
     * training state in memory and the checkpoints on disk stay as they were.
     */
    void save(int steps, Checkpoint.State state, Backend backend, Map<String, String> metadata) {
        Path dir = folder.dir();
        try {
            Path file = Checkpoint.save(dir, runId, steps, state, backend, metadata, c.keep());
            newest = file;
            failedSave = null;
            listener.checkpointed(file, steps);
        } catch (NonFiniteCheckpointException e) {
            throw new TrainingStoppedException("after step " + (steps - 1) + " the training state is not finite: " + e.getMessage()
                    + "; newest checkpoint: " + describe(newest) + ". Resume from it with a lower --lr or a longer --warmup", e);
        } catch (IOException | UncheckedIOException e) {
            IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            String what = "could not write the checkpoint of step " + steps + " to " + dir + ": " + IoFailures.reason(io);
            if (c.onSaveFailure() == OnSaveFailure.STOP) {
                throw new TrainingStoppedException(what + ". The run stopped with its checkpoints as they were (newest: "
                        + describe(newest) + "); free space or fix the folder and run again with --resume, or pass "
                        + "--on-save-error continue to keep training and retry at the next save", e);
            }
            failedSave = what;
            listener.notice(what + "; training goes on and the next save tries again (newest checkpoint: " + describe(newest) + ")");
        }
    }

    /** After the last step: a run whose last save failed has not kept its final state, and says so. */
    void finish() {
        if (failedSave != null) {
            throw new TrainingStoppedException("training finished, but " + failedSave + "; the final state was not kept (newest "
                    + "checkpoint: " + describe(newest) + ")");
        }
    }

    private static String describe(Path file) {
        return file == null ? "none" : file.toString();
    }

    @Override
    public void close() {
        if (folder != null) {
            folder.close();
        }
    }
}
