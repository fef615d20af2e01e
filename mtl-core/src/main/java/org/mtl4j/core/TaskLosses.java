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
 * @param representationGradients each task's gradient of its loss w.r.t. its representation, {@code dL_t/dr_t}
 *                  (shaped like the representation), when the combinator asked for them with
 *                  {@link LossCombinator#needsRepresentationGradients()}; otherwise empty
 */
public record TaskLosses(List<String> taskNames, double[] losses, int[] labelled, long iteration, int epoch,
                         List<INDArray> representationGradients) {

    /** Checks that the arrays match the task count and copies them. */
    public TaskLosses {
        taskNames = List.copyOf(taskNames);
        if (losses.length != taskNames.size() || labelled.length != taskNames.size()) {
            throw new IllegalArgumentException("losses (" + losses.length + ") and labelled counts (" + labelled.length
                    + ") must have one entry per task (" + taskNames.size() + ")");
        }
        if (!representationGradients.isEmpty() && representationGradients.size() != taskNames.size()) {
            throw new IllegalArgumentException(representationGradients.size() + " representation gradients for "
                    + taskNames.size() + " tasks");
        }
        losses = losses.clone();
        labelled = labelled.clone();
        representationGradients = List.copyOf(representationGradients);
    }

    /** Losses without representation gradients. */
    public TaskLosses(List<String> taskNames, double[] losses, int[] labelled, long iteration, int epoch) {
        this(taskNames, losses, labelled, iteration, epoch, List.of());
    }

    /** These losses with each task's representation gradient attached. */
    public TaskLosses withRepresentationGradients(List<INDArray> gradients) {
        return new TaskLosses(taskNames, losses, labelled, iteration, epoch, gradients);
    }

    /**
     * Task {@code t}'s gradient {@code dL_t/dr_t} w.r.t. its representation (the mean-loss gradient, not
     * scaled by the minibatch size).
     *
     * @throws IllegalStateException when the combinator did not ask for representation gradients
     */
    public INDArray representationGradient(int t) {
        if (representationGradients.isEmpty()) {
            throw new IllegalStateException("representation gradients were not computed: the combinator must return"
                    + " true from needsRepresentationGradients()");
        }
        return representationGradients.get(t);
    }

    /** The number of tasks. */
    public int size() {
        return taskNames.size();
    }

    /** The loss of task {@code t}. */
    public double loss(int t) {
        return losses[t];
    }

    /** Each task's loss (a copy). */
    @Override
    public double[] losses() {
        return losses.clone();
    }

    /** Each task's labelled-example count (a copy). */
    @Override
    public int[] labelled() {
        return labelled.clone();
    }
}
