package dev.longbow.samples.cli;

/**
 * Whether PNG charts can be drawn here: they need XChart and the JDK's {@code java.desktop}
 * module, which the GPU bundle's jlinked runtime leaves out (15 MiB that a GPU box does not need).
 */
final class Charts {
    private Charts() {
    }

    /** Why no chart can be drawn in this runtime, or null when one can. */
    static String unavailableReason() {
        if (ModuleLayer.boot().findModule("java.desktop").isEmpty()) {
            return "this Java runtime has no java.desktop module (a jlinked runtime such as the GPU bundle's)";
        }
        try {
            Class.forName("org.knowm.xchart.XYChart", false, Charts.class.getClassLoader());
            return null;
        } catch (ClassNotFoundException | LinkageError e) {
            return "the XChart library is not on the class path";
        }
    }
}
