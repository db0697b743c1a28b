package dev.longbow.plan;

/**
 * What one attention layer costs one rank under a scheme.
 *
 * @param forwardDeviceBytes  the scheme's buffers on the GPU during forward, as its slabs declare them
 * @param backwardDeviceBytes the same during backward, with what forward saved for it
 * @param hostBytes           what the scheme keeps in host memory at its peak (backward's)
 * @param workingTokens       tokens whose block activations are live at once (the whole shard, or
 *                            one FPDT chunk of it)
 */
record AttentionCost(Phase forward, Phase backward, double forwardDeviceBytes, double backwardDeviceBytes, double hostBytes,
                     double workingTokens) {

    /** The scheme's buffers on the GPU at their peak. */
    double deviceBytes() {
        return Math.max(forwardDeviceBytes, backwardDeviceBytes);
    }

    /**
     * One pass: its time, the part of it spent waiting on communication that no compute hid, the
     * bytes this rank sent, and how long its transfers kept the links busy (inter-node and
     * NVLink), which other traffic on those links (ZeRO-3's) cannot use meanwhile.
     */
    record Phase(double seconds, double exposedSeconds, double bytesSent, double networkSeconds, double nvlinkSeconds) {

        /** Compute, and transfers that nothing overlaps, over the network or NVLink. */
        static Phase blocking(double computeSeconds, double commSeconds, double bytesSent, boolean onNetwork) {
            return new Phase(computeSeconds + commSeconds, commSeconds, bytesSent, onNetwork ? commSeconds : 0, onNetwork ? 0 : commSeconds);
        }

        /**
         * Compute with transfers in flight that were posted before it and are awaited after it:
         * the slower of the two.
         */
        static Phase overlapped(double computeSeconds, double commSeconds, double bytesSent, boolean onNetwork) {
            double waits = Math.max(0, commSeconds - computeSeconds);
            return new Phase(computeSeconds + waits, waits, bytesSent, onNetwork ? commSeconds : 0, onNetwork ? 0 : commSeconds);
        }

        /**
         * A ring of {@code steps}: the first block is local (it computes {@code firstCompute}, the
         * others {@code computePerStep}), each later step's transfer was posted before the previous
         * block's compute and overlaps it.
         */
        static Phase ring(int steps, double firstCompute, double computePerStep, double commPerStep, double bytesPerStep, boolean onNetwork) {
            if (steps == 1) {
                return local(firstCompute, 0);
            }
            return overlapped(firstCompute, commPerStep, bytesPerStep, onNetwork)
                    .then(overlapped(computePerStep, commPerStep, bytesPerStep, onNetwork).times(steps - 2))
                    .then(local(computePerStep, 0));
        }

        /**
         * A backward ring of {@code steps} whose blocks carry a gradient sum behind them: as
         * {@link #ring} (the first step computing {@code firstCompute}), and each step's sum, sent
         * once the step has computed its block and added the sum that arrived, travels while the
         * next step computes, on the same communication stream as that step's block. The last
         * sum's trip, which nothing overlaps, is the caller's; adding the sum that arrived (one
         * pass over the block's gradient) is not priced.
         */
        static Phase trailingRing(int steps, double firstCompute, double computePerStep, double blockComm, double blockBytes,
                                  double sumComm, double sumBytes, boolean onNetwork) {
            if (steps == 1) {
                return local(firstCompute, 0);
            }
            return overlapped(firstCompute, blockComm, blockBytes, onNetwork)
                    .then(overlapped(computePerStep, blockComm + sumComm, blockBytes + sumBytes, onNetwork).times(steps - 2))
                    .then(overlapped(computePerStep, sumComm, sumBytes, onNetwork));
        }

        /** Work that moves nothing over the links (FPDT's host copies ride PCIe). */
        static Phase local(double seconds, double exposedSeconds) {
            return new Phase(seconds, exposedSeconds, 0, 0, 0);
        }

        /** Compute with host copies queued before it and awaited after it: the slower of the two. */
        static Phase hidingCopies(double computeSeconds, double copySeconds) {
            double waits = Math.max(0, copySeconds - computeSeconds);
            return local(computeSeconds + waits, waits);
        }

        Phase times(int n) {
            return new Phase(n * seconds, n * exposedSeconds, n * bytesSent, n * networkSeconds, n * nvlinkSeconds);
        }

        Phase then(Phase next) {
            return new Phase(seconds + next.seconds, exposedSeconds + next.exposedSeconds, bytesSent + next.bytesSent,
                    networkSeconds + next.networkSeconds, nvlinkSeconds + next.nvlinkSeconds);
        }
    }
}
