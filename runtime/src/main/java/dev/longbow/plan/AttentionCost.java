package dev.longbow.plan;

/**
 * What one attention layer costs one rank under a scheme.
 *
 * @param deviceBytes the scheme's buffers on the GPU at their peak
 * @param hostBytes   what the scheme keeps in host memory
 * @param workingTokens tokens whose block activations are live at once (the whole shard, or one
 *                    FPDT chunk of it)
 */
record AttentionCost(Phase forward, Phase backward, double deviceBytes, double hostBytes, double workingTokens) {

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
         * A ring of {@code steps}: the first block is local, each later step's transfer was posted
         * before the previous block's compute and overlaps it.
         */
        static Phase ring(int steps, double computePerStep, double commPerStep, double bytesPerStep, boolean onNetwork) {
            double waits = (steps - 1) * Math.max(0, commPerStep - computePerStep);
            double busy = (steps - 1) * commPerStep;
            return new Phase(steps * computePerStep + waits, waits, (steps - 1) * bytesPerStep, onNetwork ? busy : 0, onNetwork ? 0 : busy);
        }

        /** Work that moves nothing over the links (FPDT's host copies ride PCIe). */
        static Phase local(double seconds, double exposedSeconds) {
            return new Phase(seconds, exposedSeconds, 0, 0, 0);
        }

        Phase then(Phase next) {
            return new Phase(seconds + next.seconds, exposedSeconds + next.exposedSeconds, bytesSent + next.bytesSent,
                    networkSeconds + next.networkSeconds, nvlinkSeconds + next.nvlinkSeconds);
        }
    }
}
