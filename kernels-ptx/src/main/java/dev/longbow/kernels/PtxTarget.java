package dev.longbow.kernels;

import java.util.List;
import java.util.function.Predicate;

/**
 * Which committed PTX a device runs. PTX is forward compatible: sm_80 PTX runs on any GPU of
 * compute capability 8.0 or newer, sm_90 on 9.0 or newer, once the driver has compiled it. An
 * "a" target (sm_90a, for wgmma) runs on exactly its own capability, and is preferred there.
 */
public final class PtxTarget {
    /** Newest first: the first one a device can run is the one it gets. */
    static final List<String> TARGETS = List.of("sm_90a", "sm_90", "sm_80");

    private PtxTarget() {
    }

    /**
     * The target of {@code file} for a device of compute capability {@code major.minor}, among
     * those {@code exists} reports; the exception names the device and the targets there are.
     */
    public static String choose(String file, int major, int minor, Predicate<String> exists) {
        int capability = major * 10 + minor;
        for (String target : TARGETS) {
            boolean archSpecific = target.endsWith("a");
            int version = Integer.parseInt(target.replaceAll("\\D", ""));
            boolean runs = archSpecific ? version == capability : version <= capability;
            if (runs && exists.test(target)) {
                return target;
            }
        }
        throw new IllegalStateException("no PTX of " + file + ".cu runs on a GPU of compute capability " + major + "." + minor
                + " (targets built: " + TARGETS.stream().filter(exists).toList() + "; Longbow needs sm_80, Ampere, or newer)");
    }

    /** The class-path resource holding {@code file}'s PTX for {@code target}. */
    public static String resource(String file, String target) {
        return "/dev/longbow/kernels/" + file + "." + target + ".ptx";
    }
}
