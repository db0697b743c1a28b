/**
 * Longbow's runtime: tensors, the Backend and Communicator SPIs, the sequence-parallel schemes.
 */
module dev.longbow.runtime {
    requires transitive dev.longbow.bindings;
    requires jdk.incubator.vector;
    requires jtokkit;

    exports dev.longbow.tensor;
    exports dev.longbow.backend;
    exports dev.longbow.comm;
    exports dev.longbow.comm.local;
    exports dev.longbow.comm.nccl;
    exports dev.longbow.parallel;
    exports dev.longbow.model;
    exports dev.longbow.train;
    exports dev.longbow.data;
    exports dev.longbow.checkpoint;
    exports dev.longbow.hf;
    exports dev.longbow.launch;
    exports dev.longbow.plan;
    exports dev.longbow.cuda;
    exports dev.longbow.nccl;

    uses dev.longbow.backend.BackendProvider;
    uses dev.longbow.comm.RankLauncher;

    provides dev.longbow.backend.BackendProvider with dev.longbow.backend.cpu.CpuBackendProvider;
    provides dev.longbow.comm.RankLauncher with dev.longbow.comm.local.LocalLauncher, dev.longbow.comm.nccl.NcclLauncher;
}
