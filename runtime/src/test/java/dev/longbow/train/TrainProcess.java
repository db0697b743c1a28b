package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;

import java.nio.file.Path;

/**
 * A training run in its own JVM, for the test that kills one: prints "step N LOSS" and
 * "checkpoint N" lines as they happen, checkpointing every 3 steps. Arguments: checkpoint folder,
 * "resume" or "fresh".
 */
public final class TrainProcess {
    static final ModelConfig MODEL = new ModelConfig("kill", 31, 16, 2, 4, 2, 4, 24, 10000f, 1e-5f, true);
    static final int STEPS = 24;

    static TrainConfig config() {
        return new TrainConfig(MODEL, new Ring(), 2, 16, BackendChoice.CPU, STEPS, 2,
                OptimizerConfig.defaults(3e-3f, 2), 99, false, 8, Precision.F32, false);
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        boolean resume = args[1].equals("resume");
        Trainer.run(config(), new RandomSequences(MODEL.vocab(), 16, 7), new Trainer.Checkpointing(dir, 3, 100, resume),
                new Trainer.Listener() {
                    @Override
                    public void step(StepStats s) {
                        System.out.println("step " + s.step() + " " + s.loss());
                        System.out.flush();
                        pause(); // steps of a real model take a while: leave the killer time to strike mid-run
                    }

                    @Override
                    public void checkpointed(Path file, int steps) {
                        System.out.println("checkpoint " + steps);
                        System.out.flush();
                    }
                }, null);
    }

    private static void pause() {
        try {
            Thread.sleep(40);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
