package org.mtl4j.core.testing;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.Task;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * A stateful test combinator: task t's weight is {@code 1 + decay^steps * t}, where {@code steps} counts
 * the calls since init. Its state (the count) must survive save/load for resumed training to match.
 */
public final class CountingWeights implements LossCombinator {

    private final double decay;
    private int tasks;
    private long steps;

    /** A combinator whose weights decay by {@code decay} per step. */
    @JsonCreator
    public CountingWeights(@JsonProperty("decay") double decay) {
        this.decay = decay;
    }

    /** The decay factor. */
    @JsonProperty("decay")
    public double getDecay() {
        return decay;
    }

    @Override
    public void init(List<Task> taskList) {
        tasks = taskList.size();
        steps = 0;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        double[] w = new double[tasks];
        for (int t = 0; t < tasks; t++) {
            w[t] = 1 + Math.pow(decay, steps) * t;
        }
        steps++;
        return new TaskWeights(w);
    }

    @Override
    public double[] state() {
        return new double[]{steps};
    }

    @Override
    public void restoreState(double[] state) {
        if (state.length != 1) {
            throw new IllegalArgumentException("CountingWeights keeps 1 value, got " + state.length);
        }
        steps = (long) state[0];
    }
}
