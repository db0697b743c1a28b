package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/** Builds the scheme a {@link SchemeConfig} names, for one rank. */
public final class SequenceParallel {
    private static final List<String> FIELDS = List.of("scheme", "causal", "teamSize", "chunkSize", "ulyssesDegree",
            "arrangement", "seqLen", "heads", "kvHeads", "headDim", "dtype");

    private SequenceParallel() {
    }

    /**
     * Validates the configuration, checks that every rank of {@code comm} passes the same
     * configuration and shape (a collective: all ranks call it together), and builds the scheme.
     * Every refusal is an {@link IllegalArgumentException} thrown on every rank before any
     * attention work.
     */
    public static SequenceParallelAttention create(SchemeConfig config, AttentionShape shape, Backend backend, Communicator comm) {
        config.validate(comm.size(), shape);
        String unsupported = backend.attention().unsupportedReason(shape.dtype(), shape.headDim(), true);
        if (unsupported != null) {
            throw new IllegalArgumentException("the " + backend.name() + " backend cannot run this attention: " + unsupported);
        }
        requireSameOnEveryRank(config, shape, backend, comm);
        return switch (config.scheme()) {
            case "ulysses" -> new Ulysses(backend, comm, shape, config.causal());
            case "ring" -> new Ring(backend, comm, shape, config.causal());
            case "wallfacer" -> new WallFacer(backend, comm, shape, config.causal(), config.teamSize(), config.arrangement());
            case "fpdt" -> new Fpdt(backend, comm, shape, config.causal(), config.chunkSize());
            case "hybrid" -> new Hybrid(backend, comm, shape, config.causal(), config.ulyssesDegree());
            default -> throw new AssertionError(config.scheme());
        };
    }

    private static int[] describe(SchemeConfig config, AttentionShape shape) {
        int[] head = {SchemeConfig.SCHEMES.indexOf(config.scheme()), config.causal() ? 1 : 0, config.teamSize(),
                config.chunkSize(), config.ulyssesDegree(), config.arrangement() == null ? -1 : config.arrangement().ordinal()};
        int[] tail = shape.describe();
        int[] all = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }

    private static void requireSameOnEveryRank(SchemeConfig config, AttentionShape shape, Backend backend, Communicator comm) {
        int[] mine = describe(config, shape);
        int fields = mine.length;
        int[] all = new int[fields * comm.size()];
        try (Slab dev = Slab.builder().add("mine", DType.I32, fields).add("all", DType.I32, all.length).allocate(backend::allocate);
             HostAllocation staging = new HostAllocation((long) all.length * Integer.BYTES)) {
            Tensor host = HostAllocation.tensor(staging, DType.I32, all.length);
            Tensor hostMine = host.rows(0, fields);
            for (int i = 0; i < fields; i++) {
                hostMine.setInt(i, mine[i]);
            }
            backend.tensors().copy(hostMine, dev.get("mine"));
            comm.allGather(dev.get("mine"), dev.get("all"));
            backend.tensors().copy(dev.get("all"), host);
            backend.synchronize();
            for (int i = 0; i < all.length; i++) {
                all[i] = host.getInt(i);
            }
        }
        for (int r = 0; r < comm.size(); r++) {
            for (int f = 0; f < fields; f++) {
                if (all[r * fields + f] != all[f]) {
                    throw new IllegalArgumentException("rank " + r + " has " + FIELDS.get(f) + " " + label(f, all[r * fields + f])
                            + " but rank 0 has " + label(f, all[f]) + ": every rank must build the same scheme for the same "
                            + "shape and dtype (this rank: " + config + ", " + shape + ")");
                }
            }
        }
    }

    private static String label(int field, int value) {
        return switch (FIELDS.get(field)) {
            case "scheme" -> value < 0 ? "?" : SchemeConfig.SCHEMES.get(value);
            case "dtype" -> DType.values()[value].toString();
            case "causal" -> Boolean.toString(value == 1);
            case "arrangement" -> value < 0 ? "none" : SchemeConfig.Arrangement.values()[value].toString();
            default -> Integer.toString(value);
        };
    }
}
