package dev.longbow.plan;

/**
 * A training step someone published, as the planner describes it: the model, the run (layout,
 * sequence, batch, recomputation), the machines, and the tokens per second per GPU measured.
 *
 * @param source                the document and table the number comes from
 * @param setting               the run in the source's own words
 * @param model                 the model's shape
 * @param run                   the run; selective activation checkpointing, which recomputes only cheap
 *                              operations, is described as no recomputation
 * @param microBatch            sequences each GPU runs through a layer together (the source's local batch)
 * @param rate                  which fitted matmul throughput the machines run at
 * @param tokensPerSecondPerGpu the published throughput: tokens of the global batch per second, per GPU
 */
public record PublishedStep(String source, String setting, ModelShape model, Run run, int microBatch, MatmulRate rate, double tokensPerSecondPerGpu) {
}
