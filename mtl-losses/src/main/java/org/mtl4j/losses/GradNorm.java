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
 * GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: Gradient Normalization for Adaptive Loss
 * Balancing in Deep Multitask Networks", ICML 2018, Algorithm 1): learned task weights that balance the
 * tasks' gradient norms according to how fast each task trains.
 *
 * <p>The step minimises {@code sum_t w_t L_t} (heads included) with learned weights {@code w_t}, starting at 1.
 * After each step the weights take one updater step down
 * <pre>
 *   L_grad = sum_t | G_t - Gbar r_t^alpha |,   G_t = w_t ||dL_t/dW||,   Gbar = mean_t G_t,
 *   r_t = Ltilde_t / mean_j Ltilde_j,   Ltilde_t = L_t / L_t(0),
 * </pre>
 * with the target {@code Gbar r_t^alpha} held constant, so {@code dL_grad/dw_t = sign(G_t - target_t) ||dL_t/dW||};
 * then they are renormalised to sum to T.
 *
 * <p>Defaults:
 * <ul>
 *   <li>{@code alpha} 1.5;</li>
 *   <li>W is the last shared layer (the paper's choice: its weights and biases here;
 *       {@link SharedGradients#LAST_SHARED_LAYER}, one extra backward of that layer per task);
 *       where every task reads one representation; where tasks read different ones (a column per task: soft
 *       sharing, cross-stitch, sluice; or a task hierarchy) W is every shared parameter
 *       ({@link SharedGradients#SHARED_PARAMETERS}, {@link #gradients(boolean)}, logged once at build), so
 *       GradNorm works with any sharing strategy. {@link Builder#gradients(SharedGradients)} can choose every
 *       shared parameter (LibMTL) or the shared representation; an explicit
 *       {@link SharedGradients#LAST_SHARED_LAYER} is kept, and refused where tasks read different
 *       representations;</li>
 *   <li>{@code L_t(0)} is each task's loss at the first step where it has a labelled example (the paper's
 *       {@code t = 0}; {@link InitialLoss#FIRST_STEP}), or its mean loss over the first epoch
 *       ({@link InitialLoss#FIRST_EPOCH}, as LibMTL: equal weights and no update during that epoch; a task with
 *       no labelled example in the first epoch takes its loss at its first labelled step after it);</li>
 *   <li>the weights are trained by the network's updater configuration unless one is given.</li>
 * </ul>
 *
 * <p>A task without {@code L_t(0)} yet, or without a labelled example in the step, is left out of the means and
 * its weight takes no updater step (it still follows the renormalisation). The paper leaves open what keeps the
 * weights positive: here they are clipped at 0 before the renormalisation (all 0 resets them to 1). In
 * data-parallel training a worker that saw no labelled example of a task has no {@code L_t(0)} for it, so
 * {@link #mergeStates} averages each {@code L_t(0)} over the workers that recorded one.
 *
 * <p>Departures of the reference code:
 * <ul>
 *   <li>LibMTL parameterises the weights as {@code T softmax(z)} and trains the heads on unweighted gradients;
 *       not offered.</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class GradNorm implements LossCombinator {

    /** Where the initial losses {@code L_t(0)} come from. */
    public enum InitialLoss {
        /** The loss at the first step with a labelled example (the paper). */
        FIRST_STEP,
        /** The mean loss over the first epoch, with equal weights during it (LibMTL). */
        FIRST_EPOCH
    }

    private final double alpha;
    private final SharedGradients gradients;
    private final InitialLoss initialLoss;
    private final IUpdater updater;

    private LearnedScalars weights;
    private double[] initial;
    private double[] epochSum;
    private double[] epochCount;

    /**
     * GradNorm with alpha 1.5 on the last shared layer (every shared parameter where the tasks read different
     * representations), initial losses from the first step.
     */
    public GradNorm() {
        this(1.5, null, InitialLoss.FIRST_STEP, null);
    }

    /**
     * GradNorm with the given alpha, otherwise the defaults.
     *
     * @param alpha the asymmetry, finite and {@code >= 0}: how strongly tasks that train slower get larger
     *              gradients (0 equalises the gradient norms)
     * @throws IllegalArgumentException if {@code alpha} is negative, NaN or infinite
     */
    public GradNorm(double alpha) {
        this(alpha, null, InitialLoss.FIRST_STEP, null);
    }

    @JsonCreator
    private GradNorm(@JsonProperty("alpha") double alpha, @JsonProperty("gradients") SharedGradients gradients,
                     @JsonProperty("initialLoss") InitialLoss initialLoss, @JsonProperty("updater") IUpdater updater) {
        if (!(alpha >= 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("GradNorm: alpha must be finite and >= 0, got " + alpha);
        }
        this.gradients = gradients;
        if (gradients == SharedGradients.NONE) {
            throw new IllegalArgumentException("GradNorm needs task gradients: LAST_SHARED_LAYER (the paper),"
                    + " SHARED_PARAMETERS or REPRESENTATION, not NONE");
        }
        this.alpha = alpha;
        this.initialLoss = Objects.requireNonNull(initialLoss, "initialLoss");
        this.updater = updater;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #GradNorm()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void init(List<Task> tasks) {
        if (updater == null) {
            throw new IllegalStateException("GradNorm without its own updater needs the network's: it is initialised"
                    + " by MultiTaskNetwork, or give one with builder().updater(...)");
        }
        init(tasks, updater);
    }

    @Override
    public void init(List<Task> tasks, IUpdater networkUpdater) {
        int n = tasks.size();
        IUpdater chosen = updater != null ? updater : Objects.requireNonNull(networkUpdater, "network updater");
        weights = new LearnedScalars(n, 1.0, chosen);
        initial = new double[n];
        epochSum = new double[n];
        epochCount = new double[n];
    }

    /**
     * Whose gradient norms are balanced where every task reads one representation: the configured kind, or
     * {@link SharedGradients#LAST_SHARED_LAYER} (the paper) when none was set.
     *
     * @return the kind of per-task gradient
     */
    @Override
    public SharedGradients gradients() {
        return gradients == null ? SharedGradients.LAST_SHARED_LAYER : gradients;
    }

    /**
     * The configured kind, or when none was set {@link SharedGradients#LAST_SHARED_LAYER} (the paper) where every
     * task reads one representation and {@link SharedGradients#SHARED_PARAMETERS} otherwise.
     *
     * @param oneRepresentation whether every task reads the same representation vertex
     * @return the kind of per-task gradient the step computes
     */
    @Override
    public SharedGradients gradients(boolean oneRepresentation) {
        return gradients != null ? gradients
                : oneRepresentation ? SharedGradients.LAST_SHARED_LAYER : SharedGradients.SHARED_PARAMETERS;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        requireInit(losses.size());
        return new TaskWeights(weights.values());
    }

    @Override
    public void update(TaskLosses losses, TaskWeights applied) {
        requireInit(losses.size());
        int n = losses.size();
        int[] labelled = losses.labelled();
        if (initialLoss == InitialLoss.FIRST_EPOCH && losses.epoch() == 0) {
            for (int t = 0; t < n; t++) {
                if (labelled[t] > 0) {
                    epochSum[t] += losses.loss(t);
                    epochCount[t]++;
                }
            }
            return;
        }
        for (int t = 0; t < n; t++) {
            if (initial[t] == 0) {
                double candidate = initialLoss == InitialLoss.FIRST_EPOCH && epochCount[t] > 0
                        ? epochSum[t] / epochCount[t]
                        : (labelled[t] > 0 ? losses.loss(t) : 0);
                initial[t] = candidate > 0 && Double.isFinite(candidate) ? candidate : 0;
            }
        }
        boolean[] active = new boolean[n];
        for (int t = 0; t < n; t++) {
            active[t] = initial[t] > 0 && labelled[t] > 0;
        }
        weights.step(weightGradient(losses), active, losses.iteration(), losses.epoch());
        renormalise();
    }

    /**
     * The gradient of {@code L_grad} w.r.t. each weight at the current weights, with the targets held constant:
     * {@code sign(G_t - Gbar r_t^alpha) ||dL_t/dW||} for the tasks with an initial loss and a labelled example
     * in the step, 0 for the others.
     */
    double[] weightGradient(TaskLosses losses) {
        int n = losses.size();
        double[][] gram = losses.gram();
        int[] labelled = losses.labelled();
        boolean[] active = new boolean[n];
        double[] norm = new double[n];
        double gSum = 0;
        double ratioSum = 0;
        int count = 0;
        for (int t = 0; t < n; t++) {
            active[t] = initial[t] > 0 && labelled[t] > 0;
            norm[t] = Math.sqrt(Math.max(gram[t][t], 0));
            if (active[t]) {
                gSum += weights.get(t) * norm[t];
                ratioSum += losses.loss(t) / initial[t];
                count++;
            }
        }
        double[] g = new double[n];
        if (count == 0 || ratioSum <= 0) {
            return g;
        }
        double gBar = gSum / count;
        double ratioMean = ratioSum / count;
        for (int t = 0; t < n; t++) {
            if (active[t]) {
                double r = losses.loss(t) / initial[t] / ratioMean;
                double target = gBar * Math.pow(r, alpha);
                g[t] = Math.signum(weights.get(t) * norm[t] - target) * norm[t];
            }
        }
        return g;
    }

    /** Clips the weights at 0 and rescales them to sum to T (all 0: back to 1). */
    private void renormalise() {
        int n = weights.size();
        double sum = 0;
        for (int t = 0; t < n; t++) {
            double w = Math.max(weights.get(t), 0);
            weights.set(t, w);
            sum += w;
        }
        for (int t = 0; t < n; t++) {
            weights.set(t, sum > 0 ? weights.get(t) * n / sum : 1.0);
        }
    }

    /**
     * The current task weights, in task order.
     *
     * @return a copy of the weights {@code w_t}, which sum to T
     * @throws IllegalStateException if the combinator has not been initialised by a network
     */
    public double[] weights() {
        requireInit(-1);
        return weights.values();
    }

    /**
     * The initial losses {@code L_t(0)} recorded so far (0 where none yet), in task order.
     *
     * @return a copy of the initial losses
     * @throws IllegalStateException if the combinator has not been initialised by a network
     */
    public double[] initialLosses() {
        requireInit(-1);
        return initial.clone();
    }

    /** The state: the weights and their updater's state, the initial losses, then the first epoch's sums and counts. */
    @Override
    public double[] state() {
        requireInit(-1);
        int n = initial.length;
        double[] w = weights.state();
        double[] out = Arrays.copyOf(w, w.length + 3 * n);
        System.arraycopy(initial, 0, out, w.length, n);
        System.arraycopy(epochSum, 0, out, w.length + n, n);
        System.arraycopy(epochCount, 0, out, w.length + 2 * n, n);
        return out;
    }

    @Override
    public void restoreState(double[] state) {
        requireInit(-1);
        int n = initial.length;
        int expected = weights.stateLength() + 3 * n;
        if (state.length != expected) {
            throw new IllegalArgumentException("GradNorm keeps " + expected + " values (weights, their updater's state,"
                    + " initial losses, first-epoch sums and counts), got " + state.length);
        }
        weights.restore(state, 0);
        int at = weights.stateLength();
        System.arraycopy(state, at, initial, 0, n);
        System.arraycopy(state, at + n, epochSum, 0, n);
        System.arraycopy(state, at + 2 * n, epochCount, 0, n);
    }

    /**
     * The mean of the workers' states, except the initial losses: task t's {@code L_t(0)} is the one
     * {@code start} holds where it holds one, else the mean over the workers that recorded one (0 where none
     * did). A worker that saw no labelled example of a task in its first round has no {@code L_t(0)}; counting
     * its 0 in a mean would pull the recorded value to a fraction of itself, and it is never recorded again.
     *
     * @param start   the state every worker started the round from
     * @param workers the states the workers ended the round with, in worker order
     * @return the merged state
     */
    @Override
    public double[] mergeStates(double[] start, List<double[]> workers) {
        requireInit(-1);
        double[] merged = LossCombinator.meanState(workers);
        int at = weights.stateLength();
        for (int t = 0; t < initial.length; t++) {
            int i = at + t;
            double sum = 0;
            int recorded = 0;
            for (double[] w : workers) {
                if (w[i] != 0) {
                    sum += w[i];
                    recorded++;
                }
            }
            merged[i] = start[i] != 0 ? start[i] : recorded == 0 ? 0 : sum / recorded;
        }
        return merged;
    }

    private void requireInit(int tasks) {
        if (weights == null) {
            throw new IllegalStateException("GradNorm is not initialised: build the network with it");
        }
        if (tasks >= 0 && tasks != weights.size()) {
            throw new IllegalArgumentException("GradNorm was set up for " + weights.size() + " tasks, got " + tasks
                    + " losses");
        }
    }

    /** {@return the asymmetry alpha} */
    @JsonProperty("alpha")
    public double getAlpha() {
        return alpha;
    }

    /**
     * Whose gradient norms are balanced, as configured.
     *
     * @return the kind, or null when not set (the network chooses, see {@link #gradients(boolean)})
     */
    @JsonProperty("gradients")
    public SharedGradients getGradients() {
        return gradients;
    }

    /** {@return where the initial losses come from} */
    @JsonProperty("initialLoss")
    public InitialLoss getInitialLoss() {
        return initialLoss;
    }

    /** {@return the updater of the weights, or null when it is the network's} */
    @JsonProperty("updater")
    public IUpdater getUpdater() {
        return updater;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GradNorm g && Double.compare(alpha, g.alpha) == 0 && gradients == g.gradients
                && initialLoss == g.initialLoss && Objects.equals(updater, g.updater);
    }

    @Override
    public int hashCode() {
        return Objects.hash(alpha, gradients, initialLoss, updater);
    }

    @Override
    public String toString() {
        return "GradNorm(alpha=" + alpha + ", gradients=" + (gradients == null ? "auto" : gradients)
                + ", initialLoss=" + initialLoss
                + (updater == null ? "" : ", updater=" + updater) + ")";
    }

    /** Builds a {@link GradNorm}. */
    public static final class Builder {
        private double alpha = 1.5;
        private SharedGradients gradients;
        private InitialLoss initialLoss = InitialLoss.FIRST_STEP;
        private IUpdater updater;

        private Builder() {
        }

        /**
         * The asymmetry alpha (default 1.5).
         *
         * @param alpha the asymmetry, finite and {@code >= 0}
         * @return this builder
         */
        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Whose gradient norms are balanced (default: not set, {@link SharedGradients#LAST_SHARED_LAYER} (the
         * paper) where every task reads one representation, else {@link SharedGradients#SHARED_PARAMETERS}).
         *
         * @param gradients any kind but {@link SharedGradients#NONE}
         * @return this builder
         */
        public Builder gradients(SharedGradients gradients) {
            this.gradients = Objects.requireNonNull(gradients, "gradients");
            return this;
        }

        /**
         * Where the initial losses come from (default {@link InitialLoss#FIRST_STEP}, the paper).
         *
         * @param initialLoss the first labelled step's loss, or the first epoch's mean loss
         * @return this builder
         */
        public Builder initialLoss(InitialLoss initialLoss) {
            this.initialLoss = Objects.requireNonNull(initialLoss, "initialLoss");
            return this;
        }

        /**
         * The updater of the weights (default: the network's updater configuration).
         *
         * @param updater the updater that trains the weights
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
         * @throws IllegalArgumentException if alpha is negative or not finite, or the gradients are
         *                                  {@link SharedGradients#NONE}
         */
        public GradNorm build() {
            return new GradNorm(alpha, gradients, initialLoss, updater);
        }
    }
}
