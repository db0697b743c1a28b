package dev.longbow.comm;

import java.time.Duration;
import java.util.Map;

/**
 * How long a rank waits inside one collective or transfer for the other ranks before the whole
 * group fails, naming the ranks that never came: {@value #VARIABLE} seconds, or 10 minutes (the
 * default of PyTorch's process groups) when unset.
 */
public final class CollectiveTimeout {
    /** Seconds a collective may wait for the other ranks. */
    public static final String VARIABLE = "LONGBOW_COLLECTIVE_TIMEOUT";
    /** Ten minutes: the wait when neither the caller nor the environment names one. */
    public static final Duration DEFAULT = Duration.ofMinutes(10);
    /** The longest timeout: beyond a day a wait is as good as forever. */
    public static final Duration MAX = Duration.ofDays(1);

    private CollectiveTimeout() {
    }

    /** {@value #VARIABLE} from {@code env}, or {@link #DEFAULT}. */
    public static Duration from(Map<String, String> env) {
        String seconds = env.get(VARIABLE);
        if (seconds == null || seconds.isBlank()) {
            return DEFAULT;
        }
        try {
            return require(Duration.ofSeconds(Long.parseLong(seconds.trim())), VARIABLE + "=" + seconds);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(VARIABLE + "='" + seconds + "' is not a whole number of seconds", e);
        }
    }

    /** {@code timeout} when it is positive and at most {@link #MAX}; else an error naming {@code what}. */
    public static Duration require(Duration timeout, String what) {
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX) > 0) {
            throw new IllegalArgumentException(what + ": a collective timeout must be more than 0 and at most " + MAX.toSeconds()
                    + " s (one day); the default is " + DEFAULT.toSeconds() + " s");
        }
        return timeout;
    }

    /** "600 s", "0.2 s": for messages. */
    public static String format(Duration timeout) {
        long ms = timeout.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
