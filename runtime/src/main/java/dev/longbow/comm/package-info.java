/**
 * How ranks talk: the {@link dev.longbow.comm.Communicator} SPI (one rank's endpoint of a group:
 * all-to-all, all-gather, reduce-scatter, all-reduce, point-to-point, split) and the
 * {@link dev.longbow.comm.RankLauncher}s that start P ranks, each with its own backend and
 * endpoint, and run a {@link dev.longbow.comm.RankTask} on them: {@link dev.longbow.comm.RankLaunchers}
 * picks the one that serves a backend (threads of this JVM for "cpu", NCCL for "cuda"), a
 * {@link dev.longbow.comm.CommunicatorChoice} one by name. Nothing waits forever: a rank that
 * fails aborts the group ({@link dev.longbow.comm.RankFailedException},
 * {@link dev.longbow.comm.GroupAbortedException}), and a call that waits longer than the
 * {@link dev.longbow.comm.CollectiveTimeout} fails every rank.
 */
package dev.longbow.comm;
