package dev.longbow.comm.nccl;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backends;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankLaunchers;
import dev.longbow.nccl.NcclUniqueId;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What the NCCL launcher decides and refuses before it touches a GPU: runs without one, in CI. */
class NcclLauncherTest {

    private static Map<String, String> torchrun(int rank, int worldSize, int localRank) {
        return Map.of("RANK", Integer.toString(rank), "WORLD_SIZE", Integer.toString(worldSize),
                "LOCAL_RANK", Integer.toString(localRank), "MASTER_ADDR", "node0", "MASTER_PORT", "29500");
    }

    @Test
    void aProcessOnItsOwnRunsTheRanksOnTheFirstGpus() {
        assertEquals(new NodeRanks(NodeRanks.of(2, Map.of(), 8).job(), 2, 0, 0, 2), NodeRanks.of(2, Map.of(), 8));
    }

    @Test
    void moreRanksThanGpusIsRefusedSayingWhatToDo() {
        var e = assertThrows(IllegalArgumentException.class, () -> NodeRanks.of(4, Map.of("CUDA_VISIBLE_DEVICES", "0"), 1));
        assertEquals("asked for 4 ranks but this node has 1 GPU (CUDA_VISIBLE_DEVICES=0); NCCL runs one rank per GPU: ask for "
                + "at most 1, or run one process per node across several nodes (RANK/WORLD_SIZE or Slurm), or share GPUs between ranks"
                + " with --communicator device", e.getMessage());
        assertEquals("asked for 0 ranks; at least 1 is needed",
                assertThrows(IllegalArgumentException.class, () -> NodeRanks.of(0, Map.of(), 1)).getMessage());
        assertTrue(assertThrows(IllegalStateException.class, () -> NodeRanks.of(1, Map.of(), 0)).getMessage()
                .startsWith("the CUDA driver sees no GPU on this node"));
    }

    @Test
    void eachProcessOfAJobRunsItsNodesGpus() {
        // torchrun with one process per node of 4 GPUs: process 1 runs global ranks 4..7 on GPUs 0..3.
        NodeRanks second = NodeRanks.of(8, torchrun(1, 2, 0), 4);
        assertEquals(List.of(8, 4, 0, 4), List.of(second.worldSize(), second.firstRank(), second.firstGpu(), second.localRanks()));
        assertEquals("node0", second.job().masterHost());
        // Two processes per node of 4 GPUs, 2 each: process 3 is the second on its node, ranks 6..7 on GPUs 2..3.
        var env = new java.util.HashMap<>(torchrun(3, 4, 1));
        env.put("LONGBOW_DEVICES_PER_PROCESS", "2");
        NodeRanks fourth = NodeRanks.of(8, env, 4);
        assertEquals(List.of(8, 6, 2, 2), List.of(fourth.worldSize(), fourth.firstRank(), fourth.firstGpu(), fourth.localRanks()));
        // Slurm: task 1 of 2 on gpu[01-02], the master is the first host.
        NodeRanks slurm = NodeRanks.of(16, Map.of("SLURM_PROCID", "1", "SLURM_NTASKS", "2", "SLURM_LOCALID", "0",
                "SLURM_JOB_NODELIST", "gpu[01-02]", "SLURM_JOB_ID", "4711"), 8);
        assertEquals(List.of(16, 8, 0, 8), List.of(slurm.worldSize(), slurm.firstRank(), slurm.firstGpu(), slurm.localRanks()));
        assertEquals("gpu01", slurm.job().masterHost());
    }

    @Test
    void aJobMustAskForAllItsRanksOnGpusItHas() {
        var e = assertThrows(IllegalArgumentException.class, () -> NodeRanks.of(4, torchrun(0, 2, 0), 4));
        assertEquals("asked for 4 ranks but the job (RANK/WORLD_SIZE variables) is 2 processes x 4 GPUs = 8 ranks; "
                + "ask for 8 or set LONGBOW_DEVICES_PER_PROCESS", e.getMessage());
        var env = new java.util.HashMap<>(torchrun(0, 2, 0));
        env.put("LONGBOW_DEVICES_PER_PROCESS", "4");
        e = assertThrows(IllegalArgumentException.class, () -> NodeRanks.of(8, env, 2));
        assertEquals("process 0 (local rank 0) drives GPUs 0..3 but this node has 2 GPUs; set LONGBOW_DEVICES_PER_PROCESS "
                + "to the GPUs each process drives", e.getMessage());
    }

    @Test
    void theLauncherServesTheCudaBackendOnlyAndIsFoundByName() {
        NcclLauncher launcher = new NcclLauncher(Map.of());
        assertTrue(launcher.serves(BackendChoice.CUDA));
        assertFalse(launcher.serves(BackendChoice.CPU));
        var e = assertThrows(IllegalArgumentException.class, () -> launcher.run(2, BackendChoice.CPU, (backend, comm) -> null));
        assertEquals("the NCCL launcher moves the memory of backend 'cuda', not 'cpu'", e.getMessage());
        assertEquals(List.of("local", "nccl"), RankLaunchers.launchers().stream().map(RankLauncher::name).sorted().toList());
    }

    @Test
    void theRendezvousTimeoutIsWholeSeconds() {
        assertEquals(Duration.ofSeconds(300), NcclLauncher.rendezvousTimeout(Map.of()));
        assertEquals(Duration.ofSeconds(42), NcclLauncher.rendezvousTimeout(Map.of("LONGBOW_RENDEZVOUS_TIMEOUT", "42")));
        assertEquals("LONGBOW_RENDEZVOUS_TIMEOUT='soon' is not a whole number of seconds", assertThrows(IllegalArgumentException.class,
                () -> NcclLauncher.rendezvousTimeout(Map.of("LONGBOW_RENDEZVOUS_TIMEOUT", "soon"))).getMessage());
        assertEquals("LONGBOW_RENDEZVOUS_TIMEOUT=0 must be at least 1 second", assertThrows(IllegalArgumentException.class,
                () -> NcclLauncher.rendezvousTimeout(Map.of("LONGBOW_RENDEZVOUS_TIMEOUT", "0"))).getMessage());
    }

    @Test
    void aBackendWithoutACudaStreamStopsEveryRankNamingTheSeam() {
        // The CPU backend opens without a GPU; the ranks stop before any NCCL call, none waits for another.
        RankFailedException e = assertThrows(RankFailedException.class, () -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> NcclRanks.run(NodeRanks.of(2, Map.of(), 2), NcclUniqueId.fromBytes(new byte[NcclUniqueId.BYTES]),
                        ordinal -> Backends.open(BackendChoice.CPU, ordinal), (backend, comm) -> null, CollectiveTimeout.DEFAULT)));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("backend 'cpu'") && e.getCause().getMessage().contains("dev.longbow.cuda.CudaCompute"),
                e.getCause().getMessage());
    }

    @Test
    void missingLibrariesAreNamedWithWhereTheyWereLookedFor() throws IOException, InterruptedException {
        // A fresh JVM: the libraries are looked for once per process, and this one's answer must
        // not depend on what other tests loaded.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx64m", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), MissingLibrariesProbe.class.getName());
        pb.environment().put("LONGBOW_CUDA_LIBRARY", "/nonexistent/libcuda.so.1");
        pb.environment().put("LONGBOW_NCCL_LIBRARY", "/nonexistent/libnccl.so.2");
        Process p = pb.redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the probe JVM did not finish within 60 s");
        }
        String out = new String(p.getInputStream().readAllBytes());
        String run = out.lines().filter(l -> l.startsWith("run: ")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(run.startsWith("run: communicator 'nccl' cannot run here: CUDA driver not found (environment variable "
                + "LONGBOW_CUDA_LIBRARY names /nonexistent/libcuda.so.1, which is not a file)"), run);
        assertTrue(run.contains("; NCCL not found (environment variable LONGBOW_NCCL_LIBRARY names /nonexistent/libnccl.so.2, "
                + "which is not a file); set longbow.nccl.library or LONGBOW_NCCL_LIBRARY to the path of libnccl.so.2"), run);
    }
}
