package org.mtl4j.core;

/** What a task predicts, which decides the metrics it is evaluated with. */
public enum TaskKind {
    /** One class out of n (softmax output); evaluated with DL4J's {@code Evaluation}. */
    CLASSIFICATION,
    /** Several independent binary labels (sigmoid outputs); evaluated with DL4J's {@code EvaluationBinary}. */
    MULTI_LABEL,
    /** Real-valued targets; evaluated with DL4J's {@code RegressionEvaluation}. */
    REGRESSION
}
