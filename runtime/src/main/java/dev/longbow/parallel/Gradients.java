package dev.longbow.parallel;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Tensor;

/** The gradients of a block's queries (dQ) and of its keys and values (dK, dV), as one: where backward adds or writes them. */
record Gradients(Tensor dq, KeyValue dkv) {

    /** Zero, to add a first block to. */
    void clear(TensorOps ops) {
        ops.fill(dq, 0f);
        dkv.fill(ops, 0f);
    }
}
