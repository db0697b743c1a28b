package dev.longbow.samples.cli;

import dev.longbow.train.StepStats;

import java.io.PrintStream;
import java.time.Duration;

/**
 * One line that redraws itself on a terminal ({@code \r}), or a plain line every few steps when
 * the output is a file: step, loss, tokens per second, memory and the time left.
 */
final class ProgressBar {
    private static final int WIDTH = 24;
    private final PrintStream out;
    private final boolean terminal;
    private final int steps;
    private final long startNanos = System.nanoTime();
    private int firstStep = -1;
    private long tokens;

    ProgressBar(PrintStream out, boolean terminal, int steps) {
        this.out = out;
        this.terminal = terminal;
        this.steps = steps;
    }

    void update(StepStats s, long bufferBytes) {
        if (firstStep < 0) {
            firstStep = s.step();
        }
        tokens += s.tokens();
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        int done = s.step() + 1;
        double perStep = seconds / (done - firstStep);
        long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        int filled = (int) ((long) WIDTH * done / steps);
        String line = String.format("[%s%s] %d/%d  loss %.4f%s  %,.0f tok/s  mem %s  ETA %s",
                "#".repeat(filled), ".".repeat(WIDTH - filled), done, steps, s.loss(), s.skipped() ? " (update skipped)" : "",
                tokens / seconds, bytes(bufferBytes + heap), clock(perStep * (steps - done)));
        if (terminal) {
            out.print("\r" + line + "   ");
            if (done == steps) {
                out.println();
            }
        } else if (done == steps || done % Math.max(1, steps / 20) == 0 || done == firstStep + 1) {
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
