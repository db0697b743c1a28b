package dev.longbow.samples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.CommunicatorChoice;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;

/**
 * What one sample runs: a scheme on a number of ranks of a backend (with the communicator
 * chosen, or the backend's), for an attention shape, timed
 * over some iterations of seeded random inputs, checked or not against single-device attention.
 */
record SampleOptions(Scheme scheme, int ranks, AttentionShape shape, BackendChoice backend, CommunicatorChoice communicator,
                     int iterations, long seed, boolean check) {
}
