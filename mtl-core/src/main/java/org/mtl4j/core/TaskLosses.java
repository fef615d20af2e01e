package org.mtl4j.core;

import java.util.List;

/**
 * The per-task losses of one training step, in task order, as a {@link LossCombinator} sees them.
 *
 * @param taskNames the task names, in task order
 * @param losses    each task's loss: the mean over its labelled examples (0 when it has none)
 * @param labelled  how many examples of the minibatch carry a label for each task
 * @param iteration the network's iteration count before this step (0 for the first step)
 * @param epoch     the network's epoch count
 */
public record TaskLosses(List<String> taskNames, double[] losses, int[] labelled, long iteration, int epoch) {

    /** Checks that the arrays match the task count and copies them. */
    public TaskLosses {
        taskNames = List.copyOf(taskNames);
        if (losses.length != taskNames.size() || labelled.length != taskNames.size()) {
            throw new IllegalArgumentException("losses (" + losses.length + ") and labelled counts (" + labelled.length
                    + ") must have one entry per task (" + taskNames.size() + ")");
        }
        losses = losses.clone();
        labelled = labelled.clone();
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
