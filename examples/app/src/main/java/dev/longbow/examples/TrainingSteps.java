package dev.longbow.examples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.data.PasskeyTask;
import dev.longbow.data.Tokenizer;
import dev.longbow.model.ModelConfig;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.train.StepStats;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.Trainer;
import java.util.List;

/** Twelve training steps of a tiny Llama on passkey sequences of 256 tokens, split over 2 ranks with Ulysses. */
public final class TrainingSteps {
    public static void main(String[] args) {
        int ranks = 2;
        int seqLen = 256;
        Scheme scheme = new Ulysses();
        Tokenizer tokenizer = Tokenizer.open("r50k");
        TrainConfig config = TrainConfig.builder(ModelConfig.named("tiny", PasskeyTask.vocabSize(tokenizer)), scheme)
                .ranks(ranks).seqLen(seqLen).backend(BackendChoice.CPU).steps(12)
                .build();
        try (PasskeyTask data = new PasskeyTask(tokenizer, seqLen, 42, scheme.layout(), ranks, false)) {
            List<StepStats> steps = Trainer.run(config, data, Trainer.Checkpointing.NONE,
                    s -> System.out.printf("step %2d  loss %.4f%n", s.step(), s.loss()), null).steps();
            double first = steps.getFirst().loss();
            double last = steps.getLast().loss();
            if (!(last < first)) {
                throw new AssertionError("the loss did not fall: " + first + " -> " + last);
            }
        }
    }
}
