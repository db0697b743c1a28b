/** jextract-generated bindings: the CUDA driver API, NCCL and cuBLAS. Generated code only; see regenerate. */
module dev.longbow.bindings {
    exports dev.longbow.bindings.cuda;
    exports dev.longbow.bindings.nccl;
    exports dev.longbow.bindings.cublas;
}
