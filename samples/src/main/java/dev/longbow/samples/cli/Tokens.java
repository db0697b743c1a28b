package dev.longbow.samples.cli;

import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;

/** Token counts as people write them: 131072, 128K, 2M (K = 1024). */
final class Tokens implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        long unit = v.endsWith("K") ? 1L << 10 : v.endsWith("M") ? 1L << 20 : 1;
        String digits = unit == 1 ? v : v.substring(0, v.length() - 1);
        long n;
        try {
            n = Math.multiplyExact(Long.parseLong(digits), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a token count from 1 to " + Long.MAX_VALUE
                    + " (like 131072, 128K or 2M)");
        }
        if (n < 1) {
            throw new CommandLine.TypeConversionException("a sequence length must be positive, got " + value);
        }
        return n;
    }

    static String format(long n) {
        if (n % (1L << 20) == 0) {
            return (n >> 20) + "M";
        }
        return n % (1L << 10) == 0 ? (n >> 10) + "K" : Long.toString(n);
    }
}
