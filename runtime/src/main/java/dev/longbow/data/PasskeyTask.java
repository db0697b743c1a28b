package dev.longbow.data;

import dev.longbow.parallel.SequenceLayout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Passkey retrieval (Mohtashami and Jaggi, "Landmark Attention", 2023): a random {@value #DIGITS}-digit
 * key is stated once early in a long stretch of filler sentences, and the sequence ends by asking
 * for it. The answer's digits can be predicted only by attending back to where the key was
 * stated, and the key is placed in a rank's shard other than the one holding the answer, so the
 * scheme must carry it across ranks.
 *
 * <p>The task's text uses a few dozen of the tokenizer's tokens; they are renumbered densely, so
 * a model for this task has a vocabulary of that size ({@link #vocabSize()}) and its output head
 * costs next to nothing. Training sequences carry next-token targets everywhere (predicting the
 * repeated filler is what teaches a model to copy from earlier context, the circuit retrieval
 * needs); with {@code answerOnly} only the answer's digits carry a target, for measuring accuracy.
 */
public final class PasskeyTask implements SequenceSource {
    /** Digits of a passkey. */
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
    private final int[] vocabulary;
    private final boolean answerOnly;
    private long sample;

    /**
     * @param layout     how the sequence is split over {@code ranks}: the key goes to another rank than the answer
     * @param answerOnly targets only on the answer's digits (evaluation), else everywhere (training)
     */
    public PasskeyTask(Tokenizer tokenizer, int length, long seed, SequenceLayout layout, int ranks, boolean answerOnly) {
        this.tokenizer = tokenizer;
        this.length = length;
        this.seed = seed;
        this.answerOnly = answerOnly;
        int[][] pieces = pieces(tokenizer);
        this.vocabulary = Arrays.stream(pieces).flatMapToInt(Arrays::stream).distinct().sorted().toArray();
        this.filler = dense(pieces[0]);
        this.keyIntro = dense(pieces[1]);
        this.keyOutro = dense(pieces[2]);
        this.question = dense(pieces[3]);
        this.period = dense(pieces[4]);
        for (int d = 0; d < 10; d++) {
            digit[d] = dense(pieces[5 + d])[0];
        }
        int tail = question.length + DIGITS + period.length;
        int keyLen = keyIntro.length + DIGITS + keyOutro.length;
        if (length + 1 < tail + keyLen + 8) {
            throw new IllegalArgumentException("passkey sequences need at least " + (tail + keyLen + 8) + " tokens, got " + length);
        }
        this.keyStarts = keyStarts(layout, ranks, keyLen, tail);
    }

    /** The task's text pieces in the tokenizer's ids: filler, key intro, key outro, question, period, digits 0-9. */
    private static int[][] pieces(Tokenizer tokenizer) {
        int[][] pieces = new int[15][];
        String[] text = {FILLER, " The pass key is", ". Remember it.", " What is the pass key? The pass key is", "."};
        for (int i = 0; i < text.length; i++) {
            pieces[i] = tokenizer.encode(text[i]);
        }
        for (int d = 0; d < 10; d++) {
            pieces[5 + d] = tokenizer.encode(" " + d);
            if (pieces[5 + d].length != 1) {
                throw new IllegalStateException("tokenizer " + tokenizer.name() + " splits the digit \" " + d + "\"");
            }
        }
        return pieces;
    }

    /** The vocabulary of any passkey task over {@code tokenizer}: the model's embedding rows. */
    public static int vocabSize(Tokenizer tokenizer) {
        return (int) Arrays.stream(pieces(tokenizer)).flatMapToInt(Arrays::stream).distinct().count();
    }

    private int[] dense(int[] tokens) {
        return Arrays.stream(tokens).map(t -> Arrays.binarySearch(vocabulary, t)).toArray();
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
        Set<Integer> answerRanks = new HashSet<>();
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
        if (!answerOnly) {
            return lm;
        }
        int[] targets = new int[length];
        Arrays.fill(targets, -1);
        for (int i = answer - 1; i < answer - 1 + DIGITS; i++) {
            targets[i] = lm.targets()[i];
        }
        return new TokenSequence(lm.tokens(), targets);
    }

    private static int put(int[] window, int at, int[] tokens) {
        System.arraycopy(tokens, 0, window, at, tokens.length);
        return at + tokens.length;
    }

    /** Text of this task's (renumbered) tokens. */
    public String decode(int[] tokens) {
        return tokenizer.decode(Arrays.stream(tokens).map(t -> vocabulary[t]).toArray());
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
        return vocabulary.length;
    }

    /** "task:passkey/r50k": the task's dense renumbering of the tokenizer's ids, which no tokenizer file describes. */
    @Override
    public String tokenizer() {
        return "task:passkey/" + tokenizer.name();
    }

    @Override
    public String describe() {
        return "passkey retrieval (" + DIGITS + " digits, key on another rank than the answer" + (answerOnly ? ", answer targets only" : "")
                + "), " + vocabulary.length + " tokens of tokenizer " + tokenizer.name();
    }
}
