package dev.longbow.parallel;

import dev.longbow.comm.Traffic;

/**
 * What one scheme call cost on one rank.
 *
 * @param traffic        bytes sent and received
 * @param peakBufferBytes the largest amount of scheme-owned buffer memory (device and pinned host
 *                        together, excluding the caller's inputs and outputs) alive at once
 * @param hostBufferBytes the host (offload) part of that peak
 */
public record CallStats(Traffic traffic, long peakBufferBytes, long hostBufferBytes) {
}
