/**
 * The Communicator SPI on NCCL, and the launcher that runs ranks on GPUs for the "cuda" backend.
 *
 * <p>A rank is a thread driving one GPU: its backend's compute stream (the backend implements
 * {@link dev.longbow.cuda.CudaCompute}), a communication stream of its own
 * ({@link dev.longbow.comm.nccl.RankStreams}), and an NCCL communicator joined with
 * {@code ncclCommInitRank}; sub-communicators come from {@code ncclCommSplit} and share the
 * rank's communication stream. Events order the two streams; only {@code barrier} waits on the host.
 *
 * <p>Launching ({@link dev.longbow.comm.nccl.NcclLauncher}, found by
 * {@link dev.longbow.comm.RankLaunchers#forBackend}): one JVM alone runs n ranks on GPUs 0..n-1.
 * A job of several JVMs (one per node, usually) sets torchrun's variables ({@code RANK},
 * {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code MASTER_ADDR}, {@code MASTER_PORT}) or runs under
 * {@code srun}; every JVM asks for the whole job's ranks, drives its node's GPUs
 * ({@code LONGBOW_DEVICES_PER_PROCESS}, default all it sees), and gets the NCCL unique id from
 * process 0 over {@link dev.longbow.launch.Rendezvous}, authenticated by the shared secret in
 * {@code LONGBOW_RENDEZVOUS_TOKEN} (process 0 waits {@code LONGBOW_RENDEZVOUS_TIMEOUT} seconds,
 * 300 by default). The library is libnccl.so.2 from the system or an nvidia-nccl wheel, or the
 * file {@code LONGBOW_NCCL_LIBRARY} names.
 *
 * <p>When a rank fails, the launch aborts every communicator of this JVM so that ranks blocked
 * on a collective wake up; the failure is rethrown naming the rank. Other JVMs of a job learn of
 * it through their {@link dev.longbow.comm.nccl.NcclWatchdog}, one per communicator, which polls
 * {@code ncclCommGetAsyncError} and the end of every call: an asynchronous error, or a call not
 * finished within the collective timeout ({@code LONGBOW_COLLECTIVE_TIMEOUT} seconds, 10 minutes
 * by default), aborts that JVM's launch the same way, so a dead rank ends every process of the
 * job in bounded time. The blocking calls {@code ncclCommInitRank} and {@code ncclCommSplit} are
 * not watched: they return only when every rank has joined.
 */
package dev.longbow.comm.nccl;
