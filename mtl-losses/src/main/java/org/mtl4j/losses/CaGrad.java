package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * CAGrad, conflict-averse gradient descent (Liu, Liu, Jin, Stone and Liu, "Conflict-Averse Gradient Descent
 * for Multi-task Learning", NeurIPS 2021, Algorithm 1): the update direction maximises the worst task's
 * improvement within a ball around the average gradient.
 *
 * <p>With {@code g0 = (1/T) sum_t g_t}, the direction d maximises {@code min_t g_t . d} within
 * {@code ||d - g0|| <= c ||g0||}. Through its dual,
 * <pre>
 *   w = argmin_{w in simplex} g_w . g0 + sqrt(phi) ||g_w||,   g_w = sum_t w_t g_t,   phi = c^2 ||g0||^2,
 *   d = g0 + (sqrt(phi) / ||g_w||) g_w,
 * </pre>
 * so the shared parameters train on {@code sum_t (1/T + lambda w_t) g_t} with {@code lambda = sqrt(phi)/||g_w||},
 * and each head on its plain gradient. A task with no labelled example in the step is left out (weight 0, T
 * counts the others).
 *
 * <p>Defaults and how it is computed:
 * <ul>
 *   <li>{@code c} defaults to 0.5 (in [0, 1); c = 0 is the average gradient, i.e. equal weights 1/T);</li>
 *   <li>the {@code g_t} are the gradients w.r.t. every encoder parameter by default, as in the paper (one encoder
 *       backward per task); {@link Builder#gradients(SharedGradients)} can choose the representation's;</li>
 *   <li>the dual is solved on the Gram matrix by projected gradient descent with backtracking (until a step
 *       changes no weight by 1e-12, at most 10,000 iterations: the weights are within about 1e-8 of the
 *       minimiser; the authors' code calls SciPy's SLSQP with tolerance 1e-6);</li>
 *   <li>scale: {@code d} is on the scale of the average gradient, 1/T of what {@code FixedWeights.equal()} (the
 *       sum of the losses) gives.</li>
 * </ul>
 *
 * <p>Departures of the reference code, offered as options:
 * <ul>
 *   <li>the official code rescales {@code d} by {@code 1/(1+c^2)} by default ({@link Rescale}), and multiplies it
 *       by T "to match the sum loss" ({@link Builder#sumScale(boolean)});</li>
 *   <li>LibMTL rescales by {@code 1/(1+c^2)} without the factor T.</li>
 * </ul>
 * Both add small constants (1e-8) under the square roots, which are left out here: a zero {@code g_w} gives
 * {@code d = g0}.
 */
public final class CaGrad implements LossCombinator {

    /** Rescaling of the direction (the authors' {@code rescale} option: 0, 1 and 2). */
    public enum Rescale {
        /** {@code d} as derived (the paper; the code's 0). */
        NONE,
        /** {@code d / (1 + c^2)} (the code's 1, its default). */
        ONE_PLUS_C_SQUARED,
        /** {@code d / (1 + c)} (the code's 2: equal gradients give back that gradient). */
        ONE_PLUS_C
    }

    private static final int MAX_ITERATIONS = 10_000;
    private static final double TOLERANCE = 1e-12;

    private final double c;
    private final SharedGradients gradients;
    private final Rescale rescale;
    private final boolean sumScale;

    /** CAGrad with c = 0.5 on shared-parameter gradients, no rescaling, average-gradient scale. */
    public CaGrad() {
        this(0.5, SharedGradients.SHARED_PARAMETERS, Rescale.NONE, false);
    }

    /**
     * CAGrad with the given c, otherwise the defaults.
     *
     * @param c the radius factor, in [0, 1); 0 gives the average gradient
     * @throws IllegalArgumentException if {@code c} is not in [0, 1)
     */
    public CaGrad(double c) {
        this(c, SharedGradients.SHARED_PARAMETERS, Rescale.NONE, false);
    }

    @JsonCreator
    private CaGrad(@JsonProperty("c") double c, @JsonProperty("gradients") SharedGradients gradients,
                   @JsonProperty("rescale") Rescale rescale, @JsonProperty("sumScale") boolean sumScale) {
        if (!(c >= 0) || !(c < 1)) {
            throw new IllegalArgumentException("CAGrad: c must be in [0, 1), got " + c);
        }
        this.gradients = Objects.requireNonNull(gradients, "gradients");
        if (gradients == SharedGradients.NONE) {
            throw new IllegalArgumentException("CAGrad needs task gradients: SHARED_PARAMETERS (the paper),"
                    + " REPRESENTATION or LAST_SHARED_LAYER, not NONE");
        }
        this.c = c;
        this.rescale = Objects.requireNonNull(rescale, "rescale");
        this.sumScale = sumScale;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #CaGrad()}
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
        int[] active = TaskSubset.labelled(losses);
        double[] shared = new double[losses.size()];
        if (active.length > 0) {
            double[] c = coefficients(TaskSubset.gram(losses.gram(), active));
            for (int i = 0; i < active.length; i++) {
                shared[active[i]] = c[i];
            }
        }
        return TaskWeights.sharedOnly(shared);
    }

    /**
     * The coefficients {@code s (1/T + lambda w_t)} of the direction for the Gram matrix {@code gram}.
     *
     * @param gram the {@code T x T} Gram matrix {@code G_ij = g_i . g_j} of the task gradients
     * @return each task's coefficient, with {@code s} the rescaling (times T with the sum scale)
     */
    public double[] coefficients(double[][] gram) {
        int n = gram.length;
        double[] w = dualWeights(gram);
        double gw = Math.sqrt(Math.max(MinNormPoint.quadratic(gram, w), 0));
        double lambda = gw > 0 ? c * averageNorm(gram) / gw : 0;
        double scale = switch (rescale) {
            case NONE -> 1;
            case ONE_PLUS_C_SQUARED -> 1 / (1 + c * c);
            case ONE_PLUS_C -> 1 / (1 + c);
        };
        if (sumScale) {
            scale *= n;
        }
        double[] coefficients = new double[n];
        for (int t = 0; t < n; t++) {
            coefficients[t] = scale * (1.0 / n + lambda * w[t]);
        }
        return coefficients;
    }

    /** {@code ||g0|| = sqrt(1^T G 1) / T}. */
    private static double averageNorm(double[][] gram) {
        double sum = 0;
        for (double[] row : gram) {
            for (double v : row) {
                sum += v;
            }
        }
        return Math.sqrt(Math.max(sum, 0)) / gram.length;
    }

    /** The dual's minimiser {@code w} on the simplex, by projected gradient descent with backtracking. */
    double[] dualWeights(double[][] gram) {
        int n = gram.length;
        double sqrtPhi = c * averageNorm(gram);
        double[] gb = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                gb[i] += gram[i][j] / n;
            }
        }
        double[] w = new double[n];
        java.util.Arrays.fill(w, 1.0 / n);
        double trace = 0;
        for (int t = 0; t < n; t++) {
            trace += Math.abs(gram[t][t]);
        }
        if (trace == 0) {
            return w;
        }
        double step = 1 / trace;
        double f = dual(gram, gb, sqrtPhi, w);
        double[] gw = new double[n];
        for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
            MinNormPoint.multiply(gram, w, gw);
            double norm = Math.sqrt(Math.max(MinNormPoint.dot(w, gw), 0));
            double[] grad = new double[n];
            for (int t = 0; t < n; t++) {
                grad[t] = gb[t] + (norm > 0 ? sqrtPhi * gw[t] / norm : 0);
            }
            double[] next;
            double fNext;
            double moved;
            while (true) {
                double[] trial = new double[n];
                for (int t = 0; t < n; t++) {
                    trial[t] = w[t] - step * grad[t];
                }
                next = Simplex.project(trial);
                double decrease = 0;
                double squared = 0;
                moved = 0;
                for (int t = 0; t < n; t++) {
                    double d = next[t] - w[t];
                    decrease += grad[t] * d;
                    squared += d * d;
                    moved = Math.max(moved, Math.abs(d));
                }
                fNext = dual(gram, gb, sqrtPhi, next);
                if (fNext <= f + decrease + squared / (2 * step) || moved < TOLERANCE) {
                    break;
                }
                step /= 2;
            }
            if (moved < TOLERANCE) {
                break;
            }
            w = next;
            f = fNext;
            step *= 2;
        }
        return w;
    }

    /** The dual objective {@code w^T G 1/T + sqrt(phi) sqrt(w^T G w)}. */
    private static double dual(double[][] gram, double[] gb, double sqrtPhi, double[] w) {
        return MinNormPoint.dot(w, gb) + sqrtPhi * Math.sqrt(Math.max(MinNormPoint.quadratic(gram, w), 0));
    }

    /** {@return the radius factor c} */
    @JsonProperty("c")
    public double getC() {
        return c;
    }

    /** {@return which task gradients are combined} */
    @JsonProperty("gradients")
    public SharedGradients getGradients() {
        return gradients;
    }

    /** {@return the rescaling of the direction} */
    @JsonProperty("rescale")
    public Rescale getRescale() {
        return rescale;
    }

    /** {@return whether the direction is multiplied by T (the official code's sum-loss scale)} */
    @JsonProperty("sumScale")
    public boolean isSumScale() {
        return sumScale;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CaGrad g && Double.compare(c, g.c) == 0 && gradients == g.gradients
                && rescale == g.rescale && sumScale == g.sumScale;
    }

    @Override
    public int hashCode() {
        return Objects.hash(c, gradients, rescale, sumScale);
    }

    @Override
    public String toString() {
        return "CaGrad(c=" + c + ", gradients=" + gradients + ", rescale=" + rescale + (sumScale ? ", sumScale" : "")
                + ")";
    }

    /** Builds a {@link CaGrad}. */
    public static final class Builder {
        private double c = 0.5;
        private SharedGradients gradients = SharedGradients.SHARED_PARAMETERS;
        private Rescale rescale = Rescale.NONE;
        private boolean sumScale;

        private Builder() {
        }

        /**
         * The radius factor c in [0, 1) (default 0.5).
         *
         * @param c the radius of the ball around the average gradient, as a fraction of its norm
         * @return this builder
         */
        public Builder c(double c) {
            this.c = c;
            return this;
        }

        /**
         * Which task gradients are combined (default {@link SharedGradients#SHARED_PARAMETERS}, the paper).
         *
         * @param gradients any kind but {@link SharedGradients#NONE}
         * @return this builder
         */
        public Builder gradients(SharedGradients gradients) {
            this.gradients = Objects.requireNonNull(gradients, "gradients");
            return this;
        }

        /**
         * The rescaling of the direction (default {@link Rescale#NONE}, the paper).
         *
         * @param rescale none, {@code 1/(1+c^2)} or {@code 1/(1+c)}
         * @return this builder
         */
        public Builder rescale(Rescale rescale) {
            this.rescale = Objects.requireNonNull(rescale, "rescale");
            return this;
        }

        /**
         * Multiply the direction by T, as the official code does (default false).
         *
         * @param sumScale true to multiply the direction by the number of tasks
         * @return this builder
         */
        public Builder sumScale(boolean sumScale) {
            this.sumScale = sumScale;
            return this;
        }

        /**
         * Builds the combinator.
         *
         * @return the combinator
         * @throws IllegalArgumentException if {@code c} is not in [0, 1) or the gradients are
         *                                  {@link SharedGradients#NONE}
         */
        public CaGrad build() {
            return new CaGrad(c, gradients, rescale, sumScale);
        }
    }
}
