package org.mtl4j.core;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * The per-task losses of one training step, in task order, as a {@link LossCombinator} sees them.
 *
 * @param taskNames the task names, in task order
 * @param losses    each task's loss: the mean over its labelled examples (0 when it has none)
 * @param labelled  how many examples of the minibatch carry a label for each task
 * @param iteration the network's iteration count before this step (0 for the first step)
 * @param epoch     the network's epoch count
 * @param gradients each task's gradient {@code g_t} of its loss, of the kind the combinator asked for with
 *                  {@link LossCombinator#gradients()}; empty when it asked for none
 * @param gram      the Gram matrix {@code G_ij = g_i . g_j} of those gradients ({@code T x T}); null when
 *                  there are none
 */
public record TaskLosses(List<String> taskNames, double[] losses, int[] labelled, long iteration, int epoch,
                         List<INDArray> gradients, double[][] gram) {

    /**
     * Checks that the arrays match the task count and copies them.
     *
     * @param taskNames the task names, in task order
     * @param losses    each task's loss: the mean over its labelled examples (0 when it has none)
     * @param labelled  how many examples of the minibatch carry a label for each task
     * @param iteration the network's iteration count before this step (0 for the first step)
     * @param epoch     the network's epoch count
     * @param gradients each task's gradient {@code g_t}, one per task, or empty when the combinator asked for none
     * @param gram      the {@code T x T} Gram matrix of {@code gradients}, or null exactly when they are empty
     * @throws IllegalArgumentException if an array does not have one entry per task, or the gradients and the
     *                                  Gram matrix do not come together
     */
    public TaskLosses {
        taskNames = List.copyOf(taskNames);
        int n = taskNames.size();
        if (losses.length != n || labelled.length != n) {
            throw new IllegalArgumentException("losses (" + losses.length + ") and labelled counts (" + labelled.length
                    + ") must have one entry per task (" + n + ")");
        }
        if (!gradients.isEmpty() && gradients.size() != n) {
            throw new IllegalArgumentException(gradients.size() + " task gradients for " + n + " tasks");
        }
        if (gradients.isEmpty() != (gram == null)) {
            throw new IllegalArgumentException("task gradients and their Gram matrix come together");
        }
        if (gram != null) {
            double[][] copy = new double[n][];
            for (int i = 0; i < n; i++) {
                if (gram[i].length != n) {
                    throw new IllegalArgumentException("the Gram matrix must be " + n + " x " + n + ", row " + i
                            + " has " + gram[i].length + " entries");
                }
                copy[i] = gram[i].clone();
            }
            gram = copy;
        }
        losses = losses.clone();
        labelled = labelled.clone();
        gradients = List.copyOf(gradients);
    }

    /**
     * Losses without gradients.
     *
     * @param taskNames the task names, in task order
     * @param losses    each task's loss: the mean over its labelled examples (0 when it has none)
     * @param labelled  how many examples of the minibatch carry a label for each task
     * @param iteration the network's iteration count before this step (0 for the first step)
     * @param epoch     the network's epoch count
     */
    public TaskLosses(List<String> taskNames, double[] losses, int[] labelled, long iteration, int epoch) {
        this(taskNames, losses, labelled, iteration, epoch, List.of(), null);
    }

    /**
     * These losses with each task's gradient and their Gram matrix attached.
     *
     * @param taskGradients each task's gradient {@code g_t}, in task order
     * @param gramMatrix    their {@code T x T} Gram matrix {@code G_ij = g_i . g_j}
     * @return a copy of these losses that carries the gradients
     */
    public TaskLosses withGradients(List<INDArray> taskGradients, double[][] gramMatrix) {
        return new TaskLosses(taskNames, losses, labelled, iteration, epoch, taskGradients, gramMatrix);
    }

    /**
     * These losses without gradients (what listeners get: gradients are large and live only for a step).
     *
     * @return these losses when they carry no gradients, else a copy without them
     */
    public TaskLosses withoutGradients() {
        return gradients.isEmpty() ? this : new TaskLosses(taskNames, losses, labelled, iteration, epoch);
    }

    /**
     * Task {@code t}'s gradient {@code g_t} of its mean loss (not scaled by the minibatch size): shaped like
     * the representation for {@link SharedGradients#REPRESENTATION}, a flat row vector for the parameter
     * kinds. The array belongs to the step: read it during {@link LossCombinator#combine}, copy what you keep.
     *
     * @param t the task's index, in task order
     * @return task {@code t}'s gradient, owned by the step
     * @throws IllegalStateException when the combinator asked for no gradients
     */
    public INDArray gradient(int t) {
        requireGradients();
        return gradients.get(t);
    }

    /**
     * The Gram matrix {@code G_ij = g_i . g_j} of the task gradients (a copy): every gradient-level method
     * here (MGDA, PCGrad, CAGrad, IMTL, GradNorm's norms) needs no more than it.
     *
     * @return a copy of the {@code T x T} Gram matrix
     * @throws IllegalStateException when the combinator asked for no gradients
     */
    @Override
    public double[][] gram() {
        requireGradients();
        double[][] copy = new double[gram.length][];
        for (int i = 0; i < gram.length; i++) {
            copy[i] = gram[i].clone();
        }
        return copy;
    }

    /** {@return whether gradients are attached} */
    public boolean hasGradients() {
        return gram != null;
    }

    private void requireGradients() {
        if (gram == null) {
            throw new IllegalStateException("task gradients were not computed: the combinator must ask for them"
                    + " with gradients() (SharedGradients.REPRESENTATION, LAST_SHARED_LAYER or SHARED_PARAMETERS)");
        }
    }

    /** {@return the number of tasks} */
    public int size() {
        return taskNames.size();
    }

    /**
     * The loss of task {@code t}.
     *
     * @param t the task's index, in task order
     * @return its mean loss over its labelled examples (0 when it has none)
     */
    public double loss(int t) {
        return losses[t];
    }

    /** {@return each task's loss (a copy)} */
    @Override
    public double[] losses() {
        return losses.clone();
    }

    /** {@return each task's labelled-example count (a copy)} */
    @Override
    public int[] labelled() {
        return labelled.clone();
    }
}
