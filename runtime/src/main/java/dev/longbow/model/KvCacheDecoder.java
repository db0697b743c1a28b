package dev.longbow.model;

import dev.longbow.tensor.Tensor;

import java.util.Arrays;

/**
 * The model one token at a time, for generation: each layer's keys and values of the tokens so
 * far are kept (the KV cache), so a new token costs one row of every projection and one row of
 * attention over the cache, not a forward over the whole prefix. Single-threaded fp32 on the host,
 * the same operations as {@link DecoderLayer} (rotate-half RoPE, grouped-query attention, SwiGLU).
 */
public final class KvCacheDecoder {
    private final ModelConfig c;
    private final float[] embedding;
    private final float[] head;
    private final float[] finalNorm;
    private final float[][][] layers;   // per layer: attnNorm, wq, wk, wv, wo, mlpNorm, wGate, wUp, wDown
    private final float[][] keys;
    private final float[][] values;
    private final int capacity;
    private int length;

    /** Copies the weights out of {@code params} (host tensors) and makes room for {@code capacity} tokens. */
    public KvCacheDecoder(Weights params, int capacity) {
        this.c = params.config();
        this.capacity = capacity;
        this.embedding = floats(params.embedding());
        this.head = c.tied() ? embedding : floats(params.head());
        this.finalNorm = floats(params.finalNorm());
        this.layers = new float[c.layers()][][];
        this.keys = new float[c.layers()][Math.multiplyExact(capacity, c.kvDim())];
        this.values = new float[c.layers()][capacity * c.kvDim()];
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer w = params.layer(l);
            layers[l] = new float[][]{floats(w.attnNorm()), floats(w.wq()), floats(w.wk()), floats(w.wv()), floats(w.wo()),
                    floats(w.mlpNorm()), floats(w.wGate()), floats(w.wUp()), floats(w.wDown())};
        }
    }

    /** Tokens in the cache. */
    public int length() {
        return length;
    }

    /** Empties the cache for a new prompt. */
    public void reset() {
        length = 0;
    }

    /** Appends {@code token} at the next position and returns the logits for the token after it. */
    public float[] next(int token) {
        if (length == capacity) {
            throw new IllegalStateException("the KV cache holds " + capacity + " tokens; generate fewer (--max-tokens)");
        }
        int d = c.dim(), pos = length;
        float[] x = Arrays.copyOfRange(embedding, token * d, token * d + d);
        for (int l = 0; l < c.layers(); l++) {
            float[][] w = layers[l];
            float[] n = rmsNorm(x, w[0]);
            float[] q = linear(n, w[1], c.qDim());
            float[] k = linear(n, w[2], c.kvDim());
            float[] v = linear(n, w[3], c.kvDim());
            rope(q, c.heads(), pos);
            rope(k, c.kvHeads(), pos);
            System.arraycopy(k, 0, keys[l], pos * c.kvDim(), c.kvDim());
            System.arraycopy(v, 0, values[l], pos * c.kvDim(), c.kvDim());
            float[] att = attend(q, l, pos + 1);
            add(x, linear(att, w[4], d));
            float[] n2 = rmsNorm(x, w[5]);
            float[] g = linear(n2, w[6], c.ffnHidden());
            float[] u = linear(n2, w[7], c.ffnHidden());
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] / (1f + (float) Math.exp(-g[i])) * u[i];
            }
            add(x, linear(g, w[8], d));
        }
        length++;
        return linear(rmsNorm(x, finalNorm), head, c.vocab());
    }

    /** Causal attention of one query row over the {@code n} cached positions; query head h reads kv head h / (Hq / Hkv). */
    private float[] attend(float[] q, int layer, int n) {
        int hd = c.headDim(), group = c.heads() / c.kvHeads();
        float scale = (float) (1 / Math.sqrt(hd));
        float[] out = new float[c.qDim()];
        float[] scores = new float[n];
        for (int h = 0; h < c.heads(); h++) {
            int kvh = h / group;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float dot = 0;
                int at = j * c.kvDim() + kvh * hd;
                for (int e = 0; e < hd; e++) {
                    dot += q[h * hd + e] * keys[layer][at + e];
                }
                scores[j] = dot * scale;
                max = Math.max(max, scores[j]);
            }
            float sum = 0;
            for (int j = 0; j < n; j++) {
                scores[j] = (float) Math.exp(scores[j] - max);
                sum += scores[j];
            }
            for (int j = 0; j < n; j++) {
                float p = scores[j] / sum;
                int at = j * c.kvDim() + kvh * hd;
                for (int e = 0; e < hd; e++) {
                    out[h * hd + e] += p * values[layer][at + e];
                }
            }
        }
        return out;
    }

    /** Rotate-half RoPE at {@code pos}: pairs (i, i + D/2), frequency theta^(-2i/D), as ModelOps.rope. */
    private void rope(float[] x, int heads, int pos) {
        int hd = c.headDim(), half = hd / 2;
        for (int i = 0; i < half; i++) {
            double angle = pos * Math.pow(c.ropeTheta(), -2.0 * i / hd);
            float cos = (float) Math.cos(angle), sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int a = h * hd + i, b = a + half;
                float x1 = x[a], x2 = x[b];
                x[a] = x1 * cos - x2 * sin;
                x[b] = x2 * cos + x1 * sin;
            }
        }
    }

    private float[] rmsNorm(float[] x, float[] w) {
        double ss = 0;
        for (float v : x) {
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / x.length + c.normEps()));
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * inv * w[i];
        }
        return y;
    }

    /** {@code x W^T} with {@code W [out, in]}. */
    private static float[] linear(float[] x, float[] w, int out) {
        int in = x.length;
        float[] y = new float[out];
        for (int o = 0; o < out; o++) {
            float sum = 0;
            int at = o * in;
            for (int i = 0; i < in; i++) {
                sum += x[i] * w[at + i];
            }
            y[o] = sum;
        }
        return y;
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[] floats(Tensor t) {
        float[] f = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < f.length; i++) {
            f[i] = t.getFloat(i);
        }
        return f;
    }
}
