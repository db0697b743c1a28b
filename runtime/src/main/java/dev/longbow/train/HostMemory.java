package dev.longbow.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Host memory this process can still use: the kernel's {@code MemAvailable} (free memory plus the
 * caches it can drop), capped by the container's cgroup limit where one is set. Empty where the
 * system says neither (not Linux).
 */
final class HostMemory {
    private static final Path MEMINFO = Path.of("/proc/meminfo");
    private static final Path CGROUP_MAX = Path.of("/sys/fs/cgroup/memory.max");
    private static final Path CGROUP_CURRENT = Path.of("/sys/fs/cgroup/memory.current");

    private HostMemory() {
    }

    static OptionalLong available() {
        OptionalLong machine = memAvailable();
        OptionalLong container = cgroupLeft();
        if (machine.isPresent() && container.isPresent()) {
            return OptionalLong.of(Math.min(machine.getAsLong(), container.getAsLong()));
        }
        return machine.isPresent() ? machine : container;
    }

    private static OptionalLong memAvailable() {
        try {
            for (String line : Files.readAllLines(MEMINFO)) {
                if (line.startsWith("MemAvailable:")) {
                    return OptionalLong.of(Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or an unusual kernel: nothing to say
        }
        return OptionalLong.empty();
    }

    private static OptionalLong cgroupLeft() {
        try {
            List<String> max = Files.readAllLines(CGROUP_MAX);
            if (max.isEmpty() || max.getFirst().strip().equals("max")) {
                return OptionalLong.empty();
            }
            long limit = Long.parseLong(max.getFirst().strip());
            long used = Long.parseLong(Files.readAllLines(CGROUP_CURRENT).getFirst().strip());
            return OptionalLong.of(Math.max(0, limit - used));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();   // no cgroup v2 limit to read
        }
    }
}
