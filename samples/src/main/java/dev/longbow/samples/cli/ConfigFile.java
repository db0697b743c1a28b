package dev.longbow.samples.cli;

import dev.longbow.checkpoint.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * A {@code --config} file: a JSON object of options by their long names without dashes
 * ({@code {"scheme": "ring", "ranks": 2}}), or a run folder's {@code run-config.json}, whose
 * {@code "options"} are every option a run resolved, so that {@code --config run-config.json}
 * repeats that run. Options given on the command line win over the file's.
 */
final class ConfigFile {
    /** Options a file does not set: the file itself, and the run folder (a repeated run gets a new one unless given). */
    private static final Set<String> NOT_FROM_FILE = Set.of("config", "run-dir");

    private ConfigFile() {
    }

    /**
     * The command line that runs {@code command} with {@code file}'s options: each option of the file
     * that the command line did not give, then the command line's own arguments without {@code --config}.
     */
    static List<String> arguments(Path file, CommandSpec command, ParseResult given) {
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, Object> e : options(file).entrySet()) {
            if (NOT_FROM_FILE.contains(e.getKey()) || e.getValue() == null) {
                continue;
            }
            OptionSpec option = command.findOption("--" + e.getKey());
            if (option == null) {
                throw new IllegalArgumentException("--config " + file + ": '" + e.getKey() + "' is not an option of longbow "
                        + command.name() + " ('longbow " + command.name() + " --help' lists them)");
            }
            if (given.hasMatchedOption(option)) {
                continue;
            }
            if (option.arity().max() == 0) {
                if (!(e.getValue() instanceof Boolean b)) {
                    throw new IllegalArgumentException("--config " + file + ": '" + e.getKey() + "' is a switch: true or false, not "
                            + e.getValue());
                }
                if (b) {
                    args.add(option.longestName());
                }
            } else {
                args.add(option.longestName() + "=" + e.getValue());
            }
        }
        List<String> original = given.originalArgs();
        int at = original.indexOf(command.name());
        List<String> own = original.subList(at + 1, original.size());
        for (int i = 0; i < own.size(); i++) {
            String arg = own.get(i);
            if (arg.equals("--config")) {
                i++;
            } else if (!arg.startsWith("--config=")) {
                args.add(arg);
            }
        }
        return args;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> options(Path file) {
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("--config " + file + ": cannot read it (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--config " + file + ": not JSON (" + e.getMessage() + ")");
        }
        if (!(parsed instanceof Map<?, ?> top)) {
            throw new IllegalArgumentException("--config " + file + ": needs a JSON object of options, like {\"ranks\": 2}");
        }
        Object options = top.get("options");
        return (Map<String, Object>) (options instanceof Map<?, ?> m && top.containsKey("run") ? m : top);
    }
}
