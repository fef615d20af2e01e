package org.mtl4j.spark;

import org.apache.spark.TaskContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.concurrent.atomic.AtomicInteger;

/** A minibatch whose features cannot be read in the first attempt of a Spark task that trains on it. */
final class FailsOnFirstAttempt extends org.nd4j.linalg.dataset.MultiDataSet {

    private static final long serialVersionUID = 1L;

    static final AtomicInteger FAILURES = new AtomicInteger();

    FailsOnFirstAttempt(MultiDataSet batch) {
        super(batch.getFeatures(), batch.getLabels(), batch.getFeaturesMaskArrays(), batch.getLabelsMaskArrays());
    }

    @Override
    public INDArray getFeatures(int index) {
        failOnFirstAttempt();
        return super.getFeatures(index);
    }

    @Override
    public INDArray[] getFeatures() {
        failOnFirstAttempt();
        return super.getFeatures();
    }

    private static void failOnFirstAttempt() {
        TaskContext task = TaskContext.get();
        if (task != null && task.attemptNumber() == 0) {
            FAILURES.incrementAndGet();
            throw new IllegalStateException("injected failure of a training task's first attempt");
        }
    }
}
