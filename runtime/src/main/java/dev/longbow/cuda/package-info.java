/**
 * The CUDA driver API as typed, checked, single-owner Java objects over the jextract bindings.
 *
 * <pre>{@code
 * try (Context gpu = Context.primary(rank).makeCurrent();          // a rank is a thread
 *      Stream compute = Stream.create("compute");
 *      CudaModule module = CudaModule.loadResource(MyKernels.class, "saxpy.ptx");
 *      DeviceBuffer y = DeviceBuffer.allocate(4L * n);
 *      PinnedBuffer host = PinnedBuffer.allocate(4L * n)) {
 *     host.segment().setAtIndex(ValueLayout.JAVA_FLOAT, 0, 1f);      // pinned memory, written in place
 *     y.copyFromHost(host.segment(), compute);
 *     module.kernel("saxpy").launch(compute, Dim3.cover(n, 256), Dim3.of(256), 0,
 *             KernelArgs.of().f32(2f).pointer(x).pointer(y.segment()).i64(n));
 *     y.copyToHost(host.segment(), compute);
 *     compute.synchronize();
 * }
 * }</pre>
 *
 * <p>The driver library is loaded on first use ({@link dev.longbow.cuda.Cuda#init()}); without one,
 * every class still loads and the first call says where it looked. Every CUresult is checked
 * ({@link dev.longbow.cuda.CudaException}); every handle is freed by its one owner's {@code close()}.
 */
package dev.longbow.cuda;
