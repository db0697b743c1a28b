/**
 * The planner: a cost model of a training step with each scheme and setting on a cluster
 * ({@link dev.longbow.plan.CostModel}, {@link dev.longbow.plan.ClusterSpec},
 * {@link dev.longbow.plan.ModelShape}), ranked by {@link dev.longbow.plan.Planner#rank}; each
 * {@link dev.longbow.plan.Estimate} carries the {@link dev.longbow.parallel.Scheme} to run as it is.
 */
package dev.longbow.plan;
