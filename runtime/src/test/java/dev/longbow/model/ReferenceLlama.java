package dev.longbow.model;

import java.util.Map;

/**
 * The decoder's loss in float64, written from the Llama definition with no code shared with the
 * model under test: naive softmax attention over global positions, HF "rotate half" rotary
 * embeddings, SwiGLU, RMSNorm. Parameters by their Hugging Face names, row-major.
 */
final class ReferenceLlama {
    private final ModelConfig c;
    private final Map<String, double[]> p;

    ReferenceLlama(ModelConfig c, Map<String, double[]> params) {
        this.c = c;
        this.p = params;
    }

    /** Mean cross-entropy over the targets that are not -1; token i sits at {@code positions[i]}. */
    double loss(int[] tokens, int[] targets, int[] positions) {
        int s = tokens.length, d = c.dim();
        double[] x = new double[s * d];
        double[] emb = p.get("model.embed_tokens.weight");
        for (int i = 0; i < s; i++) {
            System.arraycopy(emb, tokens[i] * d, x, i * d, d);
        }
        for (int l = 0; l < c.layers(); l++) {
            String pre = "model.layers." + l + ".";
            double[] n1 = rmsNorm(x, p.get(pre + "input_layernorm.weight"), s);
            double[] q = linear(n1, p.get(pre + "self_attn.q_proj.weight"), s, d, c.qDim());
            double[] k = linear(n1, p.get(pre + "self_attn.k_proj.weight"), s, d, c.kvDim());
            double[] v = linear(n1, p.get(pre + "self_attn.v_proj.weight"), s, d, c.kvDim());
            rope(q, positions, c.heads());
            rope(k, positions, c.kvHeads());
            double[] att = attention(q, k, v, positions);
            double[] h = add(x, linear(att, p.get(pre + "self_attn.o_proj.weight"), s, c.qDim(), d));
            double[] n2 = rmsNorm(h, p.get(pre + "post_attention_layernorm.weight"), s);
            double[] g = linear(n2, p.get(pre + "mlp.gate_proj.weight"), s, d, c.ffnHidden());
            double[] u = linear(n2, p.get(pre + "mlp.up_proj.weight"), s, d, c.ffnHidden());
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            x = add(h, linear(g, p.get(pre + "mlp.down_proj.weight"), s, c.ffnHidden(), d));
        }
        double[] n = rmsNorm(x, p.get("model.norm.weight"), s);
        double[] head = p.get(c.tied() ? "model.embed_tokens.weight" : "lm_head.weight");
        double[] logits = linear(n, head, s, d, c.vocab());
        double total = 0;
        int count = 0;
        for (int i = 0; i < s; i++) {
            if (targets[i] < 0) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < c.vocab(); j++) {
                max = Math.max(max, logits[i * c.vocab() + j]);
            }
            for (int j = 0; j < c.vocab(); j++) {
                sum += Math.exp(logits[i * c.vocab() + j] - max);
            }
            total += max + Math.log(sum) - logits[i * c.vocab() + targets[i]];
            count++;
        }
        return total / count;
    }

    private double[] attention(double[] q, double[] k, double[] v, int[] pos) {
        int s = pos.length, dh = c.headDim(), group = c.heads() / c.kvHeads();
        double scale = 1 / Math.sqrt(dh);
        double[] out = new double[s * c.qDim()];
        for (int h = 0; h < c.heads(); h++) {
            int kvh = h / group;
            for (int i = 0; i < s; i++) {
                double[] w = new double[s];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < s; j++) {
                    if (pos[j] > pos[i]) {
                        w[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int e = 0; e < dh; e++) {
                        dot += q[(i * c.heads() + h) * dh + e] * k[(j * c.kvHeads() + kvh) * dh + e];
                    }
                    w[j] = dot * scale;
                    max = Math.max(max, w[j]);
                }
                double sum = 0;
                for (int j = 0; j < s; j++) {
                    w[j] = Math.exp(w[j] - max);
                    sum += w[j];
                }
                for (int j = 0; j < s; j++) {
                    for (int e = 0; e < dh; e++) {
                        out[(i * c.heads() + h) * dh + e] += w[j] / sum * v[(j * c.kvHeads() + kvh) * dh + e];
                    }
                }
            }
        }
        return out;
    }

    private void rope(double[] x, int[] pos, int heads) {
        int dh = c.headDim(), half = dh / 2;
        for (int i = 0; i < pos.length; i++) {
            for (int h = 0; h < heads; h++) {
                int at = (i * heads + h) * dh;
                for (int e = 0; e < half; e++) {
                    double angle = pos[i] * Math.pow(c.ropeTheta(), -2.0 * e / dh);
                    double a = x[at + e], b = x[at + e + half];
                    x[at + e] = a * Math.cos(angle) - b * Math.sin(angle);
                    x[at + e + half] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
    }

    private double[] rmsNorm(double[] x, double[] w, int rows) {
        int d = w.length;
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < d; i++) {
                ss += x[r * d + i] * x[r * d + i];
            }
            double inv = 1 / Math.sqrt(ss / d + c.normEps());
            for (int i = 0; i < d; i++) {
                y[r * d + i] = x[r * d + i] * inv * w[i];
            }
        }
        return y;
    }

    /** {@code x [rows, in]} times {@code w [out, in]} transposed. */
    private static double[] linear(double[] x, double[] w, int rows, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = sum;
            }
        }
        return y;
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }
}
