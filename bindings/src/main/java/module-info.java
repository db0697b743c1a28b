/**
 * jextract-generated bindings: the CUDA driver API, NCCL and cuBLAS. Generated code only; see
 * regenerate. Not an API: the runtime's owning wrappers and the CUDA backend are its only readers.
 */
module dev.longbow.bindings {
    exports dev.longbow.bindings.cuda to dev.longbow.runtime, dev.longbow.kernels;
    exports dev.longbow.bindings.nccl to dev.longbow.runtime;
    exports dev.longbow.bindings.cublas to dev.longbow.kernels;
}
