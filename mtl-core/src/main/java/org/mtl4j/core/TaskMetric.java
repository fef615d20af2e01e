package org.mtl4j.core;

import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;

import java.util.List;

/**
 * A number that says how well a task does on held-out data, read from its {@link TaskEvaluations}: what
 * the training history records per task and what {@link EarlyStopping} watches.
 */
public enum TaskMetric {
    /** The task's own loss, the mean over its labelled examples (lower is better). */
    LOSS("loss", false),
    /** Classification: the fraction of correct arg-max predictions; multi-label: the mean per-label accuracy. */
    ACCURACY("accuracy", true),
    /** Classification: DL4J's F1 ({@link Evaluation#f1()}, macro-averaged over classes for more than two). */
    F1("f1", true),
    /** Regression: the mean squared error, averaged over the targets. */
    MSE("mse", false),
    /** Regression: the square root of {@link #MSE}'s per-target values, averaged over the targets. */
    RMSE("rmse", false),
    /** Regression: the mean absolute error, averaged over the targets. */
    MAE("mae", false),
    /** Regression: the coefficient of determination, averaged over the targets. */
    R2("r2", true);

    private final String key;
    private final boolean higherIsBetter;

    TaskMetric(String key, boolean higherIsBetter) {
        this.key = key;
        this.higherIsBetter = higherIsBetter;
    }

    /** {@return the short lower-case name used in the history's columns ({@code valid_accuracy[task]})} */
    public String key() {
        return key;
    }

    /** {@return whether a larger value is an improvement} */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /**
     * The metrics that apply to tasks of {@code kind}, the kind's headline metric first, {@link #LOSS} last.
     *
     * @param kind what the task predicts
     * @return the metrics a task of that kind is validated on
     */
    public static List<TaskMetric> of(TaskKind kind) {
        return switch (kind) {
            case CLASSIFICATION -> List.of(ACCURACY, F1, LOSS);
            case MULTI_LABEL -> List.of(ACCURACY, LOSS);
            case REGRESSION -> List.of(RMSE, MSE, MAE, R2, LOSS);
        };
    }

    /**
     * The headline metric of a kind of task: accuracy for classification and multi-label, RMSE for regression.
     *
     * @param kind what the task predicts
     * @return the first of {@link #of(TaskKind)}
     */
    public static TaskMetric headline(TaskKind kind) {
        return of(kind).get(0);
    }

    /** Reads this metric from a DL4J evaluation; {@link #LOSS} is not one of its numbers. */
    double read(String task, IEvaluation<?> evaluation) {
        if (evaluation instanceof Evaluation c) {
            switch (this) {
                case ACCURACY: return c.accuracy();
                case F1: return c.f1();
                default: break;
            }
        } else if (evaluation instanceof EvaluationBinary b) {
            if (this == ACCURACY) {
                return b.averageAccuracy();
            }
        } else if (evaluation instanceof RegressionEvaluation r) {
            switch (this) {
                case MSE: return r.averageMeanSquaredError();
                case RMSE: return r.averagerootMeanSquaredError();
                case MAE: return r.averageMeanAbsoluteError();
                case R2: return r.averageRSquared();
                default: break;
            }
        }
        throw new IllegalArgumentException("task \"" + task + "\" was evaluated with "
                + evaluation.getClass().getSimpleName() + ", which has no " + key + "; its metrics are "
                + metricsOf(evaluation));
    }

    private static List<TaskMetric> metricsOf(IEvaluation<?> evaluation) {
        if (evaluation instanceof Evaluation) {
            return of(TaskKind.CLASSIFICATION);
        }
        if (evaluation instanceof EvaluationBinary) {
            return of(TaskKind.MULTI_LABEL);
        }
        if (evaluation instanceof RegressionEvaluation) {
            return of(TaskKind.REGRESSION);
        }
        return List.of(LOSS);
    }
}
