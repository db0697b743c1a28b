package dev.longbow.launch;

import java.util.ArrayList;
import java.util.List;

/**
 * Slurm's compressed host lists ({@code SLURM_JOB_NODELIST}): {@code gpu[01-03,07],login2,r[1-2]n[5-6]}.
 * Commas outside brackets separate entries; a bracket holds comma-separated numbers and inclusive
 * ranges whose zero padding is kept ({@code [08-10]} gives 08, 09, 10).
 */
public final class SlurmNodeList {
    private SlurmNodeList() {
    }

    /** The first host of {@code nodeList}: where Slurm jobs conventionally put the master. */
    public static String firstHost(String nodeList) {
        return expand(firstEntry(nodeList)).getFirst();
    }

    /** Every host of {@code nodeList}, in order. */
    public static List<String> hosts(String nodeList) {
        List<String> hosts = new ArrayList<>();
        for (String entry : topLevelEntries(nodeList)) {
            hosts.addAll(expand(entry));
        }
        return hosts;
    }

    private static String firstEntry(String nodeList) {
        return topLevelEntries(nodeList).getFirst();
    }

    private static List<String> topLevelEntries(String nodeList) {
        if (nodeList == null || nodeList.isBlank()) {
            throw new IllegalArgumentException("empty Slurm node list");
        }
        List<String> entries = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < nodeList.length(); i++) {
            char c = nodeList.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            }
            if (depth < 0 || depth > 1) {
                throw malformed(nodeList, "unbalanced brackets at index " + i);
            }
            if (c == ',' && depth == 0) {
                entries.add(nonEmpty(nodeList, nodeList.substring(start, i)));
                start = i + 1;
            }
        }
        if (depth != 0) {
            throw malformed(nodeList, "a '[' is never closed");
        }
        entries.add(nonEmpty(nodeList, nodeList.substring(start)));
        return entries;
    }

    /** One entry, possibly with several bracket groups: the cartesian product, leftmost group slowest. */
    private static List<String> expand(String entry) {
        int open = entry.indexOf('[');
        if (open < 0) {
            return List.of(entry);
        }
        int close = entry.indexOf(']', open);
        String prefix = entry.substring(0, open);
        List<String> tails = expand(entry.substring(close + 1));
        List<String> hosts = new ArrayList<>();
        for (String part : entry.substring(open + 1, close).split(",", -1)) {
            for (String number : range(entry, part)) {
                for (String tail : tails) {
                    hosts.add(prefix + number + tail);
                }
            }
        }
        return hosts;
    }

    private static List<String> range(String entry, String part) {
        String[] bounds = part.split("-", -1);
        if (bounds.length > 2 || !bounds[0].matches("\\d+") || (bounds.length == 2 && !bounds[1].matches("\\d+"))) {
            throw malformed(entry, "'" + part + "' is neither a number nor a range a-b");
        }
        if (bounds.length == 1) {
            return List.of(part);
        }
        long from = Long.parseLong(bounds[0]);
        long to = Long.parseLong(bounds[1]);
        if (to < from) {
            throw malformed(entry, "range " + part + " runs backwards");
        }
        int width = bounds[0].length();
        List<String> numbers = new ArrayList<>();
        for (long n = from; n <= to; n++) {
            numbers.add(String.format("%0" + width + "d", n));
        }
        return numbers;
    }

    private static String nonEmpty(String nodeList, String entry) {
        if (entry.isEmpty()) {
            throw malformed(nodeList, "an empty entry");
        }
        return entry;
    }

    private static IllegalArgumentException malformed(String nodeList, String why) {
        return new IllegalArgumentException("malformed Slurm node list '" + nodeList + "': " + why);
    }
}
