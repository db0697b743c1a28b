// y[i] = a * x[i] + y[i] for i < n: the GPU tests' kernel (CudaKernelGpuTest).
// Rebuild: nvcc -ptx -arch=compute_80 -o saxpy.ptx saxpy.cu   (the driver JIT-compiles it for newer GPUs)
extern "C" __global__ void saxpy(float a, const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = a * x[i] + y[i];
    }
}

// Writes one value per launch parameter kind, so a test can see each argument arrive intact.
extern "C" __global__ void echo_args(int i, long long l, float f, const float* p, long long* out) {
    out[0] = i;
    out[1] = l;
    out[2] = __float_as_int(f);
    out[3] = (long long) p;
}
