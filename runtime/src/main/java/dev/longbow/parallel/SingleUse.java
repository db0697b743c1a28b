package dev.longbow.parallel;

/**
 * What a scheme's forward hands out: its saved state, which one backward may spend. Schemes
 * reuse the saved memory as scratch in backward (Ulysses rounds its gradients into the saved
 * q, k, v), so a second backward on the same state would read overwritten buffers and return
 * wrong gradients without a word; it fails instead, as does a backward after close.
 */
final class SingleUse implements SequenceParallelAttention.Saved {
    private final String scheme;
    private final SequenceParallelAttention.Saved state;
    private boolean spent;
    private boolean closed;

    SingleUse(String scheme, SequenceParallelAttention.Saved state) {
        this.scheme = scheme;
        this.state = state;
    }

    /** The state, for the one backward allowed; {@code type} is what the scheme's forward saved. */
    <S extends SequenceParallelAttention.Saved> S spend(String caller, Class<S> type) {
        if (closed) {
            throw new IllegalStateException(caller + ".backward: this saved state was closed; run forward again");
        }
        if (spent) {
            throw new IllegalStateException(caller + ".backward was already called on this saved state, and backward may "
                    + "reuse its memory; run forward again before another backward");
        }
        if (!caller.equals(scheme) || !type.isInstance(state)) {
            throw new IllegalArgumentException(caller + ".backward got the saved state of " + scheme + ".forward");
        }
        spent = true;
        return type.cast(state);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            state.close();
        }
    }
}
