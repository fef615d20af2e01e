package org.mtl4j.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * When a {@link Trainer} stops before its last epoch: after {@code patience} epochs in a row without an
 * improvement of a validation score, keeping the network of the best epoch. Immutable; the score is one of
 * <ul>
 *   <li>{@link #on(String, TaskMetric)}: one task's validation metric (accuracy rises, loss falls);</li>
 *   <li>{@link #meanRelativeImprovement()}: the mean over the main tasks of each headline metric's relative
 *       improvement over its value after the first validated epoch,
 *       {@code (1/T) sum_t s_t (m_t - m_t^0) / |m_t^0|} with {@code s_t = +1} where higher is better and
 *       {@code -1} where lower is (the multi-task measure of Maninis et al. 2019 with the first epoch as the
 *       reference; a reference of 0 divides by 1). Headline metrics: accuracy for classification and
 *       multi-label tasks, RMSE for regression ({@link TaskMetric#headline}).</li>
 * </ul>
 * An epoch improves when its score beats the best so far by more than {@code minDelta} (in the metric's
 * own units, or as a fraction for the mean relative improvement). Defaults: patience 5, minDelta 0.
 */
public final class EarlyStopping {

    private final String task;
    private final TaskMetric metric;
    private final int patience;
    private final double minDelta;

    private EarlyStopping(String task, TaskMetric metric, int patience, double minDelta) {
        if (patience < 1) {
            throw new IllegalArgumentException("patience must be >= 1 epoch, got " + patience);
        }
        if (!(minDelta >= 0)) {
            throw new IllegalArgumentException("minDelta must be >= 0, got " + minDelta);
        }
        this.task = task;
        this.metric = metric;
        this.patience = patience;
        this.minDelta = minDelta;
    }

    /**
     * Stops on one task's validation metric, e.g. {@code EarlyStopping.on("segment", TaskMetric.ACCURACY)}.
     *
     * @param task   the name of the task whose validation metric is watched
     * @param metric the metric, which rises (accuracy) or falls (loss) as it improves
     * @return early stopping with patience 5 and minDelta 0
     */
    public static EarlyStopping on(String task, TaskMetric metric) {
        return new EarlyStopping(Objects.requireNonNull(task, "task"), Objects.requireNonNull(metric, "metric"), 5, 0);
    }

    /**
     * Stops on the mean relative improvement of the main tasks' headline metrics (see the class comment).
     *
     * @return early stopping with patience 5 and minDelta 0
     */
    public static EarlyStopping meanRelativeImprovement() {
        return new EarlyStopping(null, null, 5, 0);
    }

    /**
     * A copy that stops after {@code epochs} epochs in a row without improvement.
     *
     * @param epochs the patience, at least 1
     * @return a copy with this patience
     * @throws IllegalArgumentException if {@code epochs < 1}
     */
    public EarlyStopping patience(int epochs) {
        return new EarlyStopping(task, metric, epochs, minDelta);
    }

    /**
     * A copy that counts an epoch as an improvement only when it beats the best by more than {@code delta}.
     *
     * @param delta the smallest improvement, at least 0: in the metric's own units, or a fraction for the mean
     *              relative improvement
     * @return a copy with this minDelta
     * @throws IllegalArgumentException if {@code delta} is negative or NaN
     */
    public EarlyStopping minDelta(double delta) {
        return new EarlyStopping(task, metric, patience, delta);
    }

    /** {@return the patience in epochs} */
    public int patience() {
        return patience;
    }

    /** {@return the smallest change that counts as an improvement} */
    public double minDelta() {
        return minDelta;
    }

    /**
     * Checks that the watched task and metric exist in {@code network}.
     *
     * @throws IllegalArgumentException naming the task or metric that does not fit
     */
    void check(MultiTaskNetwork network) {
        if (task == null) {
            if (network.tasks().stream().noneMatch(t -> t.role() == TaskRole.MAIN)) {
                throw new IllegalArgumentException("early stopping on the mean relative improvement needs a main task, but "
                        + "every task is auxiliary");
            }
            return;
        }
        Task t = network.task(task);
        if (t.role() != TaskRole.MAIN) {
            throw new IllegalArgumentException("early stopping on task \"" + task + "\", which is auxiliary and is not "
                    + "validated; watch a main task");
        }
        if (!TaskMetric.of(t.kind()).contains(metric)) {
            throw new IllegalArgumentException("early stopping on " + metric.key() + " of task \"" + task + "\", a "
                    + t.kind() + " task, whose metrics are " + TaskMetric.of(t.kind()));
        }
    }

    /**
     * The epoch's score, larger is better: the watched metric (negated where lower is better), or the mean
     * relative improvement over {@code reference}, which the first call fills.
     */
    double score(EpochRecord record, List<Task> tasks, Map<String, Double> reference) {
        if (task != null) {
            double v = record.valid(task, metric);
            return metric.higherIsBetter() ? v : -v;
        }
        Map<String, Double> headline = new LinkedHashMap<>();
        for (Task t : tasks) {
            if (t.role() == TaskRole.MAIN) {
                headline.put(t.name(), record.valid(t.name(), TaskMetric.headline(t.kind())));
            }
        }
        if (reference.isEmpty()) {
            reference.putAll(headline);
        }
        double sum = 0;
        for (Task t : tasks) {
            if (t.role() != TaskRole.MAIN) {
                continue;
            }
            double ref = reference.get(t.name());
            double change = (headline.get(t.name()) - ref) / (ref == 0 ? 1 : Math.abs(ref));
            sum += TaskMetric.headline(t.kind()).higherIsBetter() ? change : -change;
        }
        return sum / headline.size();
    }

    /** Whether {@code score} improves on {@code best} (NaN best: nothing seen yet). */
    boolean improves(double score, double best) {
        return Double.isNaN(best) || score > best + minDelta;
    }

    @Override
    public String toString() {
        return (task == null ? "mean relative improvement of the main tasks" : metric.key() + " of task \"" + task + "\"")
                + ", patience " + patience + (minDelta > 0 ? ", minDelta " + minDelta : "");
    }
}
