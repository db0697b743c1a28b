package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Every rank of a group must build the same scheme for the same shape: ranks that disagree would
 * exchange tensors of different sizes and hang or corrupt each other. The ranks compare what they
 * were given in one all-gather, and all of them refuse when any differs.
 */
final class RankAgreement {
    /** Characters of a scheme's description compared; a record's text is far shorter. */
    private static final int SCHEME_CHARS = 96;
    private static final List<String> SHAPE_FIELDS = List.of("seqLen", "heads", "kvHeads", "headDim", "dtype", "causal");

    private RankAgreement() {
    }

    /** Throws {@link IllegalArgumentException} on every rank of {@code comm} if any rank passed another scheme or shape. */
    static void require(Scheme scheme, AttentionShape shape, Backend backend, Communicator comm) {
        int[] mine = describe(scheme, shape);
        int fields = mine.length;
        int[] all = gather(mine, backend, comm);
        int[] first = Arrays.copyOf(all, fields);
        for (int r = 0; r < comm.size(); r++) {
            int[] theirs = Arrays.copyOfRange(all, r * fields, (r + 1) * fields);
            for (int f = 0; f < SHAPE_FIELDS.size(); f++) {
                if (theirs[f] != first[f]) {
                    throw mismatch(r, SHAPE_FIELDS.get(f) + " " + label(f, theirs[f]), label(f, first[f]), scheme, shape);
                }
            }
            if (!Arrays.equals(theirs, first)) {
                throw mismatch(r, "scheme " + schemeText(theirs), schemeText(first), scheme, shape);
            }
        }
    }

    private static IllegalArgumentException mismatch(int rank, String theirs, String rankZeros, Scheme scheme, AttentionShape shape) {
        return new IllegalArgumentException("rank " + rank + " has " + theirs + " but rank 0 has " + rankZeros + ": every rank must "
                + "build the same scheme for the same shape and dtype (this rank: " + scheme + ", " + shape + ")");
    }

    /** The shape's fields, then the scheme's text (its record's: name and settings) as characters. */
    private static int[] describe(Scheme scheme, AttentionShape shape) {
        int[] head = {Math.toIntExact(shape.seqLen()), shape.heads(), shape.kvHeads(), shape.headDim(), shape.dtype().ordinal(),
                shape.causal() ? 1 : 0};
        String text = scheme.toString();
        int[] all = Arrays.copyOf(head, head.length + 2 + SCHEME_CHARS);
        all[head.length] = text.hashCode();
        all[head.length + 1] = text.length();
        for (int i = 0; i < Math.min(text.length(), SCHEME_CHARS); i++) {
            all[head.length + 2 + i] = text.charAt(i);
        }
        return all;
    }

    private static String label(int field, int value) {
        return switch (SHAPE_FIELDS.get(field)) {
            case "dtype" -> DType.values()[value].toString();
            case "causal" -> Boolean.toString(value == 1);
            default -> Integer.toString(value);
        };
    }

    private static String schemeText(int[] described) {
        int at = SHAPE_FIELDS.size();
        int length = Math.min(described[at + 1], SCHEME_CHARS);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < length; i++) {
            b.append((char) described[at + 2 + i]);
        }
        return b.toString();
    }

    private static int[] gather(int[] mine, Backend backend, Communicator comm) {
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
        return all;
    }
}
