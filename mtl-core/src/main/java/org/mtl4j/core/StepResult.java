package org.mtl4j.core;

import java.util.List;

/**
 * What one training step did, as listeners see it.
 *
 * @param iteration the iteration this step was (0 for the first step of a fresh network)
 * @param epoch     the epoch count during the step
 * @param weights   the weights it applied
 * @param losses    the per-task losses the combinator saw (without gradients)
 * @param penalty   the sharing strategy's penalty added to the objective (0 for hard sharing)
 * @param minibatch the number of examples in the step
 */
public record StepResult(long iteration, int epoch, TaskLosses losses, TaskWeights weights, double penalty,
                         int minibatch) {

    /** {@return the task names, in task order} */
    public List<String> taskNames() {
        return losses.taskNames();
    }

    /**
     * The objective the step minimised, {@code sum_t w_t * L_t + penalty}, with the weights on the shared
     * parameters ({@link TaskWeights#weight(int)}).
     *
     * @return the step's objective
     */
    public double totalLoss() {
        double sum = penalty;
        for (int t = 0; t < losses.size(); t++) {
            sum += weights.weight(t) * losses.loss(t);
        }
        return sum;
    }
}
