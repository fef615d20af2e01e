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

    /** Wraps the given evaluations (copied, order kept), without losses. */
    public TaskEvaluations(Map<String, IEvaluation<?>> byTask) {
        this(byTask, Map.of(), Map.of());
    }

    /**
     * Wraps the given evaluations and, per task, the sum of its loss over its labelled examples and their number
     * (copied, order kept); evaluations of several parts of the data merge by adding both.
     *
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

    /** The evaluated task names, in task order. */
    public List<String> taskNames() {
        return List.copyOf(byTask.keySet());
    }

    /** All evaluations by task name. */
    public Map<String, IEvaluation<?>> asMap() {
        return byTask;
    }

    /** The evaluation of a task. */
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
     * @throws IllegalArgumentException when the task was not evaluated or its loss was not computed
     */
    public double loss(String task) {
        long n = labelled(task);
        return n == 0 ? Double.NaN : lossSums.get(task) / n;
    }

    /**
     * The task's loss summed over the labelled examples of the evaluated data.
     *
     * @throws IllegalArgumentException when the task was not evaluated or its loss was not computed
     */
    public double lossSum(String task) {
        labelled(task);
        return lossSums.get(task);
    }

    /**
     * How many examples of the evaluated data carry a label for the task.
     *
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
     * @throws IllegalArgumentException when the task was not evaluated or its kind has no such metric
     */
    public double metric(String task, TaskMetric metric) {
        return metric == TaskMetric.LOSS ? loss(task) : metric.read(task, get(task));
    }

    /** The evaluation of a classification task. */
    public Evaluation classification(String task) {
        return as(task, Evaluation.class);
    }

    /** The evaluation of a multi-label task. */
    public EvaluationBinary multiLabel(String task) {
        return as(task, EvaluationBinary.class);
    }

    /** The evaluation of a regression task. */
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
