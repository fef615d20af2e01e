package org.mtl4j.core;

/**
 * What a {@link Trainer} run produced.
 *
 * @param network      the trained network after its last epoch (a network loaded from the checkpoint when
 *                     the run was resumed)
 * @param history      the run's per-epoch records (a resumed run's include the epochs before the crash)
 * @param best         the network of the best epoch under early stopping; {@code network} itself when there is
 *                     no early stopping or the last epoch was the best
 * @param bestEpoch    the epoch count of {@code best}
 * @param stoppedEarly whether early stopping ended the run before its last epoch
 */
public record TrainingResult(MultiTaskNetwork network, TrainingHistory history, MultiTaskNetwork best, int bestEpoch,
                             boolean stoppedEarly) {
}
