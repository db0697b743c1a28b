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
     * One pass: its time, the part of it spent waiting on communication that no compute hid, and
     * the bytes this rank sent.
     */
    record Phase(double seconds, double exposedSeconds, double bytesSent) {

        static Phase blocking(double computeSeconds, double commSeconds, double bytesSent) {
            return new Phase(computeSeconds + commSeconds, commSeconds, bytesSent);
        }

        /**
         * A ring of {@code steps}: the first block is local, each later step's transfer was posted
         * before the previous block's compute and overlaps it.
         */
        static Phase ring(int steps, double computePerStep, double commPerStep, double bytesPerStep) {
            double waits = (steps - 1) * Math.max(0, commPerStep - computePerStep);
            return new Phase(steps * computePerStep + waits, waits, (steps - 1) * bytesPerStep);
        }

        Phase then(Phase next) {
            return new Phase(seconds + next.seconds, exposedSeconds + next.exposedSeconds, bytesSent + next.bytesSent);
        }
    }
}
