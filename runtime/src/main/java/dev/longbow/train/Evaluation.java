package dev.longbow.train;

/**
 * Evaluation during training: every {@code every} steps and after the last, every rank runs
 * {@code evaluator} (a forward over held-out data, a collective) and rank 0 reports the result.
 */
public record Evaluation(int every, Evaluator evaluator) {

    /** Measures the model as it stands after {@code step} steps; called on every rank together. */
    @FunctionalInterface
    public interface Evaluator {
        /**
         * Evaluates the model on this rank.
         *
         * @param trainer this rank's trainer
         * @param step    the steps done
         * @return the result (rank 0's is reported)
         * @throws Exception anything: it stops the run
         */
        EvalStats evaluate(RankTrainer trainer, int step) throws Exception;
    }

    /** Refuses an interval below 1. */
    public Evaluation {
        if (every < 1) {
            throw new IllegalArgumentException("evaluation every " + every + " steps: it must be at least 1 (e.g. --eval-every 50)");
        }
    }

    /** Whether to evaluate once {@code done} of {@code steps} steps have completed. */
    public boolean due(int done, int steps) {
        return done % every == 0 || done == steps;
    }
}
