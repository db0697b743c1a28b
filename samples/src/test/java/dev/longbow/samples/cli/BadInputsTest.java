package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The corpus of bad inputs to {@code longbow train}, {@code sample} and {@code plan}, run in one
 * JVM: every one ends before any work with exit code 2 and one or two lines that name the value
 * (the expected text), never a stack trace, in a few seconds at most. The table in
 * samples/TRAINING.md counts them.
 */
class BadInputsTest {
    @TempDir
    static Path files;

    @BeforeAll
    static void userFiles() throws IOException {
        Files.write(files.resolve("empty.txt"), new byte[0]);
        Files.write(files.resolve("latin1.txt"), "caf\u00e9 na\u00efve r\u00e9sum\u00e9".getBytes(StandardCharsets.ISO_8859_1));
        Files.write(files.resolve("model.bin"), new byte[] {'P', 'K', 3, 4, 0, 0, 1});
        Files.createDirectories(files.resolve("no-text"));
        Files.write(files.resolve("no-text/image.png"), new byte[] {1, 2, 3});
        Files.createDirectories(files.resolve("empty-texts"));
        Files.write(files.resolve("empty-texts/a.txt"), new byte[0]);
        Files.write(files.resolve("empty-texts/b.md"), new byte[0]);
        Files.createDirectories(files.resolve("used-run"));
        Files.writeString(files.resolve("used-run/metrics.jsonl"), "{\"step\":0,\"loss\":9.1}\n");
        Files.createDirectories(files.resolve("empty-ckpt"));
        Files.createDirectories(files.resolve("partial-ckpt"));
        Files.write(files.resolve("partial-ckpt/r1-step-00000010.safetensors.5521.tmp"), new byte[64]);
        Files.createDirectories(files.resolve("legacy-ckpt"));
        Files.write(files.resolve("legacy-ckpt/step-00000030.safetensors"), new byte[64]);
        Files.createDirectories(files.resolve("corrupt-ckpt"));
        Files.write(files.resolve("corrupt-ckpt/r1-step-00000010.safetensors"), new byte[] {42, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        Files.writeString(files.resolve("nofield.jsonl"), "{\"content\": \"a document\"}\n");
        Files.createDirectories(files.resolve("scaled-model"));
        Files.writeString(files.resolve("scaled-model/config.json"), "{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": "
                + "\"llama3\"}, \"vocab_size\": 60000, \"hidden_size\": 64, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                + "\"intermediate_size\": 128}");
    }

    /** Each case: the command line ({@code FILES} stands for the folder of user files), and text the message must hold. */
    static Stream<Arguments> badInputs() {
        String passkey = "--data passkey --seq-len 128 --ranks 2 --steps 1 ";
        List<Arguments> all = new ArrayList<>();
        train(all, "--scheme sideways", "unknown scheme 'sideways'; choose one of [ulysses, ring, wallfacer, fpdt, hybrid]");
        train(all, "--ranks 3 --seq-len 1000", "use --seq-len 1002");
        train(all, "--ranks 0", "--ranks 0 --seq-len 1024 --model tiny (4 heads, 2 kv heads): ranks 0 must be at least 1");
        train(all, "--ranks -2", "--ranks -2 --seq-len 1024 --model tiny (4 heads, 2 kv heads): ranks -2 must be at least 1");
        train(all, "--scheme ulysses --ranks 8 --seq-len 1024", "heads 4 not divisible by ranks 8");
        train(all, "--scheme wallfacer --ranks 6 --seq-len 1032 --team-size 2", "not divisible by C^2 = 4");
        train(all, "--team-size 3", "WallFacer team size 3 does not divide ranks 4");
        train(all, "--team-size 0", "WallFacer team size 0 must be at least 1");
        train(all, "--scheme ring --ranks 4 --seq-len 1036", "cannot be cut into 2 x 4 = 8 equal zigzag chunks");
        train(all, "--scheme fpdt --ranks 2 --seq-len 512 --chunk-size 100", "does not divide the local sequence 256");
        train(all, "--scheme fpdt --chunk-size 0", "FPDT chunk size 0 must be at least 1");
        train(all, "--scheme hybrid --ulysses-degree 0", "Ulysses degree 0 must be at least 1");
        train(all, "--model enormous", "unknown model 'enormous'; choose one of [tiny, small, base, large]");
        train(all, "--backend quantum", "unknown backend 'quantum'");
        train(all, "--tokenizer klingon", "unknown tokenizer 'klingon'; choose one of [cl100k, o200k, p50k, r50k]");
        train(all, "--arrangement sideways", "expected one of [TEAMS_ADJACENT, RINGS_ADJACENT]");
        train(all, "--passkey-targets some", "--passkey-targets some: choose answer or all");
        train(all, "--seq-len 0", "sequence length 0 must be at least 2");
        train(all, "--seq-len -4", "sequence length -4 must be at least 2");
        train(all, "--seq-len 99999999999", "'99999999999' is not a whole number from -2147483648 to 2147483647");
        train(all, "--seq-len 2147483647 --ranks 1 --scheme ulysses", "is more than the 1073741824 tokens (2^30)");
        train(all, "--steps 0", "steps 0 and batch 1 must be at least 1");
        train(all, "--steps -1", "steps -1 and batch 1 must be at least 1");
        train(all, "--steps abc", "'abc' is not a whole number");
        train(all, "--batch 0", "and batch 0 must be at least 1");
        train(all, "--seed abc", "'abc' is not a whole number from -9223372036854775808");
        train(all, "--lr Infinity", "learning rate Infinity is not a finite number: --lr");
        train(all, "--lr NaN", "learning rate NaN is not a finite number: --lr");
        train(all, "--lr -1", "learning rate -1.0 must be positive");
        train(all, "--lr fast", "Invalid value for option '--lr': 'fast'");
        train(all, "--weight-decay NaN", "weight decay NaN is not a finite number: --weight-decay");
        train(all, "--weight-decay -Infinity", "weight decay -Infinity is not a finite number");
        train(all, "--clip NaN", "gradient clip NaN is not a finite number: --clip");
        train(all, "--clip -1", "clip -1.0, weight decay 0.1 and eps 1.0E-8 must not be negative");
        train(all, "--warmup -3", "warmup -3 must not be negative");
        train(all, "--logit-chunk 0", "logit chunk rows 0 must be at least 1");
        train(all, "--keep 0", "--checkpoint-every, --keep and --eval-samples must be at least 1");
        train(all, "--checkpoint-every 0", "--checkpoint-every, --keep and --eval-samples must be at least 1");
        train(all, "--eval-samples 0", "--checkpoint-every, --keep and --eval-samples must be at least 1");
        train(all, "--on-nonfinite maybe", "expected one of [STOP, SKIP] (case-insensitive) but was 'maybe'");
        train(all, "--on-save-error later", "expected one of [STOP, CONTINUE] (case-insensitive) but was 'later'");
        train(all, "--collective-timeout 0", "--collective-timeout 0: a collective timeout must be more than 0 and at most 86400 s");
        train(all, "--collective-timeout 100000", "must be more than 0 and at most 86400 s (one day)");
        train(all, "--nosuch", "Unknown option: '--nosuch'");
        train(all, "--ranks 100000 --seq-len 100000", "GiB of host memory (100000 ranks x");
        train(all, "--model base --seq-len 4194304 --ranks 4", "needs about");
        train(all, "--model large --seq-len 1048576 --ranks 1 --scheme ring", "is available; use a shorter --seq-len, --recompute");
        train(all, "--data /no/such/corpus", "--data /no/such/corpus: no such file or folder");
        train(all, "--data FILES/empty.txt", "empty.txt is empty (0 bytes of text): there is nothing to train on");
        train(all, "--data FILES/empty-texts", "empty-texts is empty (0 bytes of text)");
        train(all, "--data FILES/latin1.txt", "latin1.txt is not UTF-8 text: byte 0xE9 at offset 3 is not UTF-8 (Latin-1");
        train(all, "--data FILES/model.bin", "model.bin is not UTF-8 text: a NUL byte at offset 4: binary data, not text");
        train(all, "--data FILES/no-text", "no-text holds no text files (extensions read:");
        train(all, "--resume", "--resume needs --checkpoint-dir");
        train(all, passkey + "--checkpoint-dir FILES/empty.txt", "empty.txt is a file, not a folder; choose another --checkpoint-dir");
        train(all, passkey + "--checkpoint-dir /proc/longbow-ckpt", "cannot create checkpoint folder /proc/longbow-ckpt");
        train(all, passkey + "--checkpoint-dir FILES/c --run-id ../x", "run id '../x' must be 1 to 64 letters, digits");
        train(all, passkey + "--resume --checkpoint-dir FILES/missing-ckpt", "holds nothing (the folder does not exist)");
        train(all, passkey + "--resume --checkpoint-dir FILES/empty-ckpt", "holds nothing (the folder is empty)");
        train(all, passkey + "--resume --checkpoint-dir FILES/partial-ckpt", "holds 1 partial file of interrupted writes");
        train(all, passkey + "--resume --checkpoint-dir FILES/legacy-ckpt", "1 checkpoint of an older Longbow without run id");
        train(all, passkey + "--resume --checkpoint-dir FILES/corrupt-ckpt", "refusing checkpoint");
        train(all, passkey + "--resume --checkpoint-dir FILES/corrupt-ckpt --run-id r2", "holds no checkpoint of run r2");
        all.add(Arguments.of("train " + passkey + "--run-dir FILES/empty.txt", "--run-dir FILES/empty.txt is a file, not a folder"));
        all.add(Arguments.of("train " + passkey + "--run-dir FILES/used-run", "--run-dir FILES/used-run already holds the metrics.jsonl "
                + "of an earlier run; choose another --run-dir, or pass --resume"));
        train(all, "--data passkey --seq-len 64 --ranks 2 --steps 1", "no place for the key away from the answer's rank");
        sample(all, "sideways", "unknown scheme 'sideways'; choose one of [ulysses, ring, wallfacer, fpdt, hybrid]");
        sample(all, "ring --seed abc", "--seed': 'abc' is not a whole number from -9223372036854775808 to 9223372036854775807");
        sample(all, "ring --iterations -1", "--iterations -1 must be at least 0");
        sample(all, "ring --ranks four", "--ranks': 'four' is not a whole number from -2147483648 to 2147483647");
        sample(all, "ring --ranks 0", "ranks 0 must be at least 1");
        sample(all, "ring --ranks 3", "sequence length 2048 not divisible by ranks 3");
        sample(all, "ring --seq-len 0", "must be positive");
        sample(all, "ring --seq-len 99999999999", "sequence length 99999999999 not divisible by ranks 4");
        sample(all, "ring --ranks 2 --seq-len 1073741824 --heads 64", "elements per tensor, more than the 2147483639 one Java array holds");
        sample(all, "ring --heads 0", "must be positive");
        sample(all, "ring --kv-heads 3", "heads 8 not divisible by kv heads 3");
        sample(all, "ring --dtype f64", "--dtype': 'f64' is not one of f32|bf16");
        sample(all, "ring --causal maybe", "--causal': 'maybe' is not a boolean");
        sample(all, "ring --backend metal --seq-len 64", "unknown backend 'metal'");
        sample(all, "ring --rank 4", "Unknown options: '--rank', '4'");
        sample(all, "ring --ranks", "Missing required parameter for option '--ranks'");
        sample(all, "wallfacer --team-size 3", "team size 3");
        sample(all, "hybrid --ulysses-degree 3", "Ulysses degree 3");
        train(all, "--init-from FILES/no-such-model", "has no config.json");
        train(all, "--init-from FILES/scaled-model", "rope_scaling {\"rope_type\":\"llama3\"} is not supported");
        train(all, "--lr-schedule step", "unknown learning-rate schedule 'step'; choose one of [cosine, linear, constant, wsd]");
        train(all, "--lr-schedule wsd --decay-fraction 0", "(e.g. --decay-fraction 0.2)");
        train(all, "--eval-every -1", "--eval-every -1 must not be negative");
        train(all, "--grad-accum 0", "--grad-accum 0 must be at least 1");
        train(all, "--eval-every 5 --holdout 1.5", "held-out fraction 1.5 must lie strictly between 0 and 1");
        train(all, "--data FILES/nofield.jsonl", "has no string field \"text\" (its fields: [content]); name the field with --text-field");
        train(all, "--tokenizer FILES/missing/tokenizer.json", "no such file or folder");
        command(all, "export-hf FILES/none.safetensors FILES/out", "checkpoint FILES/none.safetensors: no such file");
        command(all, "export-hf FILES/corrupt-ckpt/r1-step-00000010.safetensors FILES/out", "r1-step-00000010.safetensors");
        command(all, "export-hf FILES/corrupt-ckpt/r1-step-00000010.safetensors FILES/used-run", "is not empty");
        command(all, "export-hf FILES/corrupt-ckpt/r1-step-00000010.safetensors", "Missing required parameter: 'DIR'");
        command(all, "generate FILES/scaled-model", "pass either --prompt TEXT or --passkey N");
        command(all, "generate FILES/none --prompt hi", "model FILES/none: no such file or folder");
        command(all, "generate FILES/empty-ckpt --prompt hi", "has no config.json");
        command(all, "generate FILES/scaled-model --prompt hi", "rope_scaling {\"rope_type\":\"llama3\"} is not supported");
        command(all, "generate FILES/empty-ckpt --prompt hi --top-p 0", "(e.g. --top-p 0.9)");
        command(all, "generate FILES/empty-ckpt --prompt hi --max-tokens 0", "--max-tokens 0 and --passkey must be at least 1");
        plan(all, "", "--seq-len is required");
        plan(all, "--seq-len 0", "a sequence length must be positive, got 0");
        plan(all, "--seq-len lots", "'lots' is not a token count");
        plan(all, "--seq-len 99999999999999999M", "is not a token count from 1 to 9223372036854775807");
        plan(all, "--seq-len 1M --top 0", "--top 0 must be at least 1");
        plan(all, "--seq-len 1M --model foo", "unknown model 'foo'");
        plan(all, "--seq-len 1M --cluster foo", "unknown cluster 'foo'");
        plan(all, "--seq-len 1M --nodes 0", "0 nodes of 8 GPUs");
        plan(all, "--seq-len 1M --nodes -1", "-1 nodes of 8 GPUs");
        plan(all, "--seq-len 1M --gpus-per-node 0", "1 nodes of 0 GPUs");
        plan(all, "--seq-len 1M --gpu-memory-gib -1", "memories, bandwidths and throughputs must be positive");
        plan(all, "--seq-len 1M --matmul-tflops NaN", "memories, bandwidths and throughputs must be positive");
        plan(all, "--seq-len 1M --model custom", "--model custom needs --layers, --hidden, --heads, --ffn and --vocab");
        plan(all, "--seq-len 1M --model custom --layers 0 --hidden 0 --heads 0 --ffn 0 --vocab 0", "every dimension must be positive");
        plan(all, "--seq-len 1M --chart /no/such/folder/x.png", "--chart /no/such/folder/x.png: cannot write into /no/such/folder");
        plan(all, "--seq-len 1M --nodes many", "'many' is not a whole number");
        plan(all, "--seq-len 1M --batch 0", "--batch 0 must be at least 1");
        plan(all, "--seq-len 1M --attention-tflops 300", "--attention-tflops and --attention-bwd-tflops go together");
        plan(all, "--seq-len 1M --network-gbps 50", "Unknown options: '--network-gbps'");
        plan(all, "--seq-len 1M --stack megatron", "--stack");
        return all.stream();
    }

    private static void train(List<Arguments> all, String args, String expected) {
        all.add(Arguments.of("train --run-dir target/never " + args, expected));
    }

    private static void sample(List<Arguments> all, String args, String expected) {
        all.add(Arguments.of("sample " + args, expected));
    }

    private static void command(List<Arguments> all, String args, String expected) {
        all.add(Arguments.of(args, expected));
    }

    private static void plan(List<Arguments> all, String args, String expected) {
        all.add(Arguments.of(("plan " + args).strip(), expected));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void aBadInputEndsInOneOrTwoLinesAndExitCode2(String commandLine, String expected) {
        String[] argv = commandLine.replace("FILES", files.toString()).split(" ");
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        long start = System.nanoTime();
        int code;
        try {
            code = cli.execute(argv);
        } finally {
            System.setOut(stdout);
        }
        String message = err.toString();
        assertEquals(2, code, message + out);
        assertTrue(message.replace(files.toString(), "FILES").contains(expected.replace(files.toString(), "FILES")),
                "expected '" + expected + "' in: " + message);
        assertTrue(message.strip().lines().count() <= 2, "one or two lines: " + message);
        assertFalse(message.contains("\tat ") || message.contains("Exception"), "no stack trace: " + message);
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "ends before any training work");
    }
}
