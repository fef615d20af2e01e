package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;

/**
 * Geometric loss strategy, GLS (Chennupati, Sistu, Yogamani and Rawashdeh, "MultiNet++: Multi-Stream
 * Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning", CVPR Workshops 2019): the step
 * minimises the geometric mean of the task losses.
 *
 * <p>The objective is
 * <pre>
 *   G = (prod_t L_t)^(1/T),
 * </pre>
 * T the number of tasks. Since {@code dG/dL_t = G / (T L_t)}, the combinator returns the weights
 * <pre>
 *   w_t = G / (T L_t),
 * </pre>
 * computed from the step's losses and held constant in the backward pass, so the step's gradient
 * {@code sum_t w_t dL_t/dtheta} is exactly {@code dG/dtheta}, and {@code sum_t w_t L_t = G}. A task whose
 * loss falls gets a larger weight: the objective is scale-free in each task's loss. G is computed as
 * {@code exp(mean_t log L_t)}, so a product of many small or large losses does not underflow or overflow.
 * The method has no configuration and no state.
 *
 * <p>Zero and invalid losses:
 * <ul>
 *   <li>{@code G} is 0 as soon as one loss is 0, and its gradient is then undefined (LibMTL's
 *       {@code prod(losses)^(1/T)} gives an infinite or NaN gradient there). Here G and T count only the tasks
 *       with a positive loss in the step; a task with loss 0, or with no labelled example in the minibatch,
 *       gets weight 0 and the others the weights of the geometric mean over them.</li>
 *   <li>When no task has a positive loss every weight is 0.</li>
 *   <li>A negative loss (a custom loss function) has no geometric mean: it is rejected, as is an infinite or
 *       NaN one.</li>
 * </ul>
 *
 * <p>Departures of the reference code:
 * <ul>
 *   <li>LibMTL's {@code weighting/GLS.py} back-propagates {@code G} itself, as here, but reports the weights
 *       {@code L_t / (T prod_i L_i)}, which are not the effective weights; this class reports
 *       {@code G / (T L_t)}, which are.</li>
 * </ul>
 */
public final class GeometricLossStrategy implements LossCombinator {

    /** The geometric loss strategy; it takes no options. */
    @JsonCreator
    public GeometricLossStrategy() {
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        int n = losses.size();
        double logSum = 0;
        int positive = 0;
        for (int t = 0; t < n; t++) {
            double l = losses.loss(t);
            if (!(l >= 0) || Double.isInfinite(l)) {
                throw new IllegalArgumentException("geometric loss strategy: task \"" + losses.taskNames().get(t)
                        + "\" has loss " + l + ", but the geometric mean needs finite losses >= 0");
            }
            if (included(losses, t)) {
                logSum += Math.log(l);
                positive++;
            }
        }
        double[] w = new double[n];
        if (positive == 0) {
            return new TaskWeights(w);
        }
        double logG = logSum / positive;
        for (int t = 0; t < n; t++) {
            if (included(losses, t)) {
                w[t] = Math.exp(logG - Math.log(losses.loss(t))) / positive;
            }
        }
        return new TaskWeights(w);
    }

    /**
     * The objective {@code G}: the geometric mean of the positive losses of tasks with a labelled example,
     * 0 when there is none.
     *
     * @param losses the step's per-task losses
     * @return {@code G = exp(mean_t log L_t)} over the included tasks, or 0
     */
    public double objective(TaskLosses losses) {
        double logSum = 0;
        int positive = 0;
        for (int t = 0; t < losses.size(); t++) {
            if (included(losses, t)) {
                logSum += Math.log(losses.loss(t));
                positive++;
            }
        }
        return positive == 0 ? 0 : Math.exp(logSum / positive);
    }

    private static boolean included(TaskLosses losses, int t) {
        return losses.loss(t) > 0 && losses.labelled()[t] > 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GeometricLossStrategy;
    }

    @Override
    public int hashCode() {
        return 0x474C53;
    }

    @Override
    public String toString() {
        return "GeometricLossStrategy";
    }
}
