package org.mtl4j.core;

/** Receives what each training step and epoch did. Register with {@link MultiTaskNetwork#addListeners}. */
public interface TrainingListener {

    /** Called after every step's parameter update. */
    default void onStep(MultiTaskNetwork network, StepResult step) {
    }

    /** Called at the end of every epoch of {@link MultiTaskNetwork#fit(org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator, int)}, after the epoch count advanced. */
    default void onEpochEnd(MultiTaskNetwork network, int epochsCompleted) {
    }
}
