/** One main per scheme, and the longbow command line. */
module dev.longbow.samples {
    requires dev.longbow.runtime;
    requires dev.longbow.kernels;
}
