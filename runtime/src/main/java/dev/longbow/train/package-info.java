/**
 * Training: {@link dev.longbow.train.Trainer#run} runs a {@link dev.longbow.train.TrainConfig} on
 * its ranks (a {@link dev.longbow.train.RankTrainer} each) over a
 * {@link dev.longbow.data.SequenceSource}, with AdamW ({@link dev.longbow.train.OptimizerConfig},
 * {@link dev.longbow.train.LrSchedule}), checkpoints, held-out evaluation and the safeguards that
 * stop a diverging run. Everything that can be refused is refused before any rank starts,
 * including a run that would not fit in memory ({@link dev.longbow.train.MemoryEstimate}).
 */
package dev.longbow.train;
