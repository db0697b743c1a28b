/** jextract-generated bindings: the CUDA driver API and NCCL. Generated code only; see regenerate. */
module dev.longbow.bindings {
}
