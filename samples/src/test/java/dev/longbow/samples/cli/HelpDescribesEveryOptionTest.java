package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/** Every option and parameter of every subcommand has a description, and {@code --help} prints it. */
class HelpDescribesEveryOptionTest {

    @Test
    void everyOptionOfEverySubcommandIsDescribedInItsHelp() {
        CommandLine root = Longbow.commandLine();
        List<String> undescribed = new ArrayList<>();
        int checked = 0;
        for (CommandLine command : commands(root)) {
            String help = command.getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
            List<ArgSpec> args = new ArrayList<>(command.getCommandSpec().options());
            args.addAll(command.getCommandSpec().positionalParameters());
            for (ArgSpec arg : args) {
                String name = command.getCommandName() + " " + (arg instanceof OptionSpec o ? o.longestName() : arg.paramLabel());
                String description = String.join(" ", arg.description()).strip();
                checked++;
                if (description.isEmpty()) {
                    undescribed.add(name + " (no description)");
                } else if (!help.contains(firstWords(command, arg))) {
                    undescribed.add(name + " (its description is not in --help)");
                }
            }
        }
        assertTrue(checked > 60, "checked only " + checked + " options");
        assertEquals(List.of(), undescribed);
    }

    /** The start of the description as --help renders it (default values substituted). */
    private static String firstWords(CommandLine command, ArgSpec arg) {
        String rendered = String.join(" ", arg.renderedDescription()).replaceAll("\\s+", " ").strip();
        return rendered.substring(0, Math.min(30, rendered.length()));
    }

    private static List<CommandLine> commands(CommandLine root) {
        List<CommandLine> all = new ArrayList<>(List.of(root));
        for (CommandLine sub : root.getSubcommands().values()) {
            if (!sub.getCommandName().equals("help")) {
                all.addAll(commands(sub));
            }
        }
        return all;
    }
}
