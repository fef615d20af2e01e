package org.mtl4j.core.testing;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;

/**
 * A test combinator with fixed weights that asks for representation gradients (so the step takes the
 * split head/encoder backward pass) and remembers the last losses it saw.
 */
public final class RecordingCombinator implements LossCombinator {

    private final double[] weights;
    private TaskLosses last;

    /** Fixed weights, in task order. */
    public RecordingCombinator(double... weights) {
        this.weights = weights.clone();
    }

    @Override
    public boolean needsRepresentationGradients() {
        return true;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        last = losses;
        return new TaskWeights(weights);
    }

    /** The losses (with representation gradients) of the last step. */
    public TaskLosses last() {
        return last;
    }
}
