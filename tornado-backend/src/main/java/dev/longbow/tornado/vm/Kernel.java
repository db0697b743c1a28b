package dev.longbow.tornado.vm;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.common.TornadoFunctions.Task5;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/** Every kernel of the backend; a device session builds one task graph per constant, once. */
enum Kernel {
    FLASH_FORWARD(AttentionKernels::flashForward),
    FLASH_BACKWARD_KEYS(AttentionKernels::flashBackwardKeys),
    FLASH_BACKWARD_QUERIES(AttentionKernels::flashBackwardQueries),
    LSE_MERGE(AttentionKernels::lseMerge),
    COPY(TensorKernels::copy),
    INT_TO_FLOAT(TensorKernels::intToFloat),
    FILL(TensorKernels::fill),
    AXPY(TensorKernels::axpy),
    SCALE(TensorKernels::scale),
    SUM_OF_SQUARES(TensorKernels::sumOfSquares),
    SWAP_LEADING_DIMS(TensorKernels::swapLeadingDims),
    REPEAT_HEADS(TensorKernels::repeatHeads),
    SUM_REPEATED_HEADS(TensorKernels::sumRepeatedHeads),
    MATMUL(ModelKernels::matmul, ModelKernels.MM_TILE, ModelKernels.MM_TILE),
    RMS_NORM_FORWARD(ModelKernels::rmsNormForward),
    RMS_NORM_BACKWARD(ModelKernels::rmsNormBackward),
    RMS_NORM_WEIGHT_GRAD(ModelKernels::rmsNormWeightGrad),
    ROPE(ModelKernels::rope),
    SWIGLU_FORWARD(ModelKernels::swigluForward),
    SWIGLU_BACKWARD(ModelKernels::swigluBackward),
    EMBEDDING_FORWARD(ModelKernels::embeddingForward),
    EMBEDDING_BACKWARD(ModelKernels::embeddingBackward),
    CROSS_ENTROPY(ModelKernels::crossEntropy),
    ADAMW(ModelKernels::adamw);

    /** The signature every kernel has: {@code (context, heap, ints, args, scalars)}. */
    @FunctionalInterface
    interface Body extends Task5<KernelContext, FloatArray, IntArray, IntArray, FloatArray> {
    }

    final Body body;
    /** Work-group extents; {@code localY == 1} for one-dimensional kernels. */
    final int localX;
    final int localY;

    Kernel(Body body) {
        this(body, Kernels.THREADS, 1);
    }

    Kernel(Body body, int localX, int localY) {
        this.body = body;
        this.localX = localX;
        this.localY = localY;
    }

    /** The task-graph and kernel name, e.g. "flashForward". */
    String id() {
        StringBuilder s = new StringBuilder();
        for (String word : name().toLowerCase(java.util.Locale.ROOT).split("_")) {
            s.append(s.isEmpty() ? word : Character.toUpperCase(word.charAt(0)) + word.substring(1));
        }
        return s.toString();
    }
}
