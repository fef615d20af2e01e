package org.mtl4j.core.train;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.TimeSeriesUtils;
import org.mtl4j.core.Task;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A task's loss on one minibatch: the mean over the examples that carry a label for the task, computed
 * from the task's ND4J {@code ILossFunction} directly (never through a DL4J output layer, whose label mask
 * also scales the pre-activation).
 *
 * <p>The gradient is returned in DL4J's convention for external errors: per-example sums, which the
 * updater divides by the minibatch size {@code mb}. To make the update follow the mean over the {@code n}
 * labelled examples, the per-example gradient is scaled by {@code mb / n}; with no mask this is exactly
 * what a DL4J output layer back-propagates.
 */
public final class MaskedTaskLoss {

    /**
     * One task's loss on one minibatch.
     *
     * @param loss     the mean loss over labelled examples (0 when none is labelled)
     * @param labelled the number of labelled examples
     * @param gradient the error at the task's output projection, shaped like it, in per-example-sum
     *                 convention (see the class comment); zeros when no example is labelled
     */
    public record Result(double loss, int labelled, INDArray gradient) {
    }

    private MaskedTaskLoss() {
    }

    /**
     * Computes the loss and its gradient.
     *
     * @param task    the task, whose loss function and output activation are applied
     * @param labels  {@code [mb, nOut]}, or {@code [mb, nOut, time]} for per-time-step tasks
     * @param preOut  the output projection's activations, shaped like the labels
     * @param mask    null, {@code [mb, 1]}, labels-shaped, or {@code [mb, time]} for per-time-step tasks; 0/1 values
     * @return the mean loss over the labelled examples, their number and the error at the output projection
     */
    public static Result evaluate(Task task, INDArray labels, INDArray preOut, INDArray mask) {
        return compute(task, labels, preOut, mask, true);
    }

    /**
     * The loss alone, as in {@link #evaluate}, without computing the gradient (the result's gradient is null).
     *
     * @param task   the task, whose loss function and output activation are applied
     * @param labels {@code [mb, nOut]}, or {@code [mb, nOut, time]} for per-time-step tasks
     * @param preOut the output projection's activations, shaped like the labels
     * @param mask   null, {@code [mb, 1]}, labels-shaped, or {@code [mb, time]} for per-time-step tasks; 0/1 values
     * @return the mean loss over the labelled examples and their number (no gradient)
     */
    public static Result score(Task task, INDArray labels, INDArray preOut, INDArray mask) {
        return compute(task, labels, preOut, mask, false);
    }

    private static Result compute(Task task, INDArray labels, INDArray preOut, INDArray mask, boolean withGradient) {
        long mb = preOut.size(0);
        int labelled = mask == null ? (int) mb : labelledExamples(mask);
        if (labelled == 0) {
            return new Result(0.0, 0, withGradient ? preOut.ulike().assign(0) : null);
        }
        boolean sequence = preOut.rank() == 3;
        INDArray z = preOut;
        INDArray y = labels;
        INDArray m = mask;
        if (sequence) {
            z = TimeSeriesUtils.reshape3dTo2d(preOut);
            y = TimeSeriesUtils.reshape3dTo2d(labels);
            if (mask != null) {
                m = mask.rank() == 3 ? TimeSeriesUtils.reshape3dTo2d(mask)
                        : TimeSeriesUtils.reshapeTimeSeriesMaskToVector(mask, LayerWorkspaceMgr.noWorkspaces(),
                        ArrayType.ACTIVATIONS);
            }
        }
        double sum = task.loss().computeScore(y, z, task.activation(), m, false);
        if (!withGradient) {
            return new Result(sum / labelled, labelled, null);
        }
        INDArray gradient = task.loss().computeGradient(y, z, task.activation(), m);
        if (labelled != mb) {
            gradient.muli((double) mb / labelled);
        }
        if (sequence) {
            gradient = TimeSeriesUtils.reshape2dTo3d(gradient, (int) mb);
        }
        return new Result(sum / labelled, labelled, gradient);
    }

    /** The number of examples (first dimension) with at least one non-zero mask entry. */
    static int labelledExamples(INDArray mask) {
        if (mask.rank() == 2 && mask.size(1) == 1) {
            return (int) Math.round(mask.sumNumber().doubleValue());
        }
        INDArray rows = mask.reshape(mask.ordering(), mask.size(0), mask.length() / mask.size(0));
        return (int) Math.round(rows.max(1).sumNumber().doubleValue());
    }
}
