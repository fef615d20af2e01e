package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.SplittableRandom;

/**
 * Random loss weighting, RLW (Lin, Ye, Xu, Shi, Zhang and Kwok, "Reasonable Effectiveness of Random
 * Weighting: A Litmus Test for Multi-Task Learning", TMLR 2022): every step draws fresh random task weights.
 *
 * <p>Each step's weights are
 * <pre>
 *   w = softmax(z),   z_t ~ N(0, 1) independently per task,
 * </pre>
 * so the weights are positive and sum to 1 (not to the task count), each with expectation 1/T over steps,
 * T the number of tasks. This is the paper's default (normal) sampling distribution and what LibMTL's
 * {@code weighting/RLW.py} does ({@code softmax(randn(task_num))}, no rescaling). Because the weights sum to 1,
 * the step is about 1/T the size of the one with equal weights 1; scale the learning rate when comparing.
 *
 * <p>The draw is a function of the seed (default 0) and the network's iteration count
 * ({@link TaskLosses#iteration()}) alone: no random state is kept, resumed training equals uninterrupted,
 * and {@code MultiTaskNetwork.gradient} at a given iteration sees the weights that the training step would.
 *
 * <p>Departures from the paper and the reference code:
 * <ul>
 *   <li>the paper's other distributions (uniform, Dirichlet, Bernoulli) are not offered;</li>
 *   <li>LibMTL draws from PyTorch's global generator instead, so its weights depend on everything else
 *       drawn.</li>
 * </ul>
 */
public final class RandomLossWeighting implements LossCombinator {

    private final long seed;

    /** Seed 0. */
    public RandomLossWeighting() {
        this(0L);
    }

    /**
     * The given seed.
     *
     * @param seed the seed of the draws; with the iteration count it fixes each step's weights
     */
    @JsonCreator
    public RandomLossWeighting(@JsonProperty("seed") long seed) {
        this.seed = seed;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        return new TaskWeights(weights(losses.iteration(), losses.size()));
    }

    /**
     * The weights drawn for {@code iteration} with {@code tasks} tasks: a softmax of standard normal draws.
     *
     * @param iteration the network's iteration count
     * @param tasks     the number of tasks, at least 1
     * @return the weights, positive and summing to 1
     * @throws IllegalArgumentException if {@code tasks < 1}
     */
    public double[] weights(long iteration, int tasks) {
        if (tasks < 1) {
            throw new IllegalArgumentException("random loss weighting needs at least 1 task, got " + tasks);
        }
        SplittableRandom random = IterationRandom.of(seed, iteration);
        double[] w = new double[tasks];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < tasks; t++) {
            w[t] = IterationRandom.standardNormal(random);
            max = Math.max(max, w[t]);
        }
        double total = 0;
        for (int t = 0; t < tasks; t++) {
            w[t] = Math.exp(w[t] - max);
            total += w[t];
        }
        for (int t = 0; t < tasks; t++) {
            w[t] /= total;
        }
        return w;
    }

    /** {@return the seed of the draws} */
    @JsonProperty("seed")
    public long getSeed() {
        return seed;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RandomLossWeighting r && seed == r.seed;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(seed);
    }

    @Override
    public String toString() {
        return "RandomLossWeighting(seed=" + seed + ")";
    }
}
