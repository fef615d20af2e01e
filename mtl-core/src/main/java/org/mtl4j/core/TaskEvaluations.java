package org.mtl4j.core;

import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-task DL4J evaluations, by task name in task order: {@link Evaluation} for classification,
 * {@link EvaluationBinary} for multi-label and {@link RegressionEvaluation} for regression tasks.
 */
public final class TaskEvaluations {

    private final Map<String, IEvaluation<?>> byTask;
    private final Map<String, Double> lossSums;
    private final Map<String, Long> labelled;

    /**
     * Wraps the given evaluations (copied, order kept), without losses.
     *
     * @param byTask each evaluated task's DL4J evaluation, by task name in task order
     */
    public TaskEvaluations(Map<String, IEvaluation<?>> byTask) {
        this(byTask, Map.of(), Map.of());
    }

    /**
     * Wraps the given evaluations and, per task, the sum of its loss over its labelled examples and their number
     * (copied, order kept); evaluations of several parts of the data merge by adding both.
     *
     * @param byTask   each evaluated task's DL4J evaluation, by task name in task order
     * @param lossSums per task, its loss summed over its labelled examples (a subset of the evaluated tasks)
     * @param labelled per task, the number of its labelled examples (the same tasks as {@code lossSums})
     * @throws IllegalArgumentException when a loss is given for a task without an evaluation, or a loss sum
     *                                  without its labelled count
     */
    public TaskEvaluations(Map<String, IEvaluation<?>> byTask, Map<String, Double> lossSums, Map<String, Long> labelled) {
        this.byTask = Collections.unmodifiableMap(new LinkedHashMap<>(byTask));
        for (String task : lossSums.keySet()) {
            if (!byTask.containsKey(task)) {
                throw new IllegalArgumentException("a loss for task \"" + task + "\", which has no evaluation; evaluated tasks are "
                        + byTask.keySet());
            }
        }
        if (!lossSums.keySet().equals(labelled.keySet())) {
            throw new IllegalArgumentException("loss sums for " + lossSums.keySet() + " but labelled counts for "
                    + labelled.keySet());
        }
        this.lossSums = Collections.unmodifiableMap(new LinkedHashMap<>(lossSums));
        this.labelled = Collections.unmodifiableMap(new LinkedHashMap<>(labelled));
    }

    /** {@return the evaluated task names, in task order} */
    public List<String> taskNames() {
        return List.copyOf(byTask.keySet());
    }

    /** {@return all evaluations by task name (unmodifiable, in task order)} */
    public Map<String, IEvaluation<?>> asMap() {
        return byTask;
    }

    /**
     * The evaluation of a task.
     *
     * @param task the task's name
     * @return its DL4J evaluation
     * @throws IllegalArgumentException when the task was not evaluated
     */
    public IEvaluation<?> get(String task) {
        IEvaluation<?> e = byTask.get(task);
        if (e == null) {
            throw new IllegalArgumentException("no evaluation for task \"" + task + "\"; evaluated tasks are "
                    + byTask.keySet());
        }
        return e;
    }

    /**
     * The task's mean loss over the labelled examples of the evaluated data (NaN when none was labelled).
     *
     * @param task the task's name
     * @return the loss sum divided by the labelled count, or NaN
     * @throws IllegalArgumentException when the task was not evaluated or its loss was not computed
     */
    public double loss(String task) {
        long n = labelled(task);
        return n == 0 ? Double.NaN : lossSums.get(task) / n;
    }

    /**
     * The task's loss summed over the labelled examples of the evaluated data.
     *
     * @param task the task's name
     * @return the sum of the per-example losses
     * @throws IllegalArgumentException when the task was not evaluated or its loss was not computed
     */
    public double lossSum(String task) {
        labelled(task);
        return lossSums.get(task);
    }

    /**
     * How many examples of the evaluated data carry a label for the task.
     *
     * @param task the task's name
     * @return the labelled-example count (0 when none was labelled)
     * @throws IllegalArgumentException when the task was not evaluated or its loss was not computed
     */
    public long labelled(String task) {
        get(task);
        Long n = labelled.get(task);
        if (n == null) {
            throw new IllegalArgumentException("no loss for task \"" + task + "\": these evaluations were made without losses");
        }
        return n;
    }

    /**
     * One metric of a task, e.g. {@code metric("segment", TaskMetric.ACCURACY)}.
     *
     * @param task   the task's name
     * @param metric the metric to read; {@link TaskMetric#LOSS} is the task's mean loss
     * @return the metric's value on the evaluated data
     * @throws IllegalArgumentException when the task was not evaluated or its kind has no such metric
     */
    public double metric(String task, TaskMetric metric) {
        return metric == TaskMetric.LOSS ? loss(task) : metric.read(task, get(task));
    }

    /**
     * The evaluation of a classification task.
     *
     * @param task the task's name
     * @return its {@link Evaluation}
     * @throws IllegalArgumentException when the task was not evaluated or was evaluated with another type
     */
    public Evaluation classification(String task) {
        return as(task, Evaluation.class);
    }

    /**
     * The evaluation of a multi-label task.
     *
     * @param task the task's name
     * @return its {@link EvaluationBinary}
     * @throws IllegalArgumentException when the task was not evaluated or was evaluated with another type
     */
    public EvaluationBinary multiLabel(String task) {
        return as(task, EvaluationBinary.class);
    }

    /**
     * The evaluation of a regression task.
     *
     * @param task the task's name
     * @return its {@link RegressionEvaluation}
     * @throws IllegalArgumentException when the task was not evaluated or was evaluated with another type
     */
    public RegressionEvaluation regression(String task) {
        return as(task, RegressionEvaluation.class);
    }

    private <E> E as(String task, Class<E> type) {
        IEvaluation<?> e = get(task);
        if (!type.isInstance(e)) {
            throw new IllegalArgumentException("task \"" + task + "\" was evaluated with " + e.getClass().getSimpleName()
                    + ", not " + type.getSimpleName());
        }
        return type.cast(e);
    }

    /**
     * One line per task: accuracy and macro F1 for classification, mean accuracy for multi-label, and
     * average MSE, MAE and R^2 over the targets for regression; then the task's loss when it was computed.
     *
     * @return the summary, one newline-terminated line per evaluated task
     */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, IEvaluation<?>> e : byTask.entrySet()) {
            sb.append(e.getKey()).append(": ");
            IEvaluation<?> ev = e.getValue();
            if (ev instanceof Evaluation c) {
                sb.append(String.format("accuracy=%.4f f1=%.4f", c.accuracy(), c.f1()));
            } else if (ev instanceof EvaluationBinary b) {
                sb.append(String.format("mean accuracy=%.4f", b.averageAccuracy()));
            } else if (ev instanceof RegressionEvaluation r) {
                sb.append(String.format("mse=%.4f mae=%.4f r2=%.4f", r.averageMeanSquaredError(),
                        r.averageMeanAbsoluteError(), r.averageRSquared()));
            } else {
                sb.append(ev.stats());
            }
            if (labelled.containsKey(e.getKey())) {
                sb.append(String.format(" loss=%.4f", loss(e.getKey())));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return summary();
    }
}
