package dev.longbow.backend.cpu;

import java.util.Arrays;
import java.util.EnumMap;

/**
 * The flash kernels' fp32 packings, kept from one call to the next. A training step calls
 * attention with the same shapes again and again; packing into fresh arrays cost every backward
 * at S = 4096, H = 8, D = 64 about 77 MB of new Java arrays (zeroed by the JVM, then collected),
 * and fresh heap regions after the heap grew cost a page fault per 4 KiB on top.
 *
 * <p>An array is replaced only when a call needs a longer one, never shrunk: the scratch holds
 * the largest call's packings until its backend is dropped. Contents are whatever the last call
 * left, so the kernels write every element they read, padding included. Not thread-safe: one
 * call holds a scratch at a time ({@link CpuAttention} hands it out).
 */
final class AttentionScratch {
    /** What an array set holds; one set of arrays (one per head, or per head and chunk) each. */
    enum Packing {
        /** Keys as padded rows: the forward's {@code S = K Q^T}, the backward's {@code dQ += dS K}. */
        KEY_ROWS,
        /** Values as padded rows (forward). */
        VALUE_ROWS,
        /** Keys and values transposed block by block (backward). */
        KEY_BLOCKS_T,
        VALUE_BLOCKS_T,
        /** Queries and output gradients as padded rows (backward). */
        QUERY_ROWS,
        DOUT_ROWS,
        /** Per query: lse in base 2 and {@code D = rowsum(dO * O)} (backward). */
        LSE2,
        DELTA,
        /** Each work item's partial dQ (backward). */
        DQ_PARTIAL
    }

    private final EnumMap<Packing, float[][]> sets = new EnumMap<>(Packing.class);

    /** At least {@code count} arrays of at least {@code length} floats each, contents unspecified. */
    float[][] arrays(Packing packing, int count, int length) {
        float[][] set = sets.getOrDefault(packing, new float[0][]);
        if (set.length < count) {
            set = Arrays.copyOf(set, count);
            sets.put(packing, set);
        }
        for (int i = 0; i < count; i++) {
            if (set[i] == null || set[i].length < length) {
                set[i] = new float[length];
            }
        }
        return set;
    }
}
