package dev.longbow.plan;

import dev.longbow.model.Precision;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * What a plan searches over, besides the schemes: the sequence, the precision, the batch, and
 * which layouts, recomputation and offload settings to try.
 *
 * @param seqLen        tokens per sequence
 * @param causal        whether attention is causal
 * @param precision     what the model computes in
 * @param batch         sequences per optimizer step over all groups; 0: one per data-parallel group
 * @param dataParallel  the data-parallel degrees to try (each dividing the GPUs)
 * @param recompute     the recomputation settings to try
 * @param offload       the checkpoint-offload settings to try
 * @param shardModelStates the model-state settings to try: whole on every rank, sharded over the ranks
 *                      ({@code longbow train --shard-model-states}; ZeRO-3 always shards)
 */
public record Search(long seqLen, boolean causal, Precision precision, int batch, List<Integer> dataParallel, List<Boolean> recompute,
                     List<Boolean> offload, List<Boolean> shardModelStates) {

    public Search {
        Objects.requireNonNull(precision, "precision");
        if (seqLen < 1 || batch < 0) {
            throw new IllegalArgumentException("sequence length " + seqLen + " must be positive and batch " + batch + " not negative");
        }
        dataParallel = List.copyOf(dataParallel);
        recompute = List.copyOf(recompute);
        offload = List.copyOf(offload);
        shardModelStates = List.copyOf(shardModelStates);
        if (dataParallel.isEmpty() || recompute.isEmpty() || offload.isEmpty() || shardModelStates.isEmpty()) {
            throw new IllegalArgumentException("a search needs at least one layout, recomputation, offload and model-state setting");
        }
    }

    /** A search that keeps {@code longbow train}'s model states whole on every rank. */
    public Search(long seqLen, boolean causal, Precision precision, int batch, List<Integer> dataParallel, List<Boolean> recompute,
                  List<Boolean> offload) {
        this(seqLen, causal, precision, batch, dataParallel, recompute, offload, List.of(false));
    }

    /**
     * Every layout of {@code gpus} GPUs, with and without recomputation, model states whole and
     * sharded, without offload: what {@code longbow plan} tries by default.
     */
    public static Search everything(long seqLen, boolean causal, Precision precision, int gpus) {
        return new Search(seqLen, causal, precision, 0, divisors(gpus), List.of(false, true), List.of(false), List.of(false, true));
    }

    /** This search for another sequence length. */
    public Search withSeqLen(long n) {
        return new Search(n, causal, precision, batch, dataParallel, recompute, offload, shardModelStates);
    }

    /** This search with these data-parallel degrees. */
    public Search withDataParallel(List<Integer> degrees) {
        return new Search(seqLen, causal, precision, batch, degrees, recompute, offload, shardModelStates);
    }

    /** This search with these recomputation settings. */
    public Search withRecompute(List<Boolean> settings) {
        return new Search(seqLen, causal, precision, batch, dataParallel, settings, offload, shardModelStates);
    }

    /** This search with these checkpoint-offload settings. */
    public Search withOffload(List<Boolean> settings) {
        return new Search(seqLen, causal, precision, batch, dataParallel, recompute, settings, shardModelStates);
    }

    /** This search with these model-state settings. */
    public Search withShardModelStates(List<Boolean> settings) {
        return new Search(seqLen, causal, precision, batch, dataParallel, recompute, offload, settings);
    }

    /** The batch of a run with {@code groups} data-parallel groups. */
    int batchFor(int groups) {
        return batch == 0 ? groups : batch;
    }

    /** The divisors of {@code n}, ascending: every data-parallel degree of {@code n} GPUs. */
    public static List<Integer> divisors(int n) {
        return IntStream.rangeClosed(1, n).filter(d -> n % d == 0).boxed().toList();
    }
}
