package dev.longbow.samples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.CommunicatorChoice;
import picocli.CommandLine.Option;

/**
 * Where the ranks run, one block for {@code longbow train} and {@code longbow sample}: the
 * backend, the communicator and the GPUs, with the same names, defaults and descriptions in both.
 * The command line's spellings become typed handles here.
 */
public final class DeviceOptions {
    @Option(names = "--backend", defaultValue = "cpu", description = "cpu|cuda|tornado (default: ${DEFAULT-VALUE})")
    String backend;
    @Option(names = "--communicator", description = "device: every rank a thread on one GPU (see --gpus) instead of one "
            + "GPU per rank with NCCL (default: the backend's)")
    String communicator;
    @Option(names = "--gpus", description = "with --communicator device: GPUs for the ranks, rank r on the (r mod n)-th, "
            + "e.g. 0,1 (default: 0)")
    String gpus;

    /** The backend, from its command-line name. */
    public BackendChoice backend() {
        return BackendChoice.named(backend);
    }

    /** The backend as the command line spelled it, for messages and run summaries. */
    public String backendName() {
        return backend;
    }

    /** The communicator, from {@code --communicator} and {@code --gpus}. */
    public CommunicatorChoice communicator() {
        return CommunicatorChoice.fromCommandLine(communicator, gpus);
    }
}
