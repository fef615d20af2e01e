package org.mtl4j.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The running sums of one epoch's steps, turned into its {@link EpochRecord} at the epoch's end: what a
 * trainer (local, or one that sums the steps of several workers) keeps while an epoch runs.
 */
public final class EpochTotals {

    private final double[] lossSums;
    private final long[] labelled;
    private final double[] weightSums;
    private double penaltySum;
    private int steps;

    /**
     * Empty totals for {@code tasks} tasks.
     *
     * @param tasks the network's number of tasks
     */
    public EpochTotals(int tasks) {
        lossSums = new double[tasks];
        labelled = new long[tasks];
        weightSums = new double[tasks];
    }

    /**
     * Adds one step.
     *
     * @param step what the step did: its losses and labelled counts, weights and penalty
     */
    public void add(StepResult step) {
        for (int t = 0; t < lossSums.length; t++) {
            lossSums[t] += step.losses().loss(t) * step.losses().labelled()[t];
            labelled[t] += step.losses().labelled()[t];
            weightSums[t] += step.weights().weight(t);
        }
        penaltySum += step.penalty();
        steps++;
    }

    /**
     * Adds sums over several steps.
     *
     * @param lossSums   per task, the sum over the steps of the step loss times its labelled examples
     * @param labelled   per task, the labelled examples of the steps
     * @param weightSums per task, the sum of the steps' weights on the shared parameters
     * @param penaltySum the sum of the steps' penalties
     * @param stepCount  the number of steps
     */
    public void add(double[] lossSums, long[] labelled, double[] weightSums, double penaltySum, int stepCount) {
        if (lossSums.length != this.lossSums.length || labelled.length != this.labelled.length
                || weightSums.length != this.weightSums.length) {
            throw new IllegalArgumentException("sums for " + lossSums.length + ", " + labelled.length + " and "
                    + weightSums.length + " tasks added to the totals of " + this.lossSums.length);
        }
        for (int t = 0; t < lossSums.length; t++) {
            this.lossSums[t] += lossSums[t];
            this.labelled[t] += labelled[t];
            this.weightSums[t] += weightSums[t];
        }
        this.penaltySum += penaltySum;
        this.steps += stepCount;
    }

    /**
     * Task {@code t}'s training loss so far: the mean over the labelled examples of the steps (NaN before any).
     *
     * @param t the task's index, in task order
     * @return the mean loss, or NaN
     */
    public double meanLoss(int t) {
        return labelled[t] == 0 ? Double.NaN : lossSums[t] / labelled[t];
    }

    /** {@return the steps added so far} */
    public int steps() {
        return steps;
    }

    /**
     * The epoch's record, read after the network's epoch count advanced: each task's training loss (the mean
     * over the labelled examples), mean weight and the mean penalty; each validated task's metrics; the learned
     * values of the network's sharing strategy and combinator.
     *
     * @param network    the trained network, whose epoch count already advanced
     * @param seconds    the epoch's wall-clock time, validation included
     * @param validation null, or the evaluation of the validation data after the epoch
     * @return the epoch's record
     */
    public EpochRecord record(MultiTaskNetwork network, double seconds, TaskEvaluations validation) {
        List<String> names = network.taskNames();
        Map<String, Double> trainLoss = new LinkedHashMap<>();
        Map<String, Double> weights = new LinkedHashMap<>();
        for (int t = 0; t < names.size(); t++) {
            trainLoss.put(names.get(t), meanLoss(t));
            weights.put(names.get(t), steps == 0 ? Double.NaN : weightSums[t] / steps);
        }
        Map<String, Map<TaskMetric, Double>> valid = new LinkedHashMap<>();
        if (validation != null) {
            for (String task : validation.taskNames()) {
                Map<TaskMetric, Double> metrics = new LinkedHashMap<>();
                for (TaskMetric m : TaskMetric.of(network.task(task).kind())) {
                    metrics.put(m, validation.metric(task, m));
                }
                valid.put(task, metrics);
            }
        }
        Map<String, Double> learned = new LinkedHashMap<>(network.sharing().learnedValues(network));
        learned.putAll(network.losses().learnedValues(names));
        return new EpochRecord(network.epochCount(), network.iterationCount(), steps, seconds, trainLoss, weights,
                steps == 0 ? 0 : penaltySum / steps, valid, learned);
    }
}
