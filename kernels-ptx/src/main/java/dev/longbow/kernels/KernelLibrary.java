package dev.longbow.kernels;

import dev.longbow.cuda.CudaModule;
import dev.longbow.cuda.Kernel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The kernels of one context: each PTX file is loaded (and JIT-compiled by the driver) on the
 * first launch of one of its kernels, for the target the device runs best, then kept until
 * {@link #close()}. Used by one rank's thread.
 */
final class KernelLibrary implements AutoCloseable {
    private final int major;
    private final int minor;
    private final Map<String, CudaModule> modules = new HashMap<>();
    private final Map<String, Kernel> kernels = new HashMap<>();

    KernelLibrary(int major, int minor) {
        this.major = major;
        this.minor = minor;
    }

    Kernel kernel(KernelSignature signature, String variant) {
        String entry = signature.entry(variant);
        Kernel kernel = kernels.get(entry);
        if (kernel == null) {
            kernel = modules.computeIfAbsent(signature.file(), this::load).kernel(entry);
            kernels.put(entry, kernel);
        }
        return kernel;
    }

    private CudaModule load(String file) {
        String target = PtxTarget.choose(file, major, minor, t -> KernelLibrary.class.getResource(PtxTarget.resource(file, t)) != null);
        String resource = PtxTarget.resource(file, target);
        byte[] ptx;
        try (InputStream in = KernelLibrary.class.getResourceAsStream(resource)) {
            ptx = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
        return CudaModule.load(file + "." + target + ".ptx", ptx);  // a driver too old for the PTX is named there
    }

    @Override
    public void close() {
        kernels.clear();
        modules.values().forEach(CudaModule::close);
        modules.clear();
    }
}
