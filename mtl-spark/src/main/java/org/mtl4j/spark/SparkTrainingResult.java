package org.mtl4j.spark;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TrainingHistory;

import java.util.Optional;

/**
 * What a {@link SparkTrainer} run produced.
 *
 * @param network    the trained network: the driver's network given to {@code fit}, trained in place
 * @param history    one record per epoch: per-task mean training loss and mean weights over all workers'
 *                   steps, and the validation metrics computed on the cluster when validation data was given
 * @param evaluation the per-task evaluation of the validation data after the last epoch, computed on the
 *                   cluster; empty without validation data
 */
public record SparkTrainingResult(MultiTaskNetwork network, TrainingHistory history,
                                  Optional<TaskEvaluations> evaluation) {
}
