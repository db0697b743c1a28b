package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.model.Weights;

/** Weights a new run starts from instead of its seeded initialisation (a Hugging Face model folder); weights only. */
@FunctionalInterface
public interface InitialWeights {
    /** Overwrites every parameter of {@code params}; called on every rank. */
    void copyInto(Weights params, Backend backend) throws Exception;
}
