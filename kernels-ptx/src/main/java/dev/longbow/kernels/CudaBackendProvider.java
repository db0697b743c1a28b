package dev.longbow.kernels;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendProvider;
import dev.longbow.cuda.Cuda;
import dev.longbow.cuda.DeviceProperties;
import dev.longbow.tensor.DType;
import java.util.Set;

/** The "cuda" backend: the PTX kernels of this module on NVIDIA GPUs of compute capability 8.0 (Ampere) or newer. */
public final class CudaBackendProvider implements BackendProvider {
    static final String NAME = "cuda";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String unavailableReason() {
        try {
            return Cuda.unavailableReason();
        } catch (RuntimeException | LinkageError e) {
            return "the CUDA driver cannot be used: " + e;
        }
    }

    /** The flash kernels take bf16 or f16, so a model trains in bf16 mixed precision here, never in fp32. */
    @Override
    public Set<DType> trainingDTypes() {
        return Set.of(DType.BF16);
    }

    @Override
    public Backend open(int ordinal) {
        DeviceProperties device = Cuda.device(ordinal);
        if (device.computeMajor() < 8) {
            throw new IllegalStateException(device + " has compute capability " + device.computeMajor() + "." + device.computeMinor()
                    + "; the cuda backend's kernels need 8.0 (Ampere) or newer (bf16 tensor cores, cp.async)");
        }
        return new CudaBackend(ordinal, device);
    }
}
