package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Dynamic weight average, DWA (Liu, Johns and Davison, "End-to-End Multi-Task Learning with Attention",
 * CVPR 2019, eq. 7): each epoch, a task's weight grows with how slowly its loss fell over the two epochs before.
 *
 * <p>In epoch {@code e} task k gets the weight
 * <pre>
 *   w_k(e) = K exp(r_k(e-1) / T) / sum_i exp(r_i(e-1) / T),     r_k(e-1) = L_k(e-1) / L_k(e-2)
 * </pre>
 * where K is the number of tasks, T the temperature (default 2) and {@code L_k(e)} task k's mean training
 * loss over epoch e. Every weight is 1 in epochs 0 and 1. The weights sum to K, so a task whose loss falls
 * more slowly than the others' gets more than 1.
 *
 * <p>Epochs and averages:
 * <ul>
 *   <li>Epochs are the network's epoch count ({@link TaskLosses#epoch()}), which
 *       {@code MultiTaskNetwork.fit(iterator, epochs)} advances after each epoch; training only with
 *       {@code fit(MultiDataSet)} never leaves epoch 0, so every weight stays 1.</li>
 *   <li>{@code L_k(e)} averages the losses of the steps of epoch e ({@link #update}), counting only steps where
 *       task k had a labelled example.</li>
 *   <li>When a ratio cannot be formed (task k had no labelled example in epoch e-1 or e-2, e.g. an epoch
 *       without steps, or {@code L_k(e-2) = 0}), {@code r_k = 1}.</li>
 *   <li>{@link #combine} also closes the epochs that the epoch count says are over; that depends on the count
 *       alone, so {@code MultiTaskNetwork.gradient} does not change what training does afterwards.</li>
 * </ul>
 *
 * <p>Departures of the reference code, offered as an option: how {@code L_k(e)} averages the steps
 * ({@link Averaging}).
 * <ul>
 *   <li>The paper's "average loss in each epoch over several iterations", as in the authors' code
 *       (github.com/lorenmt/mtan: the sum of the step losses divided by the number of steps), is
 *       {@link Averaging#PER_STEP}, the default.</li>
 *   <li>LibMTL ({@code weighting/DWA.py} reading the trainer's {@code train_loss_buffer}, filled by
 *       {@code AbsLoss._average_loss}) weights each step's loss by the minibatch size, i.e. the mean over
 *       examples: {@link Averaging#PER_EXAMPLE}, which here weights by the task's labelled-example count.</li>
 * </ul>
 * The two agree when every step has the same count.
 *
 * <p>The state, saved with the model so resumed training equals uninterrupted training: the epoch being
 * accumulated, then per task the running loss sum and count of that epoch and the sums and counts of the
 * two epochs before it.
 */
public final class DynamicWeightAverage implements LossCombinator {

    /** How an epoch's mean loss weighs the steps of the epoch. */
    public enum Averaging {
        /** Each step's loss counts once (the paper and the authors' code). */
        PER_STEP,
        /** Each step's loss counts by its labelled-example count, a mean over examples (LibMTL). */
        PER_EXAMPLE
    }

    /** The default temperature T (the paper's). */
    public static final double DEFAULT_TEMPERATURE = 2.0;

    private final double temperature;
    private final Averaging averaging;

    private int tasks = -1;
    private int epochSeen;
    private double[] sum;
    private double[] count;
    private double[] lastSum;
    private double[] lastCount;
    private double[] beforeSum;
    private double[] beforeCount;

    /** Temperature 2, per-step averaging: the paper's defaults. */
    public DynamicWeightAverage() {
        this(DEFAULT_TEMPERATURE, Averaging.PER_STEP);
    }

    /**
     * The given temperature, per-step averaging.
     *
     * @param temperature the softmax temperature T, finite and {@code > 0}; larger T gives more even weights
     * @throws IllegalArgumentException when the temperature is not finite and positive
     */
    public DynamicWeightAverage(double temperature) {
        this(temperature, Averaging.PER_STEP);
    }

    /**
     * The given temperature and averaging.
     *
     * @param temperature the softmax temperature T, finite and {@code > 0}; larger T gives more even weights
     * @param averaging   how an epoch's mean loss weighs its steps
     * @throws IllegalArgumentException when the temperature is not finite and positive
     */
    @JsonCreator
    public DynamicWeightAverage(@JsonProperty("temperature") double temperature,
                                @JsonProperty("averaging") Averaging averaging) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("dynamic weight average: the temperature must be finite and > 0, got "
                    + temperature);
        }
        this.temperature = temperature;
        this.averaging = Objects.requireNonNull(averaging, "averaging");
    }

    @Override
    public void init(List<Task> taskList) {
        tasks = taskList.size();
        epochSeen = -1;
        sum = new double[tasks];
        count = new double[tasks];
        lastSum = new double[tasks];
        lastCount = new double[tasks];
        beforeSum = new double[tasks];
        beforeCount = new double[tasks];
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        requireInit(losses.size());
        rollTo(losses.epoch());
        return new TaskWeights(weights(losses.epoch()));
    }

    @Override
    public void update(TaskLosses losses, TaskWeights applied) {
        requireInit(losses.size());
        rollTo(losses.epoch());
        for (int t = 0; t < tasks; t++) {
            int labelled = losses.labelled()[t];
            if (labelled > 0) {
                double c = averaging == Averaging.PER_STEP ? 1 : labelled;
                sum[t] += c * losses.loss(t);
                count[t] += c;
            }
        }
    }

    /** The weights of epoch {@code epoch}, from the two epochs before it (1 for every task before epoch 2). */
    private double[] weights(int epoch) {
        double[] w = new double[tasks];
        if (epoch < 2) {
            Arrays.fill(w, 1.0);
            return w;
        }
        double[] z = new double[tasks];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < tasks; t++) {
            boolean defined = lastCount[t] > 0 && beforeCount[t] > 0 && beforeSum[t] != 0;
            double ratio = defined ? (lastSum[t] / lastCount[t]) / (beforeSum[t] / beforeCount[t]) : 1.0;
            z[t] = Math.max(-Double.MAX_VALUE, Math.min(ratio / temperature, Double.MAX_VALUE));
            max = Math.max(max, z[t]);
        }
        double total = 0;
        for (int t = 0; t < tasks; t++) {
            w[t] = Math.exp(z[t] - max);
            total += w[t];
        }
        for (int t = 0; t < tasks; t++) {
            w[t] = tasks * w[t] / total;
        }
        return w;
    }

    /**
     * Closes the epochs before {@code epoch}: the running sums become the last epoch's when {@code epoch}
     * follows the accumulated one; an epoch without steps leaves empty sums. The same epoch twice is a no-op.
     */
    private void rollTo(int epoch) {
        if (epochSeen < 0) {
            epochSeen = epoch;
            return;
        }
        if (epoch < epochSeen) {
            throw new IllegalStateException("dynamic weight average: the network's epoch count went back from "
                    + epochSeen + " to " + epoch + "; build a new network (or reload one) to restart training");
        }
        while (epochSeen < epoch) {
            beforeSum = lastSum;
            beforeCount = lastCount;
            lastSum = sum;
            lastCount = count;
            sum = new double[tasks];
            count = new double[tasks];
            epochSeen++;
        }
    }

    /**
     * Each task's mean loss over the last completed epoch (the one before the epoch being accumulated), NaN
     * for a task without a labelled example in it.
     *
     * @return each task's mean loss {@code L_k(e-1)}, in task order
     * @throws IllegalStateException if the combinator has not been initialised by a network
     */
    public double[] lastEpochMeans() {
        requireInit(-1);
        double[] m = new double[tasks];
        for (int t = 0; t < tasks; t++) {
            m[t] = lastCount[t] > 0 ? lastSum[t] / lastCount[t] : Double.NaN;
        }
        return m;
    }

    /** The state: the accumulated epoch (-1 before the first step), then the running and two past sums and counts. */
    @Override
    public double[] state() {
        requireInit(-1);
        double[] s = new double[1 + 6 * tasks];
        s[0] = epochSeen;
        double[][] parts = {sum, count, lastSum, lastCount, beforeSum, beforeCount};
        for (int p = 0; p < parts.length; p++) {
            System.arraycopy(parts[p], 0, s, 1 + p * tasks, tasks);
        }
        return s;
    }

    @Override
    public void restoreState(double[] state) {
        requireInit(-1);
        if (state.length != 1 + 6 * tasks) {
            throw new IllegalArgumentException("dynamic weight average keeps " + (1 + 6 * tasks) + " values (the epoch,"
                    + " then loss sums and counts of 3 epochs for " + tasks + " tasks), got " + state.length);
        }
        if (state[0] != Math.rint(state[0]) || state[0] < -1) {
            throw new IllegalArgumentException("dynamic weight average: the saved epoch must be an integer >= -1, got "
                    + state[0]);
        }
        epochSeen = (int) state[0];
        sum = Arrays.copyOfRange(state, 1, 1 + tasks);
        count = Arrays.copyOfRange(state, 1 + tasks, 1 + 2 * tasks);
        lastSum = Arrays.copyOfRange(state, 1 + 2 * tasks, 1 + 3 * tasks);
        lastCount = Arrays.copyOfRange(state, 1 + 3 * tasks, 1 + 4 * tasks);
        beforeSum = Arrays.copyOfRange(state, 1 + 4 * tasks, 1 + 5 * tasks);
        beforeCount = Arrays.copyOfRange(state, 1 + 5 * tasks, 1 + 6 * tasks);
    }

    private void requireInit(int n) {
        if (tasks < 0) {
            throw new IllegalStateException("dynamic weight average is not initialised: build the network with it");
        }
        if (n >= 0 && n != tasks) {
            throw new IllegalArgumentException("dynamic weight average was set up for " + tasks + " tasks, got " + n
                    + " losses");
        }
    }

    /** {@return the softmax temperature T} */
    @JsonProperty("temperature")
    public double getTemperature() {
        return temperature;
    }

    /** {@return how an epoch's mean loss weighs its steps} */
    @JsonProperty("averaging")
    public Averaging getAveraging() {
        return averaging;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DynamicWeightAverage d && Double.compare(temperature, d.temperature) == 0
                && averaging == d.averaging;
    }

    @Override
    public int hashCode() {
        return Objects.hash(temperature, averaging);
    }

    @Override
    public String toString() {
        return "DynamicWeightAverage(T=" + temperature + ", averaging=" + averaging + ")";
    }
}
