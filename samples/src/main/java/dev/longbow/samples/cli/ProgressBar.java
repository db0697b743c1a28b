package dev.longbow.samples.cli;

import dev.longbow.train.StepStats;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * One line that redraws itself on a terminal ({@code \r}), or a plain line every few steps when
 * the output is a file: step, loss, tokens per second, memory and the time left. It is drawn as
 * soon as training starts, at step 0 (the first step can take long: the JIT compiles the kernels).
 * The rate and the time left are measured from the end of the warm-up step on, so that the first
 * step's compilation does not inflate the estimate; until then the bar says the ETA comes after
 * warm-up.
 */
final class ProgressBar {
    /** Steps left out of the rate: the first compiles the kernels and fills the allocators. */
    static final int WARMUP_STEPS = 1;
    private static final int WIDTH = 24;
    private final PrintStream out;
    private final boolean terminal;
    private final int steps;
    private final LongSupplier clock;
    private int firstStep = -1;
    private long warmNanos;
    private long tokens;
    private long warmTokens;

    ProgressBar(PrintStream out, boolean terminal, int steps) {
        this(out, terminal, steps, System::nanoTime);
    }

    /** With {@code clock} giving nanoseconds, as {@link System#nanoTime} does. */
    ProgressBar(PrintStream out, boolean terminal, int steps, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.steps = steps;
        this.clock = clock;
    }

    /** Training starts at {@code firstStep} (0, or where a resumed run continues): the bar before any step. */
    void start(int firstStep, long bufferBytes) {
        this.firstStep = firstStep;
        draw(firstStep, "loss -", "- tok/s", bufferBytes, "after warm-up", true);
    }

    void update(StepStats s, long bufferBytes) {
        if (firstStep < 0) {
            firstStep = s.step();
        }
        tokens += s.tokens();
        long now = clock.getAsLong();
        int done = s.step() + 1;
        int measured = done - firstStep - WARMUP_STEPS;
        if (measured <= 0) {
            warmNanos = now;
            warmTokens = tokens;
        }
        double seconds = (now - warmNanos) / 1e9;
        String rate = measured > 0 && seconds > 0 ? String.format("%,.0f tok/s", (tokens - warmTokens) / seconds) : "- tok/s";
        String eta = measured > 0 ? clock(seconds / measured * (steps - done)) : done == steps ? clock(0) : "after warm-up";
        draw(done, String.format("loss %.4f%s", s.loss(), s.skipped() ? " (update skipped)" : ""), rate, bufferBytes, eta,
                done == firstStep + 1);
    }

    private void draw(int done, String loss, String rate, long bufferBytes, String eta, boolean first) {
        long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        int filled = (int) ((long) WIDTH * done / steps);
        String line = String.format("[%s%s] %d/%d  %s  %s  mem %s  ETA %s", "#".repeat(filled), ".".repeat(WIDTH - filled), done,
                steps, loss, rate, bytes(bufferBytes + heap), eta);
        if (terminal) {
            out.print("\r" + line + "   ");
            if (done == steps) {
                out.println();
            }
        } else if (first || done == steps || done % Math.max(1, steps / 20) == 0) {
            out.println(line);
        }
        out.flush();
    }

    /** Another line is about to be printed: end the redrawn one first, so that it is not overwritten. */
    void interrupt() {
        if (terminal && firstStep >= 0) {
            out.println();
        }
    }

    static String bytes(long b) {
        return b >= 1L << 30 ? String.format("%.2f GiB", b / (double) (1L << 30)) : String.format("%.0f MiB", b / (double) (1L << 20));
    }

    static String clock(double seconds) {
        Duration d = Duration.ofSeconds(Math.round(seconds));
        return d.toHours() > 0 ? String.format("%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart())
                : String.format("%d:%02d", d.toMinutesPart(), d.toSecondsPart());
    }
}
