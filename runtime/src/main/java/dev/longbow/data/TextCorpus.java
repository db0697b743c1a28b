package dev.longbow.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Real text as training sequences of {@code length} tokens. Documents are visited in an order
 * fixed by the seed: first those likely to be longer than the context (by byte size), then the
 * rest. A long document gives consecutive windows of its own text (its tail shorter than a window
 * is dropped); short documents are packed together, separated by the end-of-text token. After the
 * last document the order is reshuffled (next epoch).
 *
 * <p>The position is (document index, tokens consumed in it): resuming re-tokenizes one document.
 */
public final class TextCorpus implements SequenceSource {
    /** A generous bytes-per-token estimate: documents above it are "long" before tokenizing them. */
    private static final double BYTES_PER_TOKEN = 4.0;

    private final TextDocuments docs;
    private final Tokenizer tokenizer;
    private final int length;
    private final long seed;
    private final int longCount;
    private long document;
    private long offset;
    private long sequences;
    private long cachedIndex = -1;
    private int[] cached;
    private int[] epochOrder;
    private long epoch = -1;

    /**
     * Sequences of {@code length} tokens (and their targets) from {@code docs}, in an order drawn from {@code seed}.
     *
     * @param docs      the documents
     * @param tokenizer encodes them
     * @param length    tokens per sequence
     * @param seed      the document order's seed
     */
    public TextCorpus(TextDocuments docs, Tokenizer tokenizer, int length, long seed) {
        this.docs = docs;
        this.tokenizer = tokenizer;
        this.length = length;
        this.seed = seed;
        long threshold = (long) ((length + 1) * BYTES_PER_TOKEN);
        this.longCount = (int) docs.documents().stream().filter(d -> d.bytes() >= threshold).count();
    }

    /** How many documents are expected to be longer than the context. */
    public int longDocuments() {
        return longCount;
    }

    @Override
    public TokenSequence next() {
        int[] window = new int[length + 1];
        int filled = 0;
        int emptyInARow = 0;
        while (filled < window.length) {
            int[] doc = tokens(document);
            boolean ownsWindow = doc.length >= window.length;
            if (doc.length == 0 || (filled == 0 && ownsWindow && doc.length - offset < window.length)) {
                if (++emptyInARow > 2 * docs.documents().size()) {
                    throw new IllegalStateException("none of the " + docs.documents().size() + " documents of " + docs.description()
                            + " gives text: each holds a NUL byte or bytes of another encoding, or lies on the other side of the "
                            + "held-out split; convert them to UTF-8, pass other --data, or hold out a larger --holdout fraction");
                }
                advance(); // a long document's tail: the next window starts a fresh document
                continue;
            }
            emptyInARow = 0;
            int take = (int) Math.min(window.length - filled, doc.length - offset);
            System.arraycopy(doc, (int) offset, window, filled, take);
            filled += take;
            offset += take;
            if (offset == doc.length) {
                advance();
            }
        }
        sequences++;
        return TokenSequence.nextToken(window, 0, length);
    }

    private void advance() {
        document++;
        offset = 0;
    }

    /**
     * Document {@code index}'s tokens followed by end-of-text (each of its texts so, for a part of
     * a JSONL file); empty when it is binary or on the other side of the split.
     */
    private int[] tokens(long index) {
        if (index != cachedIndex) {
            TextDocuments.Document d = docs.documents().get(order(index));
            List<int[]> parts = new ArrayList<>();
            int total = 0;
            for (String text : docs.texts(d)) {
                int[] ids = tokenizer.encode(text);
                int[] withEnd = Arrays.copyOf(ids, ids.length + 1);
                withEnd[ids.length] = tokenizer.endOfText();
                parts.add(withEnd);
                total += withEnd.length;
            }
            cached = new int[total];
            int at = 0;
            for (int[] p : parts) {
                System.arraycopy(p, 0, cached, at, p.length);
                at += p.length;
            }
            cachedIndex = index;
        }
        return cached;
    }

    /** The document visited {@code index}-th: long documents first, each group shuffled per epoch. */
    private int order(long index) {
        int n = docs.documents().size();
        long e = index / n;
        if (e != epoch) {
            long threshold = (long) ((length + 1) * BYTES_PER_TOKEN);
            List<Integer> longDocs = new ArrayList<>(), shortDocs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                (docs.documents().get(i).bytes() >= threshold ? longDocs : shortDocs).add(i);
            }
            Random random = new Random(seed * 1_000_003L + e);
            Collections.shuffle(longDocs, random);
            Collections.shuffle(shortDocs, random);
            longDocs.addAll(shortDocs);
            epochOrder = longDocs.stream().mapToInt(Integer::intValue).toArray();
            epoch = e;
        }
        return epochOrder[(int) (index % n)];
    }

    @Override
    public DataPosition position() {
        return new DataPosition(sequences, document, offset);
    }

    @Override
    public void seek(DataPosition p) {
        sequences = p.sequences();
        document = p.document();
        offset = p.offset();
    }

    @Override
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    @Override
    public String tokenizer() {
        return tokenizer.name();
    }

    @Override
    public String describe() {
        return docs.description() + " (" + docs.documents().size() + " documents, " + longCount + " longer than "
                + length + " tokens by size), tokenizer " + tokenizer.name();
    }

    @Override
    public void close() {
        docs.close();
    }
}
