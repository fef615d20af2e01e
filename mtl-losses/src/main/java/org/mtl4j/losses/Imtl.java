package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * IMTL, impartial multi-task learning (Liu, Li, Kuang, Xue, Chen, Yang, Liao and Zhang, "Towards Impartial
 * Multi-task Learning", ICLR 2021): learned loss scales, a closed-form gradient balance, or both, so that no task
 * dominates the shared parameters.
 *
 * <p>The three forms ({@link Mode}):
 * <ul>
 *   <li><b>IMTL-L</b> (loss balance): each loss becomes {@code e^{s_t} L_t - s_t} with a learned
 *   {@code s_t} (initial 0), trained by gradient steps on that scaled loss ({@code d/ds_t = e^{s_t} L_t - 1},
 *   optimum {@code e^{s_t} L_t = 1}); every parameter of task t is weighted by {@code e^{s_t}}. Needs no
 *   task gradient.</li>
 *   <li><b>IMTL-G</b> (gradient balance): the shared parameters train on {@code g = sum_t alpha_t g_t} with
 *   {@code sum_t alpha_t = 1} and equal projections {@code g . u_t} onto every unit gradient
 *   {@code u_t = g_t / ||g_t||}, in closed form with task 0 as anchor: with rows {@code D_t = g_0 - g_t}
 *   and {@code U_t = u_0 - u_t} ({@code t = 1..T-1}), {@code alpha_{1..} = g_0 U^T (D U^T)^-1},
 *   {@code alpha_0 = 1 - sum alpha_{1..}}, computed from the Gram matrix alone. Alpha may be negative. Heads
 *   train on their plain gradients.</li>
 *   <li><b>IMTL</b> (both, the default): IMTL-G on the gradients of the IMTL-L-scaled losses
 *   ({@code e^{s_t} g_t}), so the shared coefficient of {@code g_t} is {@code alpha_t e^{s_t}} and the head
 *   weight {@code e^{s_t}}.</li>
 * </ul>
 *
 * <p>Defaults: as in the paper, the {@code g_t} are the gradients w.r.t. the shared representation (flattened
 * over the minibatch) where every task reads one representation; where tasks read different ones (a column per
 * task: soft sharing, cross-stitch, sluice; or a task hierarchy) they are the shared parameters' gradients
 * ({@link #gradients(boolean)}, logged once at build), so IMTL works with any sharing strategy.
 * {@link Builder#gradients(SharedGradients)} can choose a kind (the shared parameters' is LibMTL's default); an
 * explicit {@link SharedGradients#REPRESENTATION} is kept, and refused where tasks read different
 * representations. {@code s} is trained by the network's updater configuration unless one is given; {@code s} and the
 * updater's state are the saved state.
 *
 * <p>Degenerate cases the paper leaves open:
 * <ul>
 *   <li>tasks whose gradient is zero (no labelled example in the step) get {@code alpha_t = 0} and the closed
 *       form runs over the others;</li>
 *   <li>when {@code D U^T} is singular (two unit gradients coincide, so every combination projects equally onto
 *       them) alpha is split equally over the tasks with a gradient, which keeps the projections equal for two
 *       tasks but not onto a third one;</li>
 *   <li>a task with no labelled example leaves its {@code s_t} alone.</li>
 * </ul>
 *
 * <p>Departures of the reference code (LibMTL), not offered:
 * <ul>
 *   <li>LibMTL inverts {@code D U^T} unguarded;</li>
 *   <li>it sums representation gradients over the minibatch.</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class Imtl implements LossCombinator {

    /** Which of the paper's methods. */
    public enum Mode {
        /** IMTL-L: learned loss scales. */
        LOSS,
        /** IMTL-G: closed-form gradient balance. */
        GRADIENT,
        /** IMTL: IMTL-G on the IMTL-L-scaled losses (the paper's full method). */
        HYBRID
    }

    private final Mode mode;
    private final SharedGradients gradients;
    private final IUpdater updater;
    private LearnedScalars scales;

    /**
     * The full IMTL (hybrid) on representation gradients (shared-parameter gradients where the tasks read
     * different representations), with the network's updater for the loss scales.
     */
    public Imtl() {
        this(Mode.HYBRID, null, null);
    }

    /**
     * The given mode on representation gradients (shared-parameter gradients where the tasks read different
     * representations), with the network's updater for the loss scales.
     *
     * @param mode IMTL-L, IMTL-G or both
     */
    public Imtl(Mode mode) {
        this(mode, null, null);
    }

    @JsonCreator
    private Imtl(@JsonProperty("mode") Mode mode, @JsonProperty("gradients") SharedGradients gradients,
                 @JsonProperty("updater") IUpdater updater) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.gradients = gradients;
        if (gradients == SharedGradients.NONE) {
            throw new IllegalArgumentException("IMTL needs a gradient kind for its gradient balance: REPRESENTATION"
                    + " (the paper), SHARED_PARAMETERS or LAST_SHARED_LAYER, not NONE");
        }
        this.updater = updater;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #Imtl()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void init(List<Task> tasks) {
        if (mode != Mode.GRADIENT && updater == null) {
            throw new IllegalStateException("IMTL-L without its own updater needs the network's: it is initialised by"
                    + " MultiTaskNetwork, or give one with builder().updater(...)");
        }
        init(tasks, updater);
    }

    @Override
    public void init(List<Task> tasks, IUpdater networkUpdater) {
        if (mode == Mode.GRADIENT) {
            scales = null;
            return;
        }
        IUpdater chosen = updater != null ? updater : Objects.requireNonNull(networkUpdater, "network updater");
        scales = new LearnedScalars(tasks.size(), 0.0, chosen);
    }

    /**
     * The kind IMTL-G reads where every task reads one representation: none for IMTL-L, else the configured
     * kind, or {@link SharedGradients#REPRESENTATION} (the paper) when none was set.
     *
     * @return the kind of per-task gradient
     */
    @Override
    public SharedGradients gradients() {
        return gradients(true);
    }

    /**
     * None for IMTL-L; else the configured kind, or when none was set {@link SharedGradients#REPRESENTATION} (the
     * paper) where every task reads one representation and {@link SharedGradients#SHARED_PARAMETERS} otherwise.
     *
     * @param oneRepresentation whether every task reads the same representation vertex
     * @return the kind of per-task gradient the step computes
     */
    @Override
    public SharedGradients gradients(boolean oneRepresentation) {
        if (mode == Mode.LOSS) {
            return SharedGradients.NONE;
        }
        return gradients != null ? gradients
                : oneRepresentation ? SharedGradients.REPRESENTATION : SharedGradients.SHARED_PARAMETERS;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        int n = losses.size();
        double[] scale = new double[n];
        Arrays.fill(scale, 1.0);
        if (mode != Mode.GRADIENT) {
            requireInit(n);
            for (int t = 0; t < n; t++) {
                scale[t] = Math.exp(scales.get(t));
            }
        }
        if (mode == Mode.LOSS) {
            return new TaskWeights(scale);
        }
        double[][] gram = losses.gram();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                gram[i][j] *= scale[i] * scale[j];
            }
        }
        double[] alpha = alphas(gram);
        double[] shared = new double[n];
        for (int t = 0; t < n; t++) {
            shared[t] = alpha[t] * scale[t];
        }
        return new TaskWeights(shared, scale);
    }

    /**
     * IMTL-G's closed form: the alpha with {@code sum alpha = 1} whose combination of the gradients of Gram
     * matrix {@code gram} projects equally onto every task's unit gradient.
     *
     * @param gram the {@code T x T} Gram matrix {@code G_ij = g_i . g_j} of the task gradients
     * @return each task's {@code alpha_t}, 0 for a task whose gradient is zero (the rest may be negative)
     */
    public static double[] alphas(double[][] gram) {
        int n = gram.length;
        int[] active = java.util.stream.IntStream.range(0, n).filter(t -> gram[t][t] > 0).toArray();
        double[] alpha = new double[n];
        if (active.length == 0) {
            Arrays.fill(alpha, 1.0 / n);
            return alpha;
        }
        if (active.length == 1) {
            alpha[active[0]] = 1;
            return alpha;
        }
        int anchor = active[0];
        int m = active.length - 1;
        double n0 = Math.sqrt(gram[anchor][anchor]);
        // (D U^T)_ij = (g_0 - g_i) . (u_0 - u_j); the system is (D U^T)^T x = (g_0 U^T)^T, augmented
        double[][] system = new double[m][m + 1];
        for (int jj = 0; jj < m; jj++) {
            int j = active[jj + 1];
            double nj = Math.sqrt(gram[j][j]);
            system[jj][m] = n0 - gram[anchor][j] / nj;
            for (int ii = 0; ii < m; ii++) {
                int i = active[ii + 1];
                system[jj][ii] = gram[anchor][anchor] / n0 - gram[anchor][j] / nj - gram[i][anchor] / n0
                        + gram[i][j] / nj;
            }
        }
        double largest = 0;
        for (int t : active) {
            largest = Math.max(largest, Math.sqrt(gram[t][t]));
        }
        // the entries are products of gradient and unit-vector differences: parallel gradients leave rounding
        // noise of about 1e-16 of the largest gradient, which a test relative to the entries would take for signal
        double[] x = LinearSystem.solve(system, 1e-10 * largest);
        if (x == null) {
            for (int t : active) {
                alpha[t] = 1.0 / active.length;
            }
            return alpha;
        }
        double rest = 0;
        for (int k = 0; k < m; k++) {
            alpha[active[k + 1]] = x[k];
            rest += x[k];
        }
        alpha[anchor] = 1 - rest;
        return alpha;
    }

    /** IMTL-L: one updater step of {@code s} down {@code e^{s_t} L_t - 1} (tasks with labelled examples only). */
    @Override
    public void update(TaskLosses losses, TaskWeights applied) {
        if (mode == Mode.GRADIENT) {
            return;
        }
        scales.step(scaleGradient(losses), LearnedScalars.labelled(losses), losses.iteration(), losses.epoch());
    }

    /** The gradient of {@code sum_t (e^{s_t} L_t - s_t)} w.r.t. each {@code s_t}, 0 for tasks with no label. */
    double[] scaleGradient(TaskLosses losses) {
        requireInit(losses.size());
        double[] g = new double[losses.size()];
        for (int t = 0; t < g.length; t++) {
            if (losses.labelled()[t] > 0) {
                g[t] = Math.exp(scales.get(t)) * losses.loss(t) - 1;
            }
        }
        return g;
    }

    /**
     * The learned loss scales {@code s_t} (IMTL-L; empty for IMTL-G).
     *
     * @return a copy of each task's {@code s_t}; a task's loss is weighted by {@code e^{s_t}}
     * @throws IllegalStateException if IMTL-L or IMTL has not been initialised by a network
     */
    public double[] logScales() {
        if (mode == Mode.GRADIENT) {
            return new double[0];
        }
        requireInit(-1);
        return scales.values();
    }

    /** The state: the loss scales, then their updater's state (nothing for IMTL-G). */
    @Override
    public double[] state() {
        if (mode == Mode.GRADIENT) {
            return new double[0];
        }
        requireInit(-1);
        return scales.state();
    }

    @Override
    public void restoreState(double[] state) {
        if (mode != Mode.GRADIENT) {
            requireInit(-1);
        }
        int expected = mode == Mode.GRADIENT ? 0 : scales.stateLength();
        if (state.length != expected) {
            throw new IllegalArgumentException("IMTL (" + mode + ") keeps " + expected + " values, got " + state.length);
        }
        if (expected > 0) {
            scales.restore(state, 0);
        }
    }

    private void requireInit(int tasks) {
        if (scales == null) {
            throw new IllegalStateException("IMTL is not initialised: build the network with it");
        }
        if (tasks >= 0 && tasks != scales.size()) {
            throw new IllegalArgumentException("IMTL was set up for " + scales.size() + " tasks, got " + tasks
                    + " losses");
        }
    }

    /** {@return the mode} */
    @JsonProperty("mode")
    public Mode getMode() {
        return mode;
    }

    /**
     * Which task gradients IMTL-G reads, as configured.
     *
     * @return the kind, or null when not set (the network chooses, see {@link #gradients(boolean)})
     */
    @JsonProperty("gradients")
    public SharedGradients getGradients() {
        return gradients;
    }

    /** {@return the updater of the loss scales, or null when it is the network's} */
    @JsonProperty("updater")
    public IUpdater getUpdater() {
        return updater;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Imtl i && mode == i.mode && gradients == i.gradients && Objects.equals(updater, i.updater);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, gradients, updater);
    }

    @Override
    public String toString() {
        return "Imtl(mode=" + mode + (mode == Mode.LOSS ? "" : ", gradients=" + (gradients == null ? "auto" : gradients))
                + (updater == null ? "" : ", updater=" + updater) + ")";
    }

    /** Builds an {@link Imtl}. */
    public static final class Builder {
        private Mode mode = Mode.HYBRID;
        private SharedGradients gradients;
        private IUpdater updater;

        private Builder() {
        }

        /**
         * Which of the paper's methods (default {@link Mode#HYBRID}).
         *
         * @param mode IMTL-L, IMTL-G or both
         * @return this builder
         */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Which task gradients IMTL-G reads (default: not set, {@link SharedGradients#REPRESENTATION} (the paper)
         * where every task reads one representation, else {@link SharedGradients#SHARED_PARAMETERS}).
         *
         * @param gradients any kind but {@link SharedGradients#NONE}
         * @return this builder
         */
        public Builder gradients(SharedGradients gradients) {
            this.gradients = Objects.requireNonNull(gradients, "gradients");
            return this;
        }

        /**
         * The updater of the loss scales (default: the network's updater configuration).
         *
         * @param updater the updater that trains {@code s}
         * @return this builder
         */
        public Builder updater(IUpdater updater) {
            this.updater = Objects.requireNonNull(updater, "updater");
            return this;
        }

        /**
         * Builds the combinator.
         *
         * @return the combinator
         * @throws IllegalArgumentException if the gradients are {@link SharedGradients#NONE}
         */
        public Imtl build() {
            return new Imtl(mode, gradients, updater);
        }
    }
}
