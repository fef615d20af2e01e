package org.mtl4j.core;

import java.util.Arrays;

/**
 * The weight a {@link LossCombinator} applied to each task's loss in one step, in task order: the step
 * minimises {@code sum_t weights[t] * L_t}.
 *
 * @param weights one finite, non-negative weight per task
 */
public record TaskWeights(double[] weights) {

    /** Rejects negative, NaN and infinite weights, and copies the array. */
    public TaskWeights {
        weights = weights.clone();
        for (int t = 0; t < weights.length; t++) {
            if (!(weights[t] >= 0) || Double.isInfinite(weights[t])) {
                throw new IllegalArgumentException("task weight " + t + " must be finite and >= 0, got " + weights[t]);
            }
        }
    }

    /** The weight of task {@code t}. */
    public double weight(int t) {
        return weights[t];
    }

    /** The weights (a copy). */
    @Override
    public double[] weights() {
        return weights.clone();
    }

    /** The number of tasks. */
    public int size() {
        return weights.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskWeights w && Arrays.equals(weights, w.weights);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(weights);
    }

    @Override
    public String toString() {
        return "TaskWeights" + Arrays.toString(weights);
    }
}
