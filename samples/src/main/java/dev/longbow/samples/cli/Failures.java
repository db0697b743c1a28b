package dev.longbow.samples.cli;

import dev.longbow.checkpoint.IoFailures;
import dev.longbow.comm.CollectiveTimeoutException;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.comm.nccl.NcclWatchdogException;
import dev.longbow.launch.RendezvousException;
import dev.longbow.train.TrainingStoppedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;

/**
 * How a command's failure reaches the user: one line with the message that names the value, the
 * limit and the fix, and an exit code. A mistake in the configuration or the inputs exits 2; a
 * run that stopped (divergence, a failed save, a rank or collective that never came) exits 1. Only
 * a failure that is none of these, a bug, shows its stack trace.
 */
final class Failures {
    static final int USER_ERROR = 2;
    static final int RUN_FAILED = 1;

    private Failures() {
    }

    static int report(Exception e, CommandLine command) throws Exception {
        Throwable cause = cause(e);
        int code;
        String message = cause.getMessage();
        if (cause instanceof TrainingStoppedException || cause instanceof CollectiveTimeoutException
                || cause instanceof NcclWatchdogException || cause instanceof RendezvousException) {
            code = RUN_FAILED;
        } else if (cause instanceof IllegalArgumentException || cause instanceof IllegalStateException) {
            code = USER_ERROR;
        } else if (cause instanceof IOException io) {
            code = USER_ERROR;
            message = IoFailures.reason(io);
        } else if (cause instanceof OutOfMemoryError oom) {
            code = USER_ERROR;
            message = "out of memory (" + oom.getMessage() + "); use a shorter --seq-len, --recompute, --shard-model-states or a smaller --model";
        } else {
            throw e;
        }
        command.getErr().println("longbow " + command.getCommandName() + ": " + message);
        return code;
    }

    /**
     * The failure that explains the others: through a rank's failure, a group aborted because of
     * it, and an I/O error wrapped to cross a lambda, to the exception that says what happened.
     */
    static Throwable cause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof RankFailedException || t instanceof GroupAbortedException
                || t instanceof UncheckedIOException || t instanceof CommandLine.ExecutionException || t.getMessage() == null)) {
            t = t.getCause();
        }
        return t;
    }
}
