package org.mtl4j.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one epoch of training did, as the {@link TrainingHistory} keeps it.
 *
 * @param epoch     the epochs completed after this one (1 for the first epoch of a fresh network)
 * @param iteration the network's iteration count at the end of the epoch
 * @param steps     the training steps (minibatches) in the epoch
 * @param seconds   the epoch's wall-clock time, validation included
 * @param trainLoss each task's training loss: the mean over the epoch's labelled examples of the step losses
 *                  (in training mode, before each step's update), by task name in task order
 * @param weights   each task's weight on the shared parameters ({@link TaskWeights#weight(int)}), the mean
 *                  over the epoch's steps
 * @param penalty   the sharing strategy's penalty, the mean over the epoch's steps
 * @param valid     per task, its metrics on the validation data after the epoch ({@link TaskMetric#LOSS}
 *                  included); empty without validation data
 * @param learned   the sharing strategy's and the combinator's learned values after the epoch
 *                  ({@link SharingStrategy#learnedValues}, {@link LossCombinator#learnedValues})
 */
public record EpochRecord(int epoch, long iteration, int steps, double seconds, Map<String, Double> trainLoss,
                          Map<String, Double> weights, double penalty, Map<String, Map<TaskMetric, Double>> valid,
                          Map<String, Double> learned) {

    /**
     * Copies the maps, keeping their order.
     *
     * @param epoch     the epochs completed after this one, at least 1
     * @param iteration the network's iteration count at the end of the epoch
     * @param steps     the training steps (minibatches) in the epoch
     * @param seconds   the epoch's wall-clock time, validation included
     * @param trainLoss each task's training loss, by task name in task order
     * @param weights   each task's mean weight on the shared parameters over the epoch's steps
     * @param penalty   the sharing strategy's penalty, the mean over the epoch's steps
     * @param valid     per task, its metrics on the validation data after the epoch; empty without validation data
     * @param learned   the sharing strategy's and the combinator's learned values after the epoch
     * @throws IllegalArgumentException if {@code epoch < 1}
     */
    public EpochRecord {
        if (epoch < 1) {
            throw new IllegalArgumentException("an epoch record counts epochs from 1, got " + epoch);
        }
        trainLoss = frozen(trainLoss);
        weights = frozen(weights);
        Map<String, Map<TaskMetric, Double>> v = new LinkedHashMap<>();
        valid.forEach((task, metrics) -> v.put(task, frozen(metrics)));
        valid = Collections.unmodifiableMap(v);
        learned = frozen(learned);
    }

    /**
     * A validation metric of a task, e.g. {@code valid("segment", TaskMetric.ACCURACY)}.
     *
     * @param task   the task's name
     * @param metric the metric ({@link TaskMetric#LOSS} for the validation loss)
     * @return its value on the validation data after this epoch
     * @throws IllegalArgumentException when the epoch has no such value (no validation data, an auxiliary
     *                                  task, or a metric of another kind of task)
     */
    public double valid(String task, TaskMetric metric) {
        Map<TaskMetric, Double> metrics = valid.get(task);
        Double value = metrics == null ? null : metrics.get(metric);
        if (value == null) {
            throw new IllegalArgumentException(valid.isEmpty()
                    ? "epoch " + epoch + " has no validation results: the training had no validation data"
                    : "epoch " + epoch + " has no validation " + metric.key() + " for task \"" + task + "\"; it has "
                    + valid);
        }
        return value;
    }

    /**
     * The record as one row of named numbers, the columns of {@link TrainingHistory#toCsv()}: {@code epoch},
     * {@code iteration}, {@code steps}, {@code seconds}, {@code penalty}, then {@code train_loss[task]},
     * {@code weight[task]}, {@code valid_<metric>[task]}, and the learned values under their own names.
     *
     * @return the named values, in column order (a value the epoch lacks is absent)
     */
    public Map<String, Double> columns() {
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("epoch", (double) epoch);
        row.put("iteration", (double) iteration);
        row.put("steps", (double) steps);
        row.put("seconds", seconds);
        row.put("penalty", penalty);
        trainLoss.forEach((task, v) -> row.put(TRAIN_LOSS + "[" + task + "]", v));
        weights.forEach((task, v) -> row.put(WEIGHT + "[" + task + "]", v));
        valid.forEach((task, metrics) -> metrics.forEach((m, v) -> row.put(VALID + m.key() + "[" + task + "]", v)));
        row.putAll(learned);
        return row;
    }

    static final String TRAIN_LOSS = "train_loss";
    static final String WEIGHT = "weight";
    static final String VALID = "valid_";

    private static <K> Map<K, Double> frozen(Map<K, Double> m) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }
}
