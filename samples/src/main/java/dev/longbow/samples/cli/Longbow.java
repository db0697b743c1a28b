package dev.longbow.samples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code longbow} command: {@code longbow train}, {@code longbow sample}, {@code longbow plan}. */
@Command(name = "longbow", mixinStandardHelpOptions = true, version = "Longbow 0.1.0",
        description = "Long-sequence transformer training on the JVM.",
        subcommands = {TrainCommand.class, SampleCommand.class, PlanCommand.class, CommandLine.HelpCommand.class})
public final class Longbow {

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    /** The command line with its error handling: a configuration error exits 2 with one line naming the fix. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Longbow());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // Configuration the user can fix: one line naming the problem, no stack trace.
            if (e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
                commandLine.getErr().println("longbow " + commandLine.getCommandName() + ": " + rootMessage(e));
                return 2;
            }
            throw e;
        });
        return cli;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t.getMessage().startsWith("rank "))) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
