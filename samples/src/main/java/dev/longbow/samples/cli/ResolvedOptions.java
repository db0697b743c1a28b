package dev.longbow.samples.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every option of a command with the value it ran with, given or default, under its long name
 * without dashes: the resolved configuration a run folder keeps, so a run can be repeated.
 */
final class ResolvedOptions {
    private ResolvedOptions() {
    }

    static Map<String, Object> of(CommandSpec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            if (o.usageHelp() || o.versionHelp()) {
                continue;
            }
            Object v = o.getValue();
            m.put(o.longestName().replaceFirst("^-+", ""), v instanceof Number || v instanceof Boolean || v == null ? v
                    : v instanceof Path p ? p.toString() : String.valueOf(v));
        }
        return m;
    }
}
