package dev.longbow.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A checkpoint folder as one run uses it. Before any work the run checks that it can write there
 * and that one checkpoint fits, locks its id (a second process running the same run in the same
 * folder is refused) and removes the partial files that interrupted writes left behind, its own
 * and those of runs that no process holds; other runs' checkpoints are never touched.
 */
public final class CheckpointFolder implements AutoCloseable {
    /** A file being written, {@code RUN-step-NNNNNNNN.safetensors.RANDOM.tmp}; older versions wrote {@code step-NNNNNNNN.safetensorsRANDOM.tmp}. */
    private static final Pattern PARTIAL = Pattern.compile("(?:(.+)-step-\\d{8}\\.safetensors\\..+|step-\\d{8}\\.safetensors\\d*)\\.tmp");
    private static final Pattern LEGACY = Pattern.compile("step-\\d{8}\\.safetensors");

    /**
     * What a folder holds.
     *
     * @param runs    each run's checkpoints, oldest first
     * @param partial files of interrupted writes
     * @param legacy  checkpoints of format 1, which this version cannot verify
     * @param other   how many other entries
     */
    public record Contents(Path dir, boolean exists, Map<String, List<Path>> runs, List<Path> partial, List<Path> legacy, int other) {

        /** One phrase: "nothing (the folder does not exist)", "checkpoints of run A (steps 10..30); 2 partial files ...". */
        public String describe() {
            if (!exists) {
                return "nothing (the folder does not exist)";
            }
            List<String> parts = new ArrayList<>();
            if (!runs.isEmpty()) {
                parts.add("checkpoints of " + (runs.size() == 1 ? "run " : runs.size() + " runs: ") + String.join(", ",
                        runs.entrySet().stream().map(e -> e.getKey() + " (" + steps(e.getValue()) + ")").toList()));
            }
            if (!partial.isEmpty()) {
                parts.add(partial.size() + " partial file" + (partial.size() == 1 ? "" : "s") + " of interrupted writes ("
                        + partial.getFirst().getFileName() + (partial.size() > 1 ? ", ..." : "") + ")");
            }
            if (!legacy.isEmpty()) {
                parts.add(legacy.size() + " checkpoint" + (legacy.size() == 1 ? "" : "s") + " of an older Longbow without run id "
                        + "or header checksum (" + legacy.getFirst().getFileName() + (legacy.size() > 1 ? ", ..." : "") + ")");
            }
            if (other > 0) {
                parts.add(other + " other file" + (other == 1 ? "" : "s"));
            }
            return parts.isEmpty() ? "nothing (the folder is empty)" : String.join("; ", parts);
        }

        private static String steps(List<Path> files) {
            int first = Checkpoint.stepOf(files.getFirst());
            int last = Checkpoint.stepOf(files.getLast());
            return first == last ? "step " + first : "steps " + first + ".." + last;
        }
    }

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<Path> removed;

    private CheckpointFolder(Path dir, FileChannel lockChannel, FileLock lock, List<Path> removed) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.removed = removed;
    }

    /** What {@code dir} holds; a missing folder holds nothing. */
    public static Contents scan(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new Contents(dir, false, Map.of(), List.of(), List.of(), 0);
        }
        Map<String, List<Path>> runs = new TreeMap<>();
        List<Path> partial = new ArrayList<>();
        List<Path> legacy = new ArrayList<>();
        int other = 0;
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.sorted().toList()) {
                String name = p.getFileName().toString();
                Matcher m = Checkpoint.FILE.matcher(name);
                if (m.matches()) {
                    runs.computeIfAbsent(m.group(1), r -> new ArrayList<>()).add(p);
                } else if (PARTIAL.matcher(name).matches()) {
                    partial.add(p);
                } else if (LEGACY.matcher(name).matches()) {
                    legacy.add(p);
                } else if (!name.startsWith(".")) {
                    other++;
                }
            }
        }
        runs.values().forEach(files -> files.sort(Comparator.comparingInt(Checkpoint::stepOf)));
        return new Contents(dir, true, runs, partial, legacy, other);
    }

    /**
     * Makes {@code dir} ready for run {@code run}: creates it, checks that a file can be written
     * there and that {@code checkpointBytes} fit, locks the run, and removes partial files of
     * runs no process holds. Every refusal is an {@link IllegalArgumentException} naming the
     * folder and the fix.
     */
    public static CheckpointFolder open(Path dir, String run, long checkpointBytes) {
        RunId.require(run);
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("checkpoint folder " + dir + " is a file, not a folder; choose another --checkpoint-dir");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create checkpoint folder " + dir + ": " + IoFailures.reason(e)
                    + "; choose a folder you can write, with --checkpoint-dir", e);
        }
        try {
            Path probe = Files.createTempFile(dir, ".longbow-write-test-", ".tmp");
            try {
                Files.write(probe, new byte[] {1});
            } finally {
                Files.deleteIfExists(probe);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write into checkpoint folder " + dir + ": " + IoFailures.reason(e)
                    + "; fix its permissions or choose another --checkpoint-dir", e);
        }
        requireSpace(dir, usableBytes(dir), checkpointBytes);
        Path lockFile = dir.resolve("." + run + ".lock");
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = tryLock(channel);
            if (lock == null) {
                throw new IllegalArgumentException("run " + run + " is already running in " + dir + " (another process holds "
                        + lockFile + "); wait for it to end, or start a new run with another --run-id");
            }
            return new CheckpointFolder(dir, channel, lock, removePartials(dir, run));
        } catch (IOException e) {
            closeQuietly(channel);
            throw new IllegalArgumentException("cannot lock run " + run + " in checkpoint folder " + dir + ": " + IoFailures.reason(e), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Refuses a folder with less than {@code needed} bytes free. */
    static void requireSpace(Path dir, long usable, long needed) {
        if (usable < needed) {
            throw new IllegalArgumentException("checkpoint folder " + dir + " has " + bytes(usable) + " free, but one checkpoint of "
                    + "this model needs " + bytes(needed) + "; free some space or choose another --checkpoint-dir");
        }
    }

    private static long usableBytes(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;   // a file system that cannot say: the first save will tell
        }
    }

    /** Partial files that no running process can still be writing: this run's, older versions', and those of runs whose lock is free. */
    private static List<Path> removePartials(Path dir, String run) throws IOException {
        List<Path> removed = new ArrayList<>();
        for (Path p : scan(dir).partial()) {
            Matcher m = PARTIAL.matcher(p.getFileName().toString());
            String owner = m.matches() ? m.group(1) : null;
            if (owner == null || owner.equals(run) || !running(dir, owner)) {
                Files.deleteIfExists(p);
                removed.add(p);
            }
        }
        return removed;
    }

    /** Whether a process (this one included) holds run {@code run}'s lock in {@code dir}. */
    private static boolean running(Path dir, String run) {
        Path lockFile = dir.resolve("." + run + ".lock");
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = tryLock(channel);
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (IOException e) {
            return true;   // cannot tell: leave its files alone
        }
    }

    private static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;   // held by this JVM
        }
    }

    /** The partial files removed when the folder was opened. */
    public List<Path> removed() {
        return removed;
    }

    /**
     * The folder.
     *
     * @return its path
     */
    public Path dir() {
        return dir;
    }

    /**
     * Releases the run's lock. The empty lock file stays: deleting it could let two processes
     * lock two different files of the same name.
     */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // the lock goes with the channel anyway
        }
        closeQuietly(lockChannel);
    }

    private static String bytes(long b) {
        return b >= 1L << 30 ? String.format("%.2f GiB", b / (double) (1L << 30))
                : b >= 1L << 20 ? String.format("%.1f MiB", b / (double) (1L << 20)) : b + " bytes";
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing left to release
            }
        }
    }
}
