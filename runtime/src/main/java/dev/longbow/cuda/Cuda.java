package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HexFormat;

/** The CUDA driver: loading it, the devices it sees and what they are. */
public final class Cuda {
    private Cuda() {
    }

    /**
     * Loads the driver and initialises it (once per process). Throws a
     * {@link NativeLibraryException} saying where it looked when there is no driver, and a
     * {@link CudaException} when the driver finds no usable device.
     *
     * @return the driver library's path
     */
    public static Path init() {
        return CudaDriver.require();
    }

    /** Why CUDA cannot be used here, or null when it can: for backends that must say why they stop. */
    public static String unavailableReason() {
        try {
            init();
            return deviceCount() > 0 ? null : "the CUDA driver sees no device";
        } catch (NativeLibraryException | CudaException e) {
            return e.getMessage();
        }
    }

    /** The driver's CUDA version as 1000 * major + 10 * minor (13000 for 13.0). */
    public static int driverVersion() {
        init();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment version = arena.allocate(C_INT);
            CudaException.check("cuDriverGetVersion", cuDriverGetVersion(version));
            return version.get(C_INT, 0);
        }
    }

    public static int deviceCount() {
        init();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(C_INT);
            CudaException.check("cuDeviceGetCount", cuDeviceGetCount(count));
            return count.get(C_INT, 0);
        }
    }

    public static DeviceProperties device(int ordinal) {
        int device = deviceHandle(ordinal);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(256);
            CudaException.check("cuDeviceGetName", cuDeviceGetName(name, (int) name.byteSize(), device));
            MemorySegment uuid = arena.allocate(16);
            CudaException.check("cuDeviceGetUuid_v2", cuDeviceGetUuid_v2(uuid, device));
            MemorySegment bytes = arena.allocate(C_LONG_LONG);
            CudaException.check("cuDeviceTotalMem_v2", cuDeviceTotalMem_v2(bytes, device));
            String pci = String.format("%04x:%02x:%02x", attribute(device, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID()), attribute(device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID()));
            return new DeviceProperties(ordinal, name.getString(0), uuidString(uuid.toArray(ValueLayout.JAVA_BYTE)), pci,
                    attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT()),
                    bytes.get(C_LONG_LONG, 0),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_WARP_SIZE()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE()),
                    attribute(device, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH()));
        }
    }

    /** The driver's handle (CUdevice) of the device with this ordinal. */
    static int deviceHandle(int ordinal) {
        int count = deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("device " + ordinal + " does not exist: the driver sees " + count
                    + " device(s) (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocate(C_INT);
            CudaException.check("cuDeviceGet", cuDeviceGet(device, ordinal));
            return device.get(C_INT, 0);
        }
    }

    private static int attribute(int device, int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(C_INT);
            CudaException.check("cuDeviceGetAttribute", cuDeviceGetAttribute(value, attribute, device));
            return value.get(C_INT, 0);
        }
    }

    /** nvidia-smi's form: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
    static String uuidString(byte[] bytes) {
        String hex = HexFormat.of().formatHex(bytes);
        return "GPU-" + hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-"
                + hex.substring(16, 20) + "-" + hex.substring(20);
    }
}
