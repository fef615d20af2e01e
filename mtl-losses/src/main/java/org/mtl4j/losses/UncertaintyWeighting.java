package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskKind;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Uncertainty weighting (Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses
 * for Scene Geometry and Semantics", CVPR 2018): each task t learns its homoscedastic noise through
 * {@code s_t = log sigma_t^2}, which sets its weight.
 *
 * <p>The step minimises
 * <pre>
 *   regression tasks:       0.5 * exp(-s_t) * L_t + 0.5 * s_t      (eq. 7: L / (2 sigma^2) + log sigma)
 *   classification tasks:         exp(-s_t) * L_t + 0.5 * s_t      (eq. 10: L / sigma^2 + log sigma)
 * </pre>
 * so task t's weight is {@code 0.5 exp(-s_t)} or {@code exp(-s_t)} (multi-label tasks count as
 * classification). The {@code 0.5 s_t} terms do not depend on the network, so they are not part of the step's
 * reported total; {@code s_t} gets their gradient: {@code d/ds_t = -w_t L_t + 0.5}. With the optimum
 * {@code exp(s_t) = c L_t}, a regression task with MSE loss learns {@code sigma_t^2} close to its residual
 * variance.
 *
 * <p>Defaults and training of {@code s}:
 * <ul>
 *   <li>{@code s_t} starts at {@code initialLogVariance}, default 0, i.e. sigma^2 = 1;</li>
 *   <li>it is updated after every training step from that step's losses (a task with no labelled example in the
 *       step is left alone), by the network's updater configuration unless one is given
 *       ({@link Builder#updater});</li>
 *   <li>{@code s} and the updater's state are the combinator's saved state.</li>
 * </ul>
 *
 * <p>Departures of the reference code, offered as an option:
 * <ul>
 *   <li>{@link Form#REGRESSION_FOR_ALL} uses the regression form for every task, as LibMTL's implementation
 *       does.</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class UncertaintyWeighting implements LossCombinator {

    /** Which objective each task gets. */
    public enum Form {
        /** The paper's: regression form for regression tasks, classification form for the others. */
        PAPER,
        /** The regression form for every task (LibMTL's implementation). */
        REGRESSION_FOR_ALL
    }

    private final double initialLogVariance;
    private final Form form;
    private final IUpdater updater;

    private double[] factor;
    private LearnedScalars logVariance;

    /** Paper form, s starting at 0, trained by the network's updater. */
    public UncertaintyWeighting() {
        this(0.0, Form.PAPER, null);
    }

    @JsonCreator
    private UncertaintyWeighting(@JsonProperty("initialLogVariance") double initialLogVariance,
                                 @JsonProperty("form") Form form, @JsonProperty("updater") IUpdater updater) {
        if (!Double.isFinite(initialLogVariance)) {
            throw new IllegalArgumentException("uncertainty weighting: the initial log variance must be finite, got "
                    + initialLogVariance);
        }
        this.initialLogVariance = initialLogVariance;
        this.form = Objects.requireNonNull(form, "form");
        this.updater = updater;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #UncertaintyWeighting()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void init(List<Task> tasks) {
        if (updater == null) {
            throw new IllegalStateException("uncertainty weighting without its own updater needs the network's:"
                    + " it is initialised by MultiTaskNetwork, or give one with builder().updater(...)");
        }
        init(tasks, updater);
    }

    @Override
    public void init(List<Task> tasks, IUpdater networkUpdater) {
        IUpdater chosen = updater != null ? updater : Objects.requireNonNull(networkUpdater, "network updater");
        int n = tasks.size();
        factor = new double[n];
        for (int t = 0; t < n; t++) {
            boolean regression = form == Form.REGRESSION_FOR_ALL || tasks.get(t).kind() == TaskKind.REGRESSION;
            factor[t] = regression ? 0.5 : 1.0;
        }
        logVariance = new LearnedScalars(n, initialLogVariance, chosen);
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        requireInit(losses.size());
        double[] w = new double[factor.length];
        for (int t = 0; t < w.length; t++) {
            w[t] = factor[t] * Math.exp(-logVariance.get(t));
        }
        return new TaskWeights(w);
    }

    @Override
    public void update(TaskLosses losses, TaskWeights applied) {
        requireInit(losses.size());
        logVariance.step(logVarianceGradient(losses), LearnedScalars.labelled(losses), losses.iteration(), losses.epoch());
    }

    /**
     * The gradient of {@code sum_t (w_t(s_t) L_t + 0.5 s_t)} w.r.t. each {@code s_t} at the current s:
     * {@code -w_t L_t + 0.5}, or 0 for a task with no labelled example in the step.
     */
    double[] logVarianceGradient(TaskLosses losses) {
        double[] g = new double[factor.length];
        for (int t = 0; t < g.length; t++) {
            if (losses.labelled()[t] > 0) {
                g[t] = -factor[t] * Math.exp(-logVariance.get(t)) * losses.loss(t) + 0.5;
            }
        }
        return g;
    }

    /** The objective {@code sum_t (w_t(s_t) L_t + 0.5 s_t)} at log variances {@code s}, for gradient checks. */
    double objective(double[] s, TaskLosses losses) {
        double sum = 0;
        for (int t = 0; t < s.length; t++) {
            if (losses.labelled()[t] > 0) {
                sum += factor[t] * Math.exp(-s[t]) * losses.loss(t) + 0.5 * s[t];
            }
        }
        return sum;
    }

    /**
     * The learned {@code s_t = log sigma_t^2}, in task order.
     *
     * @return a copy of each task's {@code s_t}
     * @throws IllegalStateException if the combinator has not been initialised by a network
     */
    public double[] logVariances() {
        requireInit(-1);
        return logVariance.values();
    }

    /**
     * The learned {@code sigma_t^2}, in task order.
     *
     * @return each task's {@code exp(s_t)}
     * @throws IllegalStateException if the combinator has not been initialised by a network
     */
    public double[] variances() {
        double[] s = logVariances();
        for (int t = 0; t < s.length; t++) {
            s[t] = Math.exp(s[t]);
        }
        return s;
    }

    /** Each task's learned {@code sigma_t = exp(s_t / 2)}, as {@code sigma[<task>]}. */
    @Override
    public Map<String, Double> learnedValues(List<String> taskNames) {
        double[] variances = variances();
        Map<String, Double> values = new LinkedHashMap<>();
        for (int t = 0; t < variances.length; t++) {
            values.put("sigma[" + taskNames.get(t) + "]", Math.sqrt(variances[t]));
        }
        return values;
    }

    /** The state: the log variances, then the updater's state. */
    @Override
    public double[] state() {
        requireInit(-1);
        return logVariance.state();
    }

    @Override
    public void restoreState(double[] state) {
        requireInit(-1);
        if (state.length != logVariance.stateLength()) {
            throw new IllegalArgumentException("uncertainty weighting keeps " + logVariance.stateLength() + " values ("
                    + logVariance.size() + " log variances and the updater's state), got " + state.length);
        }
        logVariance.restore(state, 0);
    }

    private void requireInit(int tasks) {
        if (factor == null) {
            throw new IllegalStateException("uncertainty weighting is not initialised: build the network with it");
        }
        if (tasks >= 0 && tasks != factor.length) {
            throw new IllegalArgumentException("uncertainty weighting was set up for " + factor.length + " tasks, got "
                    + tasks + " losses");
        }
    }

    /** {@return the initial {@code s_t}} */
    @JsonProperty("initialLogVariance")
    public double getInitialLogVariance() {
        return initialLogVariance;
    }

    /** {@return the objective form} */
    @JsonProperty("form")
    public Form getForm() {
        return form;
    }

    /** {@return the updater of s, or null when it is the network's} */
    @JsonProperty("updater")
    public IUpdater getUpdater() {
        return updater;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UncertaintyWeighting u && Double.compare(initialLogVariance, u.initialLogVariance) == 0
                && form == u.form && Objects.equals(updater, u.updater);
    }

    @Override
    public int hashCode() {
        return Objects.hash(initialLogVariance, form, updater);
    }

    @Override
    public String toString() {
        return "UncertaintyWeighting(form=" + form + ", s0=" + initialLogVariance
                + (updater == null ? "" : ", updater=" + updater) + ")";
    }

    /** Builds an {@link UncertaintyWeighting}. */
    public static final class Builder {
        private double initialLogVariance;
        private Form form = Form.PAPER;
        private IUpdater updater;

        private Builder() {
        }

        /**
         * The initial {@code s_t = log sigma_t^2} of every task (default 0).
         *
         * @param s0 the initial log variance, finite (0 starts every task at {@code sigma^2 = 1})
         * @return this builder
         */
        public Builder initialLogVariance(double s0) {
            this.initialLogVariance = s0;
            return this;
        }

        /**
         * The objective form (default {@link Form#PAPER}).
         *
         * @param form the paper's per-kind forms, or the regression form for every task
         * @return this builder
         */
        public Builder form(Form form) {
            this.form = Objects.requireNonNull(form, "form");
            return this;
        }

        /**
         * The updater of s (default: the network's updater configuration).
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
         * @throws IllegalArgumentException if the initial log variance is not finite
         */
        public UncertaintyWeighting build() {
            return new UncertaintyWeighting(initialLogVariance, form, updater);
        }
    }
}
