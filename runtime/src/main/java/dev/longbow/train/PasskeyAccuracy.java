package dev.longbow.train;

import dev.longbow.data.Shard;
import dev.longbow.data.TokenSequence;

import java.util.List;

/**
 * How often the model's most likely token is the right one at a task's target positions, summed
 * over the ranks: per target token, and per sequence (every target right, e.g. the whole key).
 */
public record PasskeyAccuracy(double tokenAccuracy, double sequenceAccuracy, int sequences) {

    /** Runs on every rank together (collective); every rank gets the same result. */
    public static PasskeyAccuracy measure(RankTrainer trainer, List<TokenSequence> heldOut) {
        long right = 0, total = 0, sequencesRight = 0;
        for (TokenSequence sequence : heldOut) {
            int[] predicted = trainer.predict(sequence);
            Shard shard = trainer.shard(sequence);
            int k = 0, wrong = 0;
            for (int target : shard.targets()) {
                if (target >= 0) {
                    wrong += predicted[k++] == target ? 0 : 1;
                }
            }
            double wrongEverywhere = trainer.sumOverRanks(wrong);
            right += Shard.countTargets(sequence.targets()) - Math.round(wrongEverywhere);
            total += Shard.countTargets(sequence.targets());
            sequencesRight += wrongEverywhere == 0 ? 1 : 0;
        }
        return new PasskeyAccuracy((double) right / total, (double) sequencesRight / heldOut.size(), heldOut.size());
    }
}
