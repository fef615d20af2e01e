package org.mtl4j.losses;

import org.mtl4j.core.TaskLosses;

import java.util.stream.IntStream;

/**
 * The tasks of a step that have something to offer a gradient-level combinator: those with a labelled example
 * (a task without one has a zero gradient, which would pull a min-norm point or an average to zero), and the
 * Gram matrix restricted to them.
 */
final class TaskSubset {

    private TaskSubset() {
    }

    /** The indices of the tasks with at least one labelled example in the step, in task order. */
    static int[] labelled(TaskLosses losses) {
        int[] labelled = losses.labelled();
        return IntStream.range(0, labelled.length).filter(t -> labelled[t] > 0).toArray();
    }

    /** The rows and columns {@code tasks} of {@code gram}. */
    static double[][] gram(double[][] gram, int[] tasks) {
        double[][] sub = new double[tasks.length][tasks.length];
        for (int i = 0; i < tasks.length; i++) {
            for (int j = 0; j < tasks.length; j++) {
                sub[i][j] = gram[tasks[i]][tasks[j]];
            }
        }
        return sub;
    }
}
