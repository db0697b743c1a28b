package dev.longbow.checkpoint;

import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The id that makes checkpoints belong to one run: in every checkpoint's file name and (covered
 * by the header checksum) in its metadata. A run keeps its id across resumes; a new run gets a
 * fresh one, so runs sharing a folder never prune or resume each other's checkpoints.
 */
public final class RunId {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private RunId() {
    }

    /** A fresh id: the start time and four random hex digits, e.g. {@code 20260105-142233-7f3a}. */
    public static String fresh() {
        byte[] random = new byte[2];
        RANDOM.nextBytes(random);
        return LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + HexFormat.of().formatHex(random);
    }

    /** {@code id} when it can name files: 1 to 64 letters, digits, '.', '_' or '-', not starting with a symbol. */
    public static String require(String id) {
        if (id == null || !VALID.matcher(id).matches()) {
            throw new IllegalArgumentException("run id '" + id + "' must be 1 to 64 letters, digits, '.', '_' or '-', "
                    + "starting with a letter or digit (it is part of every checkpoint's file name)");
        }
        return id;
    }
}
