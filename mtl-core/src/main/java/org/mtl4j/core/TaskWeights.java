package org.mtl4j.core;

import java.util.Arrays;

/**
 * The weights a {@link LossCombinator} applied in one step, in task order. For a loss-level combinator the
 * step minimises {@code sum_t weights[t] * L_t}: every parameter, heads included, gets
 * {@code sum_t w_t dL_t/dtheta}. A gradient-level combinator may weigh the shared part and the heads
 * differently: the encoder is trained on {@code sum_t weights[t] g_t} and task t's head on
 * {@code headWeights[t] dL_t/dtheta_t} (MGDA, PCGrad, CAGrad and IMTL-G train the heads on their plain
 * task gradients, weight 1).
 *
 * @param weights     the coefficient of each task's gradient on the shared parameters: finite (a closed form
 *                    such as IMTL-G's may give a negative one)
 * @param headWeights the weight of each task's gradient on its own head: finite and {@code >= 0}
 */
public record TaskWeights(double[] weights, double[] headWeights) {

    /**
     * Rejects NaN and infinite weights, negative head weights and mismatched lengths, and copies the arrays.
     *
     * @param weights     the coefficient of each task's gradient on the shared parameters: finite
     * @param headWeights the weight of each task's gradient on its own head: finite and {@code >= 0}
     * @throws IllegalArgumentException if a weight is not finite, a head weight is negative, or the lengths differ
     */
    public TaskWeights {
        weights = weights.clone();
        headWeights = headWeights.clone();
        if (weights.length != headWeights.length) {
            throw new IllegalArgumentException(weights.length + " shared weights but " + headWeights.length
                    + " head weights");
        }
        for (int t = 0; t < weights.length; t++) {
            if (!Double.isFinite(weights[t])) {
                throw new IllegalArgumentException("task weight " + t + " must be finite, got " + weights[t]);
            }
            if (!(headWeights[t] >= 0) || Double.isInfinite(headWeights[t])) {
                throw new IllegalArgumentException("task weight " + t + " on its head must be finite and >= 0, got "
                        + headWeights[t]);
            }
        }
    }

    /**
     * The same weight on the shared part and the head of each task: the weights of {@code sum_t w_t L_t}.
     *
     * @param weights each task's weight {@code w_t}, in task order: finite and {@code >= 0}
     * @throws IllegalArgumentException if a weight is negative or not finite
     */
    public TaskWeights(double[] weights) {
        this(weights, weights);
    }

    /**
     * Weights {@code shared} on the encoder and 1 on every head (plain task gradients for the heads).
     *
     * @param shared the coefficient of each task's gradient on the shared parameters, in task order: finite
     * @return weights with {@code shared} on the encoder and 1 on every head
     */
    public static TaskWeights sharedOnly(double[] shared) {
        double[] ones = new double[shared.length];
        Arrays.fill(ones, 1.0);
        return new TaskWeights(shared, ones);
    }

    /**
     * The weight of task {@code t} on the shared parameters.
     *
     * @param t the task's index, in task order
     * @return its coefficient on the shared parameters
     */
    public double weight(int t) {
        return weights[t];
    }

    /**
     * The weight of task {@code t} on its head.
     *
     * @param t the task's index, in task order
     * @return its weight on its own head
     */
    public double headWeight(int t) {
        return headWeights[t];
    }

    /** {@return the shared weights (a copy)} */
    @Override
    public double[] weights() {
        return weights.clone();
    }

    /** {@return the head weights (a copy)} */
    @Override
    public double[] headWeights() {
        return headWeights.clone();
    }

    /** {@return whether every head has the same weight as the shared part of its task} */
    public boolean uniform() {
        return Arrays.equals(weights, headWeights);
    }

    /** {@return the number of tasks} */
    public int size() {
        return weights.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskWeights w && Arrays.equals(weights, w.weights) && Arrays.equals(headWeights, w.headWeights);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(weights) + Arrays.hashCode(headWeights);
    }

    @Override
    public String toString() {
        return uniform() ? "TaskWeights" + Arrays.toString(weights)
                : "TaskWeights{shared=" + Arrays.toString(weights) + ", heads=" + Arrays.toString(headWeights) + "}";
    }
}
