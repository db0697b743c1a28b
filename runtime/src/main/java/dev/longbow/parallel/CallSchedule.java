package dev.longbow.parallel;

import java.util.List;
import java.util.stream.Stream;

/**
 * What one rank does in one attention call of a scheme, as data: the steps of the forward and of
 * the backward pass in order, and the buffers the scheme allocates for them. It describes the
 * rank that finishes last (the one with the most transfers and the slowest kernels), so that
 * pricing its steps prices the call. A planner prices it on a machine; nothing here knows one.
 *
 * @param forward             the forward pass's steps
 * @param backward            the backward pass's steps
 * @param forwardDeviceBytes  the scheme's device buffers during forward, as its slabs declare them
 * @param backwardDeviceBytes the same during backward, with what forward saved for it
 * @param hostBytes           what the scheme keeps in host memory at its peak
 * @param workingTokens       tokens whose activations one attention kernel works on at once: the
 *                            rank's shard, or one chunk of it where the scheme chunks
 */
public record CallSchedule(List<Step> forward, List<Step> backward, long forwardDeviceBytes, long backwardDeviceBytes,
                           long hostBytes, long workingTokens) {

    /** Copies the step lists, so the schedule cannot change after it is made. */
    public CallSchedule {
        forward = List.copyOf(forward);
        backward = List.copyOf(backward);
    }

    /** Every kernel call of both passes, each once however often its step repeats: the shapes to measure or price. */
    public Stream<AttentionCall> calls() {
        return Stream.concat(forward.stream(), backward.stream()).flatMap(s -> s.kernels().stream()).distinct();
    }
}
