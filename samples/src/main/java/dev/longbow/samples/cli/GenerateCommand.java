package dev.longbow.samples.cli;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.checkpoint.SafeTensors;
import dev.longbow.data.PasskeyTask;
import dev.longbow.data.TokenSequence;
import dev.longbow.data.Tokenizer;
import dev.longbow.hf.HfWeights;
import dev.longbow.model.KvCacheDecoder;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Sampling;
import dev.longbow.model.Weights;
import dev.longbow.parallel.Ulysses;
import dev.longbow.train.AdamW;
import dev.longbow.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code longbow generate MODEL --prompt TEXT}: continue a prompt with a trained model, through a
 * KV cache, greedily or by top-p sampling; {@code --passkey N} asks a passkey model N held-out
 * questions through the same path and scores its answers.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Continue a prompt with a trained model (a checkpoint of longbow train, or a Hugging Face Llama folder), "
                + "to see what it learned. Greedy by default; --temperature and --top-p sample.")
final class GenerateCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "a checkpoint (RUN-step-NNNNNNNN.safetensors) or a Hugging Face model folder")
    Path model;
    @Option(names = "--prompt", description = "the text to continue")
    String prompt;
    @Option(names = "--max-tokens", defaultValue = "64", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0: greedy; above 0: sample from softmax(logits / T) (default: ${DEFAULT-VALUE})")
    double temperature;
    @Option(names = "--top-p", defaultValue = "1.0", description = "sample only from the most likely tokens holding this much "
            + "probability (default: ${DEFAULT-VALUE})")
    double topP;
    @Option(names = "--seed", defaultValue = "1", description = "the sampling's random seed (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--tokenizer", description = "r50k|p50k|cl100k|o200k or a tokenizer.json (default: the one the model names)")
    String tokenizer;
    @Option(names = "--passkey", description = "a passkey model: ask N held-out questions (greedy) and report the accuracy")
    Integer passkey;

    @Override
    public Integer call() throws Exception {
        Sampling sampling = new Sampling(temperature, topP);
        if ((prompt == null) == (passkey == null)) {
            throw new IllegalArgumentException("pass either --prompt TEXT or --passkey N");
        }
        if (maxTokens < 1 || (passkey != null && passkey < 1)) {
            throw new IllegalArgumentException("--max-tokens " + maxTokens + " and --passkey must be at least 1");
        }
        try (Backend cpu = BackendChoice.CPU.open(0); Loaded m = load(cpu)) {
            if (passkey != null) {
                return passkey(m);
            }
            if (m.tokenizer.startsWith(Trainer.TASK_VOCABULARY)) {
                throw new IllegalArgumentException(model + " was trained on the passkey task's own vocabulary; ask it with --passkey N");
            }
            Tokenizer tok = Tokenizer.open(tokenizer != null ? tokenizer : m.tokenizer);
            int[] ids = tok.encode(prompt);
            if (ids.length == 0) {
                throw new IllegalArgumentException("--prompt is empty: give the model some text to continue");
            }
            KvCacheDecoder decoder = new KvCacheDecoder(m.weights, ids.length + maxTokens);
            SplittableRandom random = new SplittableRandom(seed);
            float[] logits = null;
            for (int id : ids) {
                logits = decoder.next(id);
            }
            StringBuilder out = new StringBuilder();
            long start = System.nanoTime();
            int made = 0;
            for (; made < maxTokens; made++) {
                int next = sampling.pick(logits, random);
                if (next == tok.endOfText()) {
                    break;
                }
                out.append(tok.decode(next));
                if (made + 1 < maxTokens) {
                    logits = decoder.next(next);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.println(prompt + out);
            System.err.printf("longbow generate: %d prompt tokens, %d generated (%s) in %.2f s, %.0f tokens/s%n", ids.length, made,
                    temperature == 0 ? "greedy" : "temperature " + temperature + ", top-p " + topP, seconds, made / Math.max(seconds, 1e-9));
            return 0;
        }
    }

    /** Held-out passkey questions (the training run's evaluation seed); the five digits greedily through the cache. */
    private int passkey(Loaded m) {
        String name = m.tokenizer.startsWith(Trainer.TASK_VOCABULARY + "passkey/")
                ? m.tokenizer.substring((Trainer.TASK_VOCABULARY + "passkey/").length()) : null;
        if (name == null) {
            throw new IllegalArgumentException(model + " was not trained on the passkey task (its tokenizer is " + m.tokenizer
                    + "); use --prompt");
        }
        Tokenizer tok = Tokenizer.open(name);
        // The key sits on the other half of the sequence from the answer, as it does on another rank in training.
        PasskeyTask task = new PasskeyTask(tok, m.seqLen, m.seed + 1_000_000_007L, new Ulysses().layout(), 2, true);
        KvCacheDecoder decoder = new KvCacheDecoder(m.weights, m.seqLen + 1);
        int keysRight = 0, digitsRight = 0;
        for (int q = 0; q < passkey; q++) {
            TokenSequence s = task.next();
            int first = 0;
            while (s.targets()[first] < 0) {
                first++;
            }
            decoder.reset();
            float[] logits = null;
            for (int i = 0; i <= first; i++) {
                logits = decoder.next(s.tokens()[i]);
            }
            int[] answer = new int[PasskeyTask.DIGITS], expected = new int[PasskeyTask.DIGITS];
            int right = 0;
            for (int d = 0; d < PasskeyTask.DIGITS; d++) {
                answer[d] = Sampling.GREEDY.pick(logits, null);
                expected[d] = s.targets()[first + d];
                right += answer[d] == expected[d] ? 1 : 0;
                if (d + 1 < PasskeyTask.DIGITS) {
                    logits = decoder.next(answer[d]);
                }
            }
            digitsRight += right;
            keysRight += right == PasskeyTask.DIGITS ? 1 : 0;
            if (q < 5) {
                System.out.println("  key" + task.decode(expected) + " -> answered" + task.decode(answer));
            }
        }
        System.out.printf("passkey: %.1f%% of digits and %.1f%% of whole keys right on %d held-out questions (chance: 10%% and 0.001%%)%n",
                100.0 * digitsRight / (passkey * PasskeyTask.DIGITS), 100.0 * keysRight / passkey, passkey);
        return 0;
    }

    /** A model's weights on the host, and what its checkpoint says about its training. */
    private record Loaded(Weights weights, String tokenizer, int seqLen, long seed) implements AutoCloseable {
        @Override
        public void close() {
            weights.close();
        }
    }

    private Loaded load(Backend cpu) throws Exception {
        if (Files.isDirectory(model)) {
            try (HfWeights hf = HfWeights.open(model)) {
                Weights w = Weights.allocate(hf.config(), cpu);
                hf.copyInto(w, cpu);
                return new Loaded(w, model.toString(), 0, 0);
            }
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("model " + model + ": no such file or folder; pass a checkpoint or a Hugging Face folder");
        }
        Map<String, String> meta = SafeTensors.readMetadata(model);
        String json = meta.get(Trainer.MODEL);
        if (json == null) {
            throw new IllegalArgumentException(model + " is not a Longbow training checkpoint (no " + Trainer.MODEL + ")");
        }
        ModelConfig config = ConfigJson.read(json);
        Weights w = Weights.allocate(config, cpu);
        try (AdamW moments = new AdamW(config, cpu)) {
            Checkpoint.load(model, new Checkpoint.State(w, moments.m(), moments.v()), cpu);
        }
        String tok = meta.getOrDefault(Trainer.TOKENIZER, "r50k");
        return new Loaded(w, tok, Integer.parseInt(meta.getOrDefault(Trainer.SEQ_LEN, "0")), Long.parseLong(meta.getOrDefault(Trainer.SEED, "0")));
    }
}
