package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * PCGrad, projecting conflicting gradients (Yu, Kumar, Gupta, Levine, Hausman and Finn, "Gradient Surgery
 * for Multi-Task Learning", NeurIPS 2020, Algorithm 1): each task's gradient loses its components that
 * conflict with the other tasks' gradients before they are summed.
 *
 * <p>For each task i, starting from {@code g_i^PC = g_i}, the other tasks j are visited in a random order drawn
 * afresh for each i; whenever {@code g_i^PC . g_j < 0} the conflicting component is removed,
 * <pre>
 *   g_i^PC -= (g_i^PC . g_j / ||g_j||^2) g_j,
 * </pre>
 * always against the original {@code g_j}. The shared parameters train on {@code sum_i g_i^PC} and each head on
 * its plain gradient. A task with a zero gradient removes nothing.
 *
 * <p>Defaults and how it is computed:
 * <ul>
 *   <li>the paper's sum; {@link Builder#mean(boolean)} divides by T as the popular PyTorch port does;</li>
 *   <li>the {@code g_t} are the gradients w.r.t. every encoder parameter by default (one encoder backward per
 *       task); {@link Builder#gradients(SharedGradients)} can choose the representation's (cheaper, not in the
 *       paper);</li>
 *   <li>every projection is a linear combination of the original gradients, so
 *       {@code sum_i g_i^PC = sum_j c_j g_j} with coefficients computed from the Gram matrix alone (each
 *       {@code c_j >= 1}); they are the weights returned;</li>
 *   <li>the orders are a function of the seed (default 0) and the iteration count, so resumed training equals
 *       uninterrupted.</li>
 * </ul>
 *
 * <p>Departures of the reference code, neither offered:
 * <ul>
 *   <li>the official TensorFlow code discards its shuffle (a fixed order) and lets a task project onto
 *       itself;</li>
 *   <li>LibMTL shuffles all tasks, itself included, and adds 1e-8 to {@code ||g_j||^2}.</li>
 * </ul>
 */
public final class PcGrad implements LossCombinator {

    private final SharedGradients gradients;
    private final boolean mean;
    private final long seed;

    /** The paper's PCGrad: shared-parameter gradients, summed, seed 0. */
    public PcGrad() {
        this(SharedGradients.SHARED_PARAMETERS, false, 0L);
    }

    @JsonCreator
    private PcGrad(@JsonProperty("gradients") SharedGradients gradients, @JsonProperty("mean") boolean mean,
                   @JsonProperty("seed") long seed) {
        this.gradients = Objects.requireNonNull(gradients, "gradients");
        if (gradients == SharedGradients.NONE) {
            throw new IllegalArgumentException("PCGrad needs task gradients: SHARED_PARAMETERS (the paper),"
                    + " REPRESENTATION or LAST_SHARED_LAYER, not NONE");
        }
        this.mean = mean;
        this.seed = seed;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #PcGrad()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public SharedGradients gradients() {
        return gradients;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        return TaskWeights.sharedOnly(coefficients(losses.gram(), losses.iteration()));
    }

    /**
     * The coefficients {@code c} with {@code sum_i g_i^PC = sum_j c_j g_j} for the Gram matrix {@code gram} and
     * the projection orders of {@code iteration} (divided by T with {@link Builder#mean(boolean)}).
     *
     * @param gram      the {@code T x T} Gram matrix {@code G_ij = g_i . g_j} of the task gradients
     * @param iteration the network's iteration count, which with the seed fixes the random projection orders
     * @return each task's coefficient {@code c_j}
     */
    public double[] coefficients(double[][] gram, long iteration) {
        int n = gram.length;
        SplittableRandom random = IterationRandom.of(seed, iteration);
        double[] sum = new double[n];
        for (int i = 0; i < n; i++) {
            double[] c = new double[n];
            c[i] = 1;
            int[] others = new int[n - 1];
            for (int j = 0, k = 0; j < n; j++) {
                if (j != i) {
                    others[k++] = j;
                }
            }
            for (int j : IterationRandom.shuffle(others, random)) {
                double dot = 0;
                for (int k = 0; k < n; k++) {
                    dot += c[k] * gram[k][j];
                }
                if (dot < 0 && gram[j][j] > 0) {
                    c[j] -= dot / gram[j][j];
                }
            }
            for (int k = 0; k < n; k++) {
                sum[k] += c[k];
            }
        }
        if (mean) {
            for (int k = 0; k < n; k++) {
                sum[k] /= n;
            }
        }
        return sum;
    }

    /** {@return which task gradients are projected} */
    @JsonProperty("gradients")
    public SharedGradients getGradients() {
        return gradients;
    }

    /** {@return whether the projected gradients are averaged instead of summed} */
    @JsonProperty("mean")
    public boolean isMean() {
        return mean;
    }

    /** {@return the seed of the projection orders} */
    @JsonProperty("seed")
    public long getSeed() {
        return seed;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcGrad p && gradients == p.gradients && mean == p.mean && seed == p.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(gradients, mean, seed);
    }

    @Override
    public String toString() {
        return "PcGrad(gradients=" + gradients + (mean ? ", mean" : "") + ", seed=" + seed + ")";
    }

    /** Builds a {@link PcGrad}. */
    public static final class Builder {
        private SharedGradients gradients = SharedGradients.SHARED_PARAMETERS;
        private boolean mean;
        private long seed;

        private Builder() {
        }

        /**
         * Which task gradients are projected (default {@link SharedGradients#SHARED_PARAMETERS}, the paper).
         *
         * @param gradients any kind but {@link SharedGradients#NONE}
         * @return this builder
         */
        public Builder gradients(SharedGradients gradients) {
            this.gradients = Objects.requireNonNull(gradients, "gradients");
            return this;
        }

        /**
         * Average the projected gradients instead of summing them (default false: the paper's sum).
         *
         * @param mean true to divide the sum of the projected gradients by T
         * @return this builder
         */
        public Builder mean(boolean mean) {
            this.mean = mean;
            return this;
        }

        /**
         * The seed of the random projection orders (default 0).
         *
         * @param seed the seed; with the iteration count it fixes each step's orders
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Builds the combinator.
         *
         * @return the combinator
         * @throws IllegalArgumentException if the gradients are {@link SharedGradients#NONE}
         */
        public PcGrad build() {
            return new PcGrad(gradients, mean, seed);
        }
    }
}
