/**
 * Longbow's runtime: train transformers on very long sequences across many ranks. Tensors and the
 * Backend and Communicator SPIs, the five sequence-parallel attention schemes, the Llama model and
 * its trainer, data, checkpoints, Hugging Face import and export.
 *
 * <p>Start from {@link dev.longbow.parallel.Scheme} (attention across ranks) or
 * {@link dev.longbow.train.Trainer} (training); {@link dev.longbow.backend.BackendChoice} and
 * {@link dev.longbow.comm.RankLaunchers} choose where ranks run.
 */
module dev.longbow.runtime {
    requires dev.longbow.bindings;
    requires jdk.incubator.vector;

    exports dev.longbow.tensor;
    exports dev.longbow.backend;
    exports dev.longbow.comm;
    exports dev.longbow.comm.local;
    exports dev.longbow.parallel;
    exports dev.longbow.model;
    exports dev.longbow.train;
    exports dev.longbow.data;
    exports dev.longbow.checkpoint;
    exports dev.longbow.hf;

    // Internals, for Longbow's own modules only: the CUDA backend builds on the driver wrappers; the
    // command line reports the NCCL watchdog's and the rendezvous's failures by their types.
    exports dev.longbow.cuda to dev.longbow.kernels;
    exports dev.longbow.comm.nccl to dev.longbow.samples;
    exports dev.longbow.launch to dev.longbow.samples;
    // The planner answers the command line's `plan`; it is not part of the library's API (yet).
    exports dev.longbow.plan to dev.longbow.samples;

    uses dev.longbow.backend.BackendProvider;
    uses dev.longbow.comm.RankLauncher;

    provides dev.longbow.backend.BackendProvider with dev.longbow.backend.cpu.CpuBackendProvider;
    provides dev.longbow.comm.RankLauncher with dev.longbow.comm.local.LocalLauncher, dev.longbow.comm.nccl.NcclLauncher;
}
