package dev.longbow.data;

/**
 * Where a {@link SequenceSource} stands.
 *
 * @param sequences sequences returned so far
 * @param document  the source's cursor: index of the next document (text) or sample (synthetic tasks)
 * @param offset    tokens of that document already consumed
 */
public record DataPosition(long sequences, long document, long offset) {
    /** The start of the data. */
    public static final DataPosition START = new DataPosition(0, 0, 0);

    @Override
    public String toString() {
        return sequences + ":" + document + ":" + offset;
    }

    /**
     * The position {@link #toString} wrote.
     *
     * @param s the text, from checkpoint metadata
     * @return the position
     */
    public static DataPosition parse(String s) {
        String[] parts = s.split(":");
        if (parts.length != 3) {
            throw new IllegalArgumentException("data position '" + s + "' is not sequences:document:offset");
        }
        return new DataPosition(Long.parseLong(parts[0]), Long.parseLong(parts[1]), Long.parseLong(parts[2]));
    }
}
