package dev.longbow.backend.cpu;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendProvider;

/** The pure-Java backend: host memory, fp32 compute on the Vector API. Runs wherever the JDK does. */
public final class CpuBackendProvider implements BackendProvider {
    static final String NAME = "cpu";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String unavailableReason() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? null
                : "the Vector API is not enabled; run the JVM with --add-modules jdk.incubator.vector";
    }

    /** Every ordinal is the same host; ranks that are threads each open their own backend. */
    @Override
    public Backend open(int ordinal) {
        return new CpuBackend();
    }
}
