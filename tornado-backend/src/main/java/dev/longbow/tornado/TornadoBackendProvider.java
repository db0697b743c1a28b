package dev.longbow.tornado;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendProvider;
import java.lang.reflect.InvocationTargetException;

/**
 * The "tornado" backend: Longbow's kernels compiled by TornadoVM (OpenCL, PTX or SPIR-V). This
 * class needs no TornadoVM: it is built without an SDK too, so that asking for the backend where
 * TornadoVM is missing says what to install instead of "unknown backend". The implementation,
 * {@code dev.longbow.tornado.vm.TornadoBackend}, is compiled only against an SDK and is reached by
 * name.
 */
public final class TornadoBackendProvider implements BackendProvider {
    public static final String NAME = "tornado";
    /** The SDK this module is built and tested with. */
    static final String SDK = "TornadoVM 5.2.0 for JDK 25 (tag v5.2.0-jdk25) with the OpenCL backend";
    private static final String IMPLEMENTATION = "dev.longbow.tornado.vm.TornadoBackend";
    private static final String HOWTO = "see tornado-backend/README.md";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String unavailableReason() {
        if (!isPresent(IMPLEMENTATION)) {
            return "this Longbow build has no TornadoVM kernels: install " + SDK + ", set TORNADOVM_HOME to it and rebuild ("
                    + HOWTO + ")";
        }
        if (ModuleLayer.boot().findModule("tornado.runtime").isEmpty()) {
            String home = System.getenv("TORNADOVM_HOME");
            return "TornadoVM is not loaded in this JVM: start java with @" + (home == null ? "$TORNADOVM_HOME" : home)
                    + "/tornado-argfile" + (home == null ? " (TORNADOVM_HOME is not set: install " + SDK + ")" : "")
                    + "; " + HOWTO;
        }
        return null;
    }

    @Override
    public Backend open(int ordinal) {
        try {
            return (Backend) Class.forName(IMPLEMENTATION).getMethod("open", int.class).invoke(null, ordinal);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("opening the tornado backend on device " + ordinal + " failed", e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the tornado backend cannot run here: " + unavailableReason(), e);
        }
    }

    private static boolean isPresent(String className) {
        try {
            Class.forName(className, false, TornadoBackendProvider.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
