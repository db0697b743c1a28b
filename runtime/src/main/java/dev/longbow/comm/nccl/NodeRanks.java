package dev.longbow.comm.nccl;

import dev.longbow.launch.RankEnvironment;
import java.util.Map;

/**
 * Which ranks of a job this JVM runs, and on which of this node's GPUs: decided from the rank
 * count asked for, the launch environment and the GPU count before any device is touched.
 *
 * <p>One process (no {@code RANK}/{@code WORLD_SIZE} or Slurm variables, or a job of one
 * process): ranks 0..n-1 on GPUs 0..n-1. Several processes: the job is
 * {@link RankEnvironment#worldSize()} ranks, this process runs its
 * {@link RankEnvironment#devicesPerProcess()} of them, and the caller must ask for the whole job.
 *
 * @param job        where this process sits; a job of one process when launched alone
 * @param worldSize  ranks in the whole job
 * @param firstRank  the global rank of this process's first GPU
 * @param firstGpu   the device ordinal of this process's first GPU
 * @param localRanks how many ranks (GPUs, one thread each) this process runs
 */
record NodeRanks(RankEnvironment job, int worldSize, int firstRank, int firstGpu, int localRanks) {

    static NodeRanks of(int ranks, Map<String, String> env, int gpusOnNode) {
        if (ranks < 1) {
            throw new IllegalArgumentException("asked for " + ranks + " ranks; at least 1 is needed");
        }
        if (gpusOnNode < 1) {
            throw new IllegalStateException("the CUDA driver sees no GPU on this node (CUDA_VISIBLE_DEVICES="
                    + env.get("CUDA_VISIBLE_DEVICES") + ")");
        }
        RankEnvironment job = RankEnvironment.from(env, gpusOnNode);
        if (job.processCount() == 1) {
            if (ranks > gpusOnNode) {
                throw new IllegalArgumentException("asked for " + ranks + " ranks but this node has " + gpus(gpusOnNode)
                        + " (CUDA_VISIBLE_DEVICES=" + env.get("CUDA_VISIBLE_DEVICES") + "); NCCL runs one rank per GPU: ask for at most "
                        + gpusOnNode + ", or run one process per node across several nodes (RANK/WORLD_SIZE or Slurm), or share GPUs"
                        + " between ranks with --communicator device");
            }
            return new NodeRanks(job, ranks, 0, 0, ranks);
        }
        if (ranks != job.worldSize()) {
            throw new IllegalArgumentException("asked for " + ranks + " ranks but the job (" + job.source() + ") is "
                    + job.processCount() + " processes x " + job.devicesPerProcess() + " GPUs = " + job.worldSize()
                    + " ranks; ask for " + job.worldSize() + " or set " + RankEnvironment.DEVICES_PER_PROCESS);
        }
        int lastGpu = job.deviceOrdinal(job.devicesPerProcess() - 1);
        if (lastGpu >= gpusOnNode) {
            throw new IllegalArgumentException("process " + job.processRank() + " (local rank " + job.localProcessRank()
                    + ") drives GPUs " + job.deviceOrdinal(0) + ".." + lastGpu + " but this node has " + gpus(gpusOnNode)
                    + "; set " + RankEnvironment.DEVICES_PER_PROCESS + " to the GPUs each process drives");
        }
        return new NodeRanks(job, job.worldSize(), job.globalRank(0), job.deviceOrdinal(0), job.devicesPerProcess());
    }

    private static String gpus(int n) {
        return n + (n == 1 ? " GPU" : " GPUs");
    }
}
