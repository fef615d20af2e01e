package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * MGDA-UB (Sener and Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018): each step
 * trains the shared parameters along the min-norm point of the convex hull of the task gradients.
 *
 * <p>Each step solves
 * <pre>
 *   a = argmin_{a &gt;= 0, sum a = 1} || sum_t a_t g_t / n_t ||^2
 * </pre>
 * and trains the shared parameters on {@code sum_t (a_t / n_t) g_t}, a common descent direction of all tasks
 * (zero at a Pareto-stationary point).
 * <ul>
 *   <li>Solver: Frank-Wolfe (the paper's Algorithm 2: start at {@code a = 1/T}, line search by Algorithm 1's
 *       closed form, stopping when a step is below 1e-5 or after {@code maxIterations}, default 250 as the
 *       authors' code), made exact on the face Frank-Wolfe converges to (one KKT linear system; Frank-Wolfe
 *       alone can be a few percent off after 250 iterations).</li>
 *   <li>Gradients: by default the {@code g_t} are the gradients w.r.t. the shared representation Z (the paper's
 *       "upper bound", one value per example and feature, flattened over the minibatch as in the paper and the
 *       authors' code), which costs one head backward per task; with
 *       {@link Builder#gradients(SharedGradients)} {@link SharedGradients#SHARED_PARAMETERS} they are the
 *       gradients w.r.t. every encoder parameter (the paper's MGDA, one encoder backward per task). The default
 *       applies where every task reads one representation; where tasks read different ones (a column per task:
 *       soft sharing, cross-stitch, sluice; or a task hierarchy) the default is
 *       {@link SharedGradients#SHARED_PARAMETERS} ({@link #gradients(boolean)}, logged once at build), so MGDA
 *       works with any sharing strategy. An explicit {@link SharedGradients#REPRESENTATION} is kept, and refused
 *       on such a network.</li>
 *   <li>Gradient normalisation {@code n_t} ({@link Normalization}): none by default (the paper has none); the
 *       authors' code offers {@code l2} ({@code ||g_t||}), {@code loss} ({@code L_t}) and {@code loss+}
 *       ({@code L_t ||g_t||}). A task whose normaliser is 0 (no gradient, or no labelled example) keeps
 *       {@code n_t = 1}.</li>
 *   <li>Heads: as the paper's Algorithm 2, each task's head trains on its own plain gradient (weight 1).</li>
 *   <li>A task with no labelled example in the step has no gradient to offer and is left out (weight 0); kept
 *       in, its zero gradient would make the min-norm point 0 and stop the shared parameters for the step.</li>
 * </ul>
 *
 * <p>Departures of the reference code, offered as options:
 * <ul>
 *   <li>The authors' code back-propagates {@code sum_t a_t L_t}, so its heads are weighted by {@code a_t} too
 *       ({@link Builder#weightHeads(boolean)}).</li>
 *   <li>It applies {@code a_t} to the raw, not the normalised gradients ({@link Builder#rawGradients(boolean)};
 *       LibMTL's representation mode does the same; its parameter mode uses {@code a_t / n_t} as here).</li>
 * </ul>
 * Not offered:
 * <ul>
 *   <li>The authors' code solves with projected gradient descent from the best pair instead of Frank-Wolfe
 *       (both approach the same min-norm point).</li>
 *   <li>LibMTL sums the representation gradients over the minibatch instead of flattening them, which changes
 *       the Gram matrix.</li>
 * </ul>
 */
public final class Mgda implements LossCombinator {

    /** How each task gradient is scaled before the min-norm problem. */
    public enum Normalization {
        /** {@code n_t = 1} (the paper). */
        NONE,
        /** {@code n_t = ||g_t||}. */
        L2,
        /** {@code n_t = L_t}. */
        LOSS,
        /** {@code n_t = L_t ||g_t||} ("loss+" in the authors' code). */
        LOSS_L2
    }

    private final SharedGradients gradients;
    private final Normalization normalization;
    private final boolean rawGradients;
    private final boolean weightHeads;
    private final int maxIterations;

    /**
     * MGDA-UB: representation gradients (shared-parameter gradients where the tasks read different
     * representations), no normalisation, plain head gradients, 250 Frank-Wolfe iterations.
     */
    public Mgda() {
        this(null, Normalization.NONE, false, false, 250);
    }

    @JsonCreator
    private Mgda(@JsonProperty("gradients") SharedGradients gradients,
                 @JsonProperty("normalization") Normalization normalization,
                 @JsonProperty("rawGradients") boolean rawGradients,
                 @JsonProperty("weightHeads") boolean weightHeads,
                 @JsonProperty("maxIterations") int maxIterations) {
        this.gradients = gradients;
        if (gradients == SharedGradients.NONE) {
            throw new IllegalArgumentException("MGDA needs task gradients: REPRESENTATION, LAST_SHARED_LAYER or"
                    + " SHARED_PARAMETERS, not NONE");
        }
        this.normalization = Objects.requireNonNull(normalization, "normalization");
        if (maxIterations < 1) {
            throw new IllegalArgumentException("MGDA: maxIterations must be >= 1, got " + maxIterations);
        }
        this.rawGradients = rawGradients;
        this.weightHeads = weightHeads;
        this.maxIterations = maxIterations;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #Mgda()}
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The kind the min-norm problem reads where every task reads one representation: the configured kind, or
     * {@link SharedGradients#REPRESENTATION} (MGDA-UB) when none was set.
     *
     * @return the kind of per-task gradient
     */
    @Override
    public SharedGradients gradients() {
        return gradients == null ? SharedGradients.REPRESENTATION : gradients;
    }

    /**
     * The configured kind, or when none was set {@link SharedGradients#REPRESENTATION} (MGDA-UB) where every task
     * reads one representation and {@link SharedGradients#SHARED_PARAMETERS} (the paper's MGDA) otherwise.
     *
     * @param oneRepresentation whether every task reads the same representation vertex
     * @return the kind of per-task gradient the step computes
     */
    @Override
    public SharedGradients gradients(boolean oneRepresentation) {
        return gradients != null ? gradients
                : oneRepresentation ? SharedGradients.REPRESENTATION : SharedGradients.SHARED_PARAMETERS;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        double[][] gram = losses.gram();
        int n = gram.length;
        int[] active = TaskSubset.labelled(losses);
        double[] shared = new double[n];
        if (active.length == 0) {
            return weightHeads ? new TaskWeights(shared) : TaskWeights.sharedOnly(shared);
        }
        double[] norm = new double[n];
        for (int t : active) {
            double scale = switch (normalization) {
                case NONE -> 1;
                case L2 -> Math.sqrt(gram[t][t]);
                case LOSS -> losses.loss(t);
                case LOSS_L2 -> losses.loss(t) * Math.sqrt(gram[t][t]);
            };
            norm[t] = scale > 0 && Double.isFinite(scale) ? scale : 1;
        }
        double[][] normalised = TaskSubset.gram(gram, active);
        for (int i = 0; i < active.length; i++) {
            for (int j = 0; j < active.length; j++) {
                normalised[i][j] /= norm[active[i]] * norm[active[j]];
            }
        }
        double[] a = minNormWeights(normalised);
        for (int i = 0; i < active.length; i++) {
            int t = active[i];
            shared[t] = rawGradients ? a[i] : a[i] / norm[t];
        }
        return weightHeads ? new TaskWeights(shared) : TaskWeights.sharedOnly(shared);
    }

    /** The min-norm weights for a Gram matrix: Frank-Wolfe, then exact on its support. */
    double[] minNormWeights(double[][] gram) {
        return MinNormPoint.refine(gram, MinNormPoint.frankWolfe(gram, maxIterations));
    }

    /**
     * Which gradients the min-norm problem reads, as configured.
     *
     * @return the kind, or null when not set (the network chooses, see {@link #gradients(boolean)})
     */
    @JsonProperty("gradients")
    public SharedGradients getGradients() {
        return gradients;
    }

    /** {@return the gradient normalisation} */
    @JsonProperty("normalization")
    public Normalization getNormalization() {
        return normalization;
    }

    /** {@return whether the weights apply to the raw instead of the normalised gradients (the authors' code)} */
    @JsonProperty("rawGradients")
    public boolean isRawGradients() {
        return rawGradients;
    }

    /** {@return whether the heads are weighted too (the authors' code) instead of training on their plain gradients} */
    @JsonProperty("weightHeads")
    public boolean isWeightHeads() {
        return weightHeads;
    }

    /** {@return the Frank-Wolfe iteration limit} */
    @JsonProperty("maxIterations")
    public int getMaxIterations() {
        return maxIterations;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mgda m && gradients == m.gradients && normalization == m.normalization
                && rawGradients == m.rawGradients && weightHeads == m.weightHeads && maxIterations == m.maxIterations;
    }

    @Override
    public int hashCode() {
        return Objects.hash(gradients, normalization, rawGradients, weightHeads, maxIterations);
    }

    @Override
    public String toString() {
        return "Mgda(gradients=" + (gradients == null ? "auto" : gradients) + ", normalization=" + normalization
                + (rawGradients ? ", rawGradients" : "") + (weightHeads ? ", weightHeads" : "")
                + ", maxIterations=" + maxIterations + ")";
    }

    /** Builds an {@link Mgda}. */
    public static final class Builder {
        private SharedGradients gradients;
        private Normalization normalization = Normalization.NONE;
        private boolean rawGradients;
        private boolean weightHeads;
        private int maxIterations = 250;

        private Builder() {
        }

        /**
         * Which task gradients the min-norm problem reads (default: not set, {@link SharedGradients#REPRESENTATION}
         * (MGDA-UB) where every task reads one representation, else {@link SharedGradients#SHARED_PARAMETERS}).
         *
         * @param gradients any kind but {@link SharedGradients#NONE}; {@link SharedGradients#SHARED_PARAMETERS}
         *                  for the paper's MGDA
         * @return this builder
         */
        public Builder gradients(SharedGradients gradients) {
            this.gradients = Objects.requireNonNull(gradients, "gradients");
            return this;
        }

        /**
         * The gradient normalisation (default {@link Normalization#NONE}).
         *
         * @param normalization how each task gradient is scaled before the min-norm problem
         * @return this builder
         */
        public Builder normalization(Normalization normalization) {
            this.normalization = Objects.requireNonNull(normalization, "normalization");
            return this;
        }

        /**
         * Apply the weights to the raw gradients, as the authors' code does (default false: the normalised ones).
         *
         * @param raw true to weight the raw gradients by {@code a_t}, false for {@code a_t / n_t}
         * @return this builder
         */
        public Builder rawGradients(boolean raw) {
            this.rawGradients = raw;
            return this;
        }

        /**
         * Weight the heads too, as the authors' code does (default false: plain head gradients, the paper).
         *
         * @param weighted true to weight each head's gradient by the task's weight
         * @return this builder
         */
        public Builder weightHeads(boolean weighted) {
            this.weightHeads = weighted;
            return this;
        }

        /**
         * The Frank-Wolfe iteration limit (default 250).
         *
         * @param iterations the most Frank-Wolfe iterations per step, at least 1
         * @return this builder
         */
        public Builder maxIterations(int iterations) {
            this.maxIterations = iterations;
            return this;
        }

        /**
         * Builds the combinator.
         *
         * @return the combinator
         * @throws IllegalArgumentException if the gradients are {@link SharedGradients#NONE} or the iteration limit
         *                                  is below 1
         */
        public Mgda build() {
            return new Mgda(gradients, normalization, rawGradients, weightHeads, maxIterations);
        }
    }
}
