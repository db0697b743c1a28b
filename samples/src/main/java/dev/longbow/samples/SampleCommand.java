package dev.longbow.samples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.tensor.DType;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code longbow sample SCHEME [options]}: one scheme's sample ({@link SchemeSample}) with the
 * scheme options {@code longbow train} takes, defaults sized for a laptop CPU. Exit code 1 when
 * the check against single-device attention fails.
 */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run one scheme's attention sample: forward and backward on N ranks, time, traffic and memory"
                + " per rank, and a check against single-device attention.")
public final class SampleCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SCHEME", completionCandidates = SchemeOptions.Names.class,
            description = "the scheme: ${COMPLETION-CANDIDATES}")
    String scheme;
    @Option(names = "--ranks", defaultValue = "4", description = "ranks: threads on the CPU, GPUs with --backend cuda, threads sharing "
            + "GPUs with --communicator device (default: ${DEFAULT-VALUE})")
    int ranks;
    @Option(names = "--seq-len", defaultValue = "2048", description = "tokens in the whole sequence, split over the ranks (default: ${DEFAULT-VALUE})")
    long seqLen;
    @Option(names = "--heads", defaultValue = "8", description = "query heads (default: ${DEFAULT-VALUE})")
    int heads;
    @Option(names = "--kv-heads", description = "key/value heads, GQA when fewer than the query heads (default: the query heads)")
    Integer kvHeads;
    @Option(names = "--head-dim", defaultValue = "64", description = "head dimension (default: ${DEFAULT-VALUE})")
    int headDim;
    @Option(names = "--causal", arity = "1", defaultValue = "true", description = "true|false: the causal mask (default: ${DEFAULT-VALUE})")
    boolean causal;
    @Mixin
    DeviceOptions device;
    @Option(names = "--dtype", converter = AttentionDType.class, description = "f32|bf16 (default: bf16 on cuda, whose flash "
            + "kernels take bf16; f32 elsewhere)")
    DType dtype;
    @Mixin
    SchemeOptions schemeOptions;
    @Option(names = "--iterations", defaultValue = "3", description = "timed forward+backward passes after one warm-up (default: ${DEFAULT-VALUE})")
    int iterations;
    @Option(names = "--seed", description = "input seed (default: from the clock, printed)")
    Long seed;
    @Option(names = "--check", arity = "1", defaultValue = "true", description = "true|false: compare with single-device attention "
            + "(default: ${DEFAULT-VALUE})")
    boolean check;

    @Override
    public Integer call() {
        return SchemeSample.run(options()) ? 0 : 1;
    }

    /** What the command line asks for, checked: a scheme and shape that cannot run throw {@link IllegalArgumentException}. */
    SampleOptions options() {
        if (iterations < 0) {
            throw new IllegalArgumentException("--iterations " + iterations + " must be at least 0");
        }
        // The dtype the backend trains in: f32 where it can, else bf16 (cuda's flash kernels).
        BackendChoice chosen = device.backend();
        DType attention = dtype != null ? dtype : chosen.trainingDTypes().contains(DType.F32) ? DType.F32 : DType.BF16;
        AttentionShape shape = new AttentionShape(seqLen, heads, kvHeads != null ? kvHeads : heads, headDim, attention, causal);
        return new SampleOptions(schemeOptions.scheme(scheme, ranks, seqLen), ranks, shape, chosen,
                device.communicator(), iterations, seed != null ? seed : System.nanoTime(), check);
    }

    /** The command line over a fresh command, as every entry point parses it. */
    static CommandLine commandLine() {
        return new CommandLine(new SampleCommand()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    /** The dtypes attention runs in, by their lower-case names. */
    static final class AttentionDType implements ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "f32" -> DType.F32;
                case "bf16" -> DType.BF16;
                default -> throw new TypeConversionException("'" + value + "' is not one of f32|bf16");
            };
        }
    }
}
