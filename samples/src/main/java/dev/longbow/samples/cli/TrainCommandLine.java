package dev.longbow.samples.cli;

import dev.longbow.model.ModelConfig;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.Run;
import dev.longbow.samples.SchemeOptions;

/**
 * The {@code longbow train} command that runs a plan's answer: the scheme with every setting
 * spelled out, the ranks, the sequence, the batch, recomputation, sharded model states and precision on the cluster's
 * backend. {@code longbow train} builds its own presets by name ({@code tiny} ... {@code large});
 * any other model comes from a Hugging Face folder ({@code --init-from}), written as
 * {@link #MODEL_DIR} for the user to fill in. {@code PlanCommandTest} parses what this prints
 * with the real train command and checks it describes the same run.
 */
final class TrainCommandLine {
    /** Where the command expects a Hugging Face folder (config.json and the weights) of a model train has no preset for. */
    static final String MODEL_DIR = "MODEL_DIR";

    private TrainCommandLine() {
    }

    /** The command line, from {@code samples/longbow} on. */
    static String of(Run run, ModelShape model, String backend) {
        return "samples/longbow train " + SchemeOptions.arguments(run.scheme()) + " --ranks " + run.sequenceParallel() + " --seq-len "
                + run.seqLen() + " --batch " + run.batch() + (run.recompute() ? " --recompute" : "")
                + (run.shardModelStates() ? " --shard-model-states" : "") + " --backend " + backend
                + " --precision " + run.precision().label() + " " + modelArguments(model);
    }

    /** Whether the command names the model itself, or needs {@link #MODEL_DIR} filled in. */
    static boolean needsModelDir(ModelShape model) {
        for (String preset : ModelConfig.names()) {
            if (preset.equals(model.name())) {
                return false;
            }
        }
        return true;
    }

    private static String modelArguments(ModelShape model) {
        return needsModelDir(model) ? "--init-from " + MODEL_DIR : "--model " + model.name();
    }
}
