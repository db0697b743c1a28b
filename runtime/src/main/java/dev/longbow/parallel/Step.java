package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of a rank's attention call: kernel calls and transfers that start together and are
 * awaited together, {@code times} times in a row. The kernels run one after another on the
 * compute stream; the transfers are posted when the step starts, those on one link queue behind
 * each other and those on different links (the network, NVLink, the host link) run at once; the
 * step ends when the kernels and every transfer are done. A step without kernels is communication
 * that nothing hides; one without transfers is compute alone.
 *
 * @param kernels   the kernel calls, in the pass's direction (forward calls in a forward pass)
 * @param transfers the transfers in flight during the step
 * @param times     how often the step repeats, at least 1
 */
public record Step(List<AttentionCall> kernels, List<Transfer> transfers, int times) {

    /** Refuses a step that repeats fewer than once. */
    public Step {
        if (times < 1) {
            throw new IllegalArgumentException("a step repeats at least once, not " + times + " times");
        }
        kernels = List.copyOf(kernels);
        transfers = List.copyOf(transfers);
    }

    /** Kernels with transfers in flight under them, once. */
    static Step overlapped(List<AttentionCall> kernels, Transfer... transfers) {
        return new Step(kernels, List.of(transfers), 1);
    }

    /** Transfers that nothing hides, once. */
    static Step blocking(Transfer... transfers) {
        return new Step(List.of(), List.of(transfers), 1);
    }

    /** Kernels alone, once. */
    static Step compute(List<AttentionCall> kernels) {
        return new Step(kernels, List.of(), 1);
    }

    /** This step {@code n} times as often. */
    Step times(int n) {
        return new Step(kernels, transfers, times * n);
    }

    /** {@code call} issued {@code count} times, for a step's kernels. */
    static List<AttentionCall> repeat(AttentionCall call, int count) {
        List<AttentionCall> calls = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            calls.add(call);
        }
        return calls;
    }
}
