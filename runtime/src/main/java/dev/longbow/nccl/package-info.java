/**
 * NCCL as typed, checked Java objects: {@link dev.longbow.nccl.NcclComm} (one rank's
 * communicator), {@link dev.longbow.nccl.NcclUniqueId} (the 128 bytes rank 0 hands the others),
 * {@link dev.longbow.nccl.Nccl#group()} (calls launched together).
 *
 * <pre>{@code
 * NcclUniqueId id = rank == 0 ? NcclUniqueId.create() : NcclUniqueId.fromBytes(receivedBytes);
 * try (NcclComm comm = NcclComm.initRank(id, worldSize, rank)) {   // the rank's context is current
 *     comm.allReduce(grad, grad, NcclOp.SUM, stream);
 *     try (NcclGroup group = Nccl.group()) {
 *         comm.send(kv, next, stream);
 *         comm.recv(incoming, previous, stream);
 *     }
 * }
 * }</pre>
 *
 * <p>libnccl.so.2 is loaded on first use from {@code longbow.nccl.library} /
 * {@code LONGBOW_NCCL_LIBRARY}, the dynamic linker's path, system folders, or an installed
 * {@code nvidia-nccl-cu12}/{@code cu13} wheel. Every ncclResult_t is checked
 * ({@link dev.longbow.nccl.NcclException}, with NCCL's last error message).
 */
package dev.longbow.nccl;
