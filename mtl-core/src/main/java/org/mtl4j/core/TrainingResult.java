package org.mtl4j.core;

/**
 * What a {@link Trainer} run produced.
 *
 * @param network      the trained network after its last epoch (a network loaded from the checkpoint when
 *                     the run was resumed)
 * @param history      the run's per-epoch records (a resumed run's include the epochs before the crash)
 * @param best         the network of the best epoch under early stopping; when the divergence guard stopped a
 *                     run without early stopping, the network of its epoch with the lowest training loss;
 *                     otherwise {@code network} itself
 * @param bestEpoch    the epoch count of {@code best}
 * @param stoppedEarly whether early stopping or the divergence guard ended the run before its last epoch
 * @param divergence   the divergence guard's message when it stopped the run (task, epochs, losses), else null
 */
public record TrainingResult(MultiTaskNetwork network, TrainingHistory history, MultiTaskNetwork best, int bestEpoch,
                             boolean stoppedEarly, String divergence) {
}
