package dev.longbow.cuda;

/**
 * What a GPU is and what a kernel launch may ask of it, as the driver reports them.
 *
 * @param ordinal                     the device's index among the visible devices
 * @param name                        e.g. "NVIDIA H100 80GB HBM3"
 * @param uuid                        the device's UUID as nvidia-smi prints it ("GPU-...")
 * @param pciBusId                    domain:bus:device, as {@code nvidia-smi} and NCCL print it
 * @param computeMajor                compute capability, major (9 for Hopper)
 * @param computeMinor                compute capability, minor
 * @param multiprocessors             streaming multiprocessors
 * @param totalMemory                 bytes of device memory
 * @param maxThreadsPerBlock          launch limit
 * @param maxThreadsPerMultiprocessor resident threads per SM
 * @param maxSharedMemoryPerBlock     bytes of shared memory a block gets without opting in (48 KiB)
 * @param maxSharedMemoryPerBlockOptin bytes a block may get after {@link Kernel#setMaxDynamicSharedMemory}
 * @param maxSharedMemoryPerMultiprocessor bytes of shared memory per SM
 * @param maxRegistersPerBlock        32-bit registers per block
 * @param warpSize                    threads per warp
 * @param l2CacheBytes                bytes of L2 cache
 * @param memoryBusWidthBits          global memory bus width
 */
public record DeviceProperties(int ordinal, String name, String uuid, String pciBusId,
                               int computeMajor, int computeMinor, int multiprocessors, long totalMemory,
                               int maxThreadsPerBlock, int maxThreadsPerMultiprocessor,
                               int maxSharedMemoryPerBlock, int maxSharedMemoryPerBlockOptin,
                               int maxSharedMemoryPerMultiprocessor, int maxRegistersPerBlock,
                               int warpSize, int l2CacheBytes, int memoryBusWidthBits) {

    /** "sm_90" for compute capability 9.0. */
    public String smArch() {
        return "sm_" + computeMajor + computeMinor;
    }

    @Override
    public String toString() {
        return String.format("GPU %d: %s (%s, %d SMs, %.1f GiB, %s, bus %s)", ordinal, name, smArch(),
                multiprocessors, totalMemory / (double) (1L << 30), uuid, pciBusId);
    }
}
