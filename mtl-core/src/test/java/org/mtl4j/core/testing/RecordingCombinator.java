package org.mtl4j.core.testing;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * A test combinator with fixed weights that asks for task gradients (so the step takes the split
 * head/encoder backward pass) and remembers the last losses it saw, with copies of their gradients.
 */
public final class RecordingCombinator implements LossCombinator {

    private final SharedGradients kind;
    private final TaskWeights weights;
    private TaskLosses last;
    private List<INDArray> lastGradients;

    /** Fixed weights, in task order, reading representation gradients. */
    public RecordingCombinator(double... weights) {
        this(SharedGradients.REPRESENTATION, weights);
    }

    /** Fixed weights, in task order, reading gradients of the given kind. */
    public RecordingCombinator(SharedGradients kind, double... weights) {
        this(kind, new TaskWeights(weights));
    }

    /** The given weights (shared and head weights may differ), reading gradients of the given kind. */
    public RecordingCombinator(SharedGradients kind, TaskWeights weights) {
        this.kind = kind;
        this.weights = weights;
    }

    @Override
    public SharedGradients gradients() {
        return kind;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        last = losses;
        lastGradients = losses.gradients().stream().map(INDArray::dup).toList();
        return weights;
    }

    /** The losses (with gradients: read them before the next step) of the last step. */
    public TaskLosses last() {
        return last;
    }

    /** Copies of task {@code t}'s gradient in the last step. */
    public INDArray lastGradient(int t) {
        return lastGradients.get(t);
    }
}
