/** One main per scheme, and the longbow command line. */
module dev.longbow.samples {
    requires dev.longbow.runtime;
    requires dev.longbow.kernels;
    requires info.picocli;
    // Charts only: the GPU bundle runs without them (Charts says so instead of failing).
    requires static org.knowm.xchart;
    requires static java.desktop;

    opens dev.longbow.samples.cli to info.picocli;
    opens dev.longbow.samples to info.picocli;
}
