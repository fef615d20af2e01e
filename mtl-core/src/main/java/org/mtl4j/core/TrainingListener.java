package org.mtl4j.core;

/**
 * Receives what training does. Register with {@link MultiTaskNetwork#addListeners} (hears every step and
 * every epoch) or {@link Trainer.Builder#listeners} (hears one trainer's runs, resumed ones included).
 */
public interface TrainingListener {

    /** Called when a multi-epoch run starts, with the number of epochs it will train at most. */
    default void onFitStart(MultiTaskNetwork network, int epochs) {
    }

    /** Called before each epoch of a run, with the epochs completed so far. */
    default void onEpochStart(MultiTaskNetwork network, int epochsCompleted) {
    }

    /** Called after every step's parameter update. */
    default void onStep(MultiTaskNetwork network, StepResult step) {
    }

    /**
     * Called at the end of every epoch of a run, after the epoch count advanced and the validation data (if
     * any) was evaluated, with the epoch's record; {@code record.epoch()} is the new epoch count.
     */
    default void onEpochEnd(MultiTaskNetwork network, EpochRecord record) {
    }

    /** Called when a run ends, after its last epoch or when early stopping ended it. */
    default void onFitEnd(MultiTaskNetwork network, TrainingHistory history) {
    }
}
