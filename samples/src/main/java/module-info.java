/** One main per scheme, and the longbow command line. */
module dev.longbow.samples {
    requires dev.longbow.runtime;
    requires dev.longbow.kernels;
    requires info.picocli;
    requires org.knowm.xchart;
    requires java.desktop;

    opens dev.longbow.samples.cli to info.picocli;
}
