package dev.longbow.data;

import dev.longbow.parallel.SequenceLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Passkey retrieval (Mohtashami and Jaggi, "Landmark Attention", 2023): a random {@value #DIGITS}-digit
 * key is stated once early in a long stretch of filler sentences, and the sequence ends by asking
 * for it. The loss (and the accuracy) is taken only on the digits of the answer, which can be
 * predicted only by attending back to where the key was stated; the key is placed in a rank's
 * shard other than the one holding the answer, so the scheme must carry it across ranks.
 */
public final class PasskeyTask implements SequenceSource {
    public static final int DIGITS = 5;
    private static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

    private final Tokenizer tokenizer;
    private final int length;
    private final long seed;
    private final int[] filler;
    private final int[] keyIntro;
    private final int[] keyOutro;
    private final int[] question;
    private final int[] period;
    private final int[] digit = new int[10];
    private final int[] keyStarts;
    private long sample;

    /**
     * @param layout how the sequence is split over {@code ranks}: the key goes to another rank than the answer
     */
    public PasskeyTask(Tokenizer tokenizer, int length, long seed, SequenceLayout layout, int ranks) {
        this.tokenizer = tokenizer;
        this.length = length;
        this.seed = seed;
        this.filler = tokenizer.encode(FILLER);
        this.keyIntro = tokenizer.encode(" The pass key is");
        this.keyOutro = tokenizer.encode(". Remember it.");
        this.question = tokenizer.encode(" What is the pass key? The pass key is");
        this.period = tokenizer.encode(".");
        for (int d = 0; d < 10; d++) {
            int[] t = tokenizer.encode(" " + d);
            if (t.length != 1) {
                throw new IllegalStateException("tokenizer " + tokenizer.name() + " splits the digit \" " + d + "\"");
            }
            digit[d] = t[0];
        }
        int tail = question.length + DIGITS + period.length;
        int keyLen = keyIntro.length + DIGITS + keyOutro.length;
        if (length + 1 < tail + keyLen + 8) {
            throw new IllegalArgumentException("passkey sequences need at least " + (tail + keyLen + 8) + " tokens, got " + length);
        }
        this.keyStarts = keyStarts(layout, ranks, keyLen, tail);
    }

    /** Where the key sentence may start: in the first half, wholly on ranks that hold none of the answer. */
    private int[] keyStarts(SequenceLayout layout, int ranks, int keyLen, int tail) {
        int[] owner = new int[length];
        for (int r = 0; r < ranks; r++) {
            for (long i = 0; i < length / ranks; i++) {
                owner[(int) layout.globalPosition(r, ranks, length, i)] = r;
            }
        }
        int answerFrom = length + 1 - DIGITS - period.length - 1; // the row that predicts the first digit
        java.util.Set<Integer> answerRanks = new java.util.HashSet<>();
        for (int i = answerFrom; i < answerFrom + DIGITS; i++) {
            answerRanks.add(owner[i]);
        }
        List<Integer> starts = new ArrayList<>();
        for (int p = 1; p + keyLen < Math.max(keyLen + 2, (length + 1 - tail) / 2); p++) {
            boolean elsewhere = true;
            for (int i = p; i < p + keyLen && ranks > 1; i++) {
                elsewhere &= !answerRanks.contains(owner[i]);
            }
            if (elsewhere) {
                starts.add(p);
            }
        }
        if (starts.isEmpty()) {
            throw new IllegalArgumentException("no place for the key away from the answer's rank in " + length + " tokens on "
                    + ranks + " ranks; use a longer sequence");
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public TokenSequence next() {
        return sample(new Random(seed * 1_000_003L + sample++));
    }

    private TokenSequence sample(Random random) {
        int[] key = new int[DIGITS];
        for (int i = 0; i < DIGITS; i++) {
            key[i] = digit[random.nextInt(10)];
        }
        int[] window = new int[length + 1];
        int f = random.nextInt(filler.length);
        for (int i = 0; i < window.length; i++) {
            window[i] = filler[(f + i) % filler.length];
        }
        int at = keyStarts[random.nextInt(keyStarts.length)];
        at = put(window, at, keyIntro);
        at = put(window, at, key);
        put(window, at, keyOutro);
        int answer = window.length - period.length - DIGITS;
        put(window, answer - question.length, question);
        put(window, answer, key);
        put(window, answer + DIGITS, period);
        TokenSequence lm = TokenSequence.nextToken(window, 0, length);
        int[] targets = new int[length];
        java.util.Arrays.fill(targets, -1);
        for (int i = answer - 1; i < answer - 1 + DIGITS; i++) {
            targets[i] = lm.targets()[i];
        }
        return new TokenSequence(lm.tokens(), targets);
    }

    private static int put(int[] window, int at, int[] tokens) {
        System.arraycopy(tokens, 0, window, at, tokens.length);
        return at + tokens.length;
    }

    /** The key digits' tokens, for reading answers. */
    public String decode(int[] tokens) {
        return tokenizer.decode(tokens);
    }

    @Override
    public DataPosition position() {
        return new DataPosition(sample, sample, 0);
    }

    @Override
    public void seek(DataPosition position) {
        sample = position.document();
    }

    @Override
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    @Override
    public String describe() {
        return "passkey retrieval (" + DIGITS + " digits, key on another rank than the answer), tokenizer " + tokenizer.name();
    }
}
