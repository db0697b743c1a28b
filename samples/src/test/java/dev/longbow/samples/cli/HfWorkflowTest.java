package dev.longbow.samples.cli;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.Json;
import dev.longbow.hf.HfWeights;
import dev.longbow.model.KvCacheDecoder;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Weights;
import dev.longbow.train.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The practitioner's loop through the CLI: train with evaluation, export to Hugging Face, import, generate. */
class HfWorkflowTest {

    /** Runs a command line; returns exit code, stdout and stderr. */
    private static String[] run(String commandLine) {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            int code = cli.execute(commandLine.split(" "));
            return new String[]{Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString()};
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    @Test
    void trainEvaluateExportReimportAndGenerate(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(data.resolve("Doc" + i + ".java"), ("class Doc" + i + " { int value() { return " + i + "; } }\n").repeat(8));
        }
        String[] r = run("train --data " + data + " --ranks 2 --seq-len 64 --steps 2 --warmup 1 --eval-every 1 --eval-sequences 1 "
                + "--holdout 0.25 --checkpoint-dir " + dir.resolve("ckpt") + " --checkpoint-every 2 --run-dir " + dir.resolve("run"));
        assertEquals("0", r[0], r[1] + r[2]);
        List<String> csv = Files.readAllLines(dir.resolve("run/metrics.csv"));
        assertTrue(csv.getFirst().startsWith("time,elapsed_s,step,loss,grad_norm,lr,tokens,tokens_per_s,eval_loss,eval_perplexity"), csv.getFirst());
        assertEquals(5, csv.size(), "header, 2 steps, 2 evaluations: " + csv);
        assertTrue(Files.readString(dir.resolve("run/metrics.jsonl")).contains("\"eval_loss\":"));
        Map<?, ?> config = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("run/run-config.json")));
        assertEquals(1L, ((Map<?, ?>) config.get("options")).get("eval-every"));
        assertTrue(Files.isRegularFile(dir.resolve("run/loss.png")));

        Path checkpoint;
        try (Stream<Path> files = Files.list(dir.resolve("ckpt"))) {
            checkpoint = files.filter(p -> p.toString().endsWith("-step-00000002.safetensors")).findFirst().orElseThrow();
        }
        r = run("export-hf " + checkpoint + " " + dir.resolve("hf"));
        assertEquals("0", r[0], r[1] + r[2]);
        for (String f : List.of("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            assertTrue(Files.isRegularFile(dir.resolve("hf").resolve(f)), f);
        }
        // The same loss: every position's logits through the re-imported folder are the checkpoint's, bit for bit.
        int[] tokens = dev.longbow.data.Tokenizer.named("r50k").encode("class Doc7 { int value() { return 7; } }");
        assertArrayEquals(logits(checkpoint, null, tokens), logits(null, dir.resolve("hf"), tokens));

        String[] fromCheckpoint = run("generate " + checkpoint + " --prompt class --max-tokens 6");
        String[] fromFolder = run("generate " + dir.resolve("hf") + " --prompt class --max-tokens 6");
        assertEquals("0", fromCheckpoint[0], fromCheckpoint[2]);
        assertEquals(fromCheckpoint[1], fromFolder[1], "greedy text from the checkpoint and from its export");
        assertTrue(fromFolder[1].startsWith("class"), fromFolder[1]);
    }

    /** Every position's logits, concatenated, teacher-forced through the KV cache. */
    private static float[] logits(Path checkpoint, Path folder, int[] tokens) throws Exception {
        try (Backend cpu = Backends.open(BackendChoice.CPU, 0)) {
            ModelConfig c;
            Weights w;
            if (folder != null) {
                try (HfWeights hf = HfWeights.open(folder)) {
                    c = hf.config();
                    w = Weights.allocate(c, cpu);
                    hf.copyInto(w, cpu);
                }
            } else {
                c = dev.longbow.checkpoint.ConfigJson.read(dev.longbow.checkpoint.SafeTensors.readMetadata(checkpoint)
                        .get(dev.longbow.train.Trainer.MODEL));
                w = Weights.allocate(c, cpu);
                try (AdamW moments = new AdamW(c, cpu)) {
                    Checkpoint.load(checkpoint, new Checkpoint.State(w, moments.m(), moments.v()), cpu);
                }
            }
            try (w) {
                KvCacheDecoder decoder = new KvCacheDecoder(w, tokens.length);
                float[] all = new float[tokens.length * c.vocab()];
                for (int i = 0; i < tokens.length; i++) {
                    System.arraycopy(decoder.next(tokens[i]), 0, all, i * c.vocab(), c.vocab());
                }
                return all;
            }
        }
    }

    /** One sequence is one micro-batch here: accumulating two of one sequence is a batch of two, loss for loss. */
    @Test
    void gradientAccumulationIsTheBatchItMultiplies(@TempDir Path dir) throws Exception {
        String common = "train --data passkey --seq-len 128 --ranks 2 --steps 2 --warmup 1 --eval-samples 1 --run-dir ";
        assertEquals("0", run(common + dir.resolve("a") + " --batch 2")[0]);
        assertEquals("0", run(common + dir.resolve("b") + " --batch 1 --grad-accum 2")[0]);
        assertEquals(losses(dir.resolve("a")), losses(dir.resolve("b")));
    }

    private static List<?> losses(Path run) throws Exception {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> String.valueOf(((Map<?, ?>) Json.parse(l)).get("loss"))).toList();
    }
}
