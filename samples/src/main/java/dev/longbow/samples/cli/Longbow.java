package dev.longbow.samples.cli;

import dev.longbow.samples.SampleCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code longbow} command: {@code train}, {@code sample}, {@code plan}, {@code export-hf}, {@code generate}. */
@Command(name = "longbow", mixinStandardHelpOptions = true, version = "Longbow 0.1.0",
        description = "Long-sequence transformer training on the JVM.",
        subcommands = {TrainCommand.class, SampleCommand.class, PlanCommand.class, ExportHfCommand.class, GenerateCommand.class,
                CommandLine.HelpCommand.class})
public final class Longbow {

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with its error handling: a mistake in the command line or the
     * configuration exits 2, a run that fails exits 1, each with one or two lines naming the value,
     * the limit and the fix, never a stack trace ({@link Failures}).
     */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Longbow());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.registerConverter(Integer.class, Longbow::integer);
        cli.registerConverter(Integer.TYPE, Longbow::integer);
        cli.registerConverter(Long.class, Longbow::longInteger);
        cli.registerConverter(Long.TYPE, Longbow::longInteger);
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine command = e.getCommandLine();
            command.getErr().println("longbow " + command.getCommandName() + ": " + e.getMessage());
            command.getErr().println("  'longbow " + command.getCommandName() + " --help' lists the options and their values");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, command, parseResult) -> Failures.report(e, command));
        return cli;
    }

    private static Integer integer(String value) {
        try {
            return Integer.valueOf(value.trim());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number from " + Integer.MIN_VALUE
                    + " to " + Integer.MAX_VALUE);
        }
    }

    private static Long longInteger(String value) {
        try {
            return Long.valueOf(value.trim());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number from " + Long.MIN_VALUE
                    + " to " + Long.MAX_VALUE);
        }
    }
}
