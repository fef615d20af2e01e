package org.mtl4j.spark;

import org.mtl4j.core.StepResult;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.io.NetworkState;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the workers of one averaging round produced: the sums of the states each worker ended the round with
 * (parameters, updater state), each worker's combinator state by worker index (the combinator merges them,
 * {@link org.mtl4j.core.LossCombinator#mergeStates}), and the step statistics the driver reports (losses
 * weighted by labelled examples, labelled counts, weights, penalty, steps, examples). Partial results of
 * several workers add up with {@link #add}; the driver divides the sums by {@code workers}.
 */
final class RoundResult implements Serializable {

    private static final long serialVersionUID = 1L;

    int workers;
    int maxSteps;
    int steps;
    long examples;
    double[] params;
    double[] updater;
    TreeMap<Integer, double[]> combinators = new TreeMap<>();
    double[] lossSums;
    long[] labelled;
    double[] weightSums;
    double[] headWeightSums;
    double penaltySum;

    /** A result of no worker (the zero of the sum). */
    static RoundResult empty() {
        return new RoundResult();
    }

    /** Worker {@code worker}'s round: its final state and the steps it took. */
    static RoundResult of(int worker, NetworkState end, StepResult[] steps) {
        RoundResult r = new RoundResult();
        r.workers = 1;
        r.maxSteps = steps.length;
        r.steps = steps.length;
        r.params = end.params();
        r.updater = end.updater();
        r.combinators.put(worker, end.combinator());
        int tasks = steps[0].losses().size();
        r.lossSums = new double[tasks];
        r.labelled = new long[tasks];
        r.weightSums = new double[tasks];
        r.headWeightSums = new double[tasks];
        for (StepResult s : steps) {
            for (int t = 0; t < tasks; t++) {
                r.lossSums[t] += s.losses().loss(t) * s.losses().labelled()[t];
                r.labelled[t] += s.losses().labelled()[t];
                r.weightSums[t] += s.weights().weight(t);
                r.headWeightSums[t] += s.weights().headWeight(t);
            }
            r.penaltySum += s.penalty();
            r.examples += s.minibatch();
        }
        return r;
    }

    /** Adds {@code other} into this result and returns this. */
    RoundResult add(RoundResult other) {
        if (other.workers == 0) {
            return this;
        }
        if (workers == 0) {
            return other.copy();
        }
        workers += other.workers;
        maxSteps = Math.max(maxSteps, other.maxSteps);
        steps += other.steps;
        examples += other.examples;
        addInto(params, other.params);
        addInto(updater, other.updater);
        for (Map.Entry<Integer, double[]> e : other.combinators.entrySet()) {
            if (combinators.putIfAbsent(e.getKey(), e.getValue()) != null) {
                throw new IllegalStateException("worker " + e.getKey() + " returned two results in one round");
            }
        }
        addInto(lossSums, other.lossSums);
        addInto(weightSums, other.weightSums);
        addInto(headWeightSums, other.headWeightSums);
        for (int t = 0; t < labelled.length; t++) {
            labelled[t] += other.labelled[t];
        }
        penaltySum += other.penaltySum;
        return this;
    }

    /** The round as one step: the losses over all its labelled examples, the weights and penalty over its steps. */
    StepResult asStep(List<String> names, long iteration, int epoch) {
        int tasks = names.size();
        double[] losses = new double[tasks];
        int[] counts = new int[tasks];
        for (int t = 0; t < tasks; t++) {
            counts[t] = (int) Math.min(Integer.MAX_VALUE, labelled[t]);
            losses[t] = labelled[t] == 0 ? 0 : lossSums[t] / labelled[t];
        }
        return new StepResult(iteration, epoch, new TaskLosses(names, losses, counts, iteration, epoch),
                new TaskWeights(mean(weightSums, steps), mean(headWeightSums, steps)), penaltySum / steps,
                (int) Math.min(Integer.MAX_VALUE, examples));
    }

    /** Each summed array divided by {@code n}. */
    static double[] mean(double[] sum, int n) {
        double[] m = new double[sum.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = sum[i] / n;
        }
        return m;
    }

    /** The workers' combinator states in worker order. */
    List<double[]> combinatorStates() {
        return new ArrayList<>(combinators.values());
    }

    private RoundResult copy() {
        RoundResult c = new RoundResult();
        c.workers = workers;
        c.maxSteps = maxSteps;
        c.steps = steps;
        c.examples = examples;
        c.params = params.clone();
        c.updater = updater.clone();
        combinators.forEach((k, v) -> c.combinators.put(k, v.clone()));
        c.lossSums = lossSums.clone();
        c.labelled = labelled.clone();
        c.weightSums = weightSums.clone();
        c.headWeightSums = headWeightSums.clone();
        c.penaltySum = penaltySum;
        return c;
    }

    private static void addInto(double[] sum, double[] values) {
        if (sum.length != values.length) {
            throw new IllegalStateException("workers returned arrays of " + sum.length + " and " + values.length
                    + " values");
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] += values[i];
        }
    }
}
