package org.mtl4j.core;

/**
 * Receives what training does. Register with {@link MultiTaskNetwork#addListeners} (hears every step and
 * every epoch) or {@link Trainer.Builder#listeners} (hears one trainer's runs, resumed ones included).
 */
public interface TrainingListener {

    /**
     * Called when a multi-epoch run starts, with the number of epochs it will train at most.
     *
     * @param network the network being trained
     * @param epochs  the number of epochs the run will train at most
     */
    default void onFitStart(MultiTaskNetwork network, int epochs) {
    }

    /**
     * Called before each epoch of a run, with the epochs completed so far.
     *
     * @param network         the network being trained
     * @param epochsCompleted the network's epoch count before this epoch
     */
    default void onEpochStart(MultiTaskNetwork network, int epochsCompleted) {
    }

    /**
     * Called after every step's parameter update.
     *
     * @param network the network being trained
     * @param step    what the step did: its losses, weights, penalty and minibatch size
     */
    default void onStep(MultiTaskNetwork network, StepResult step) {
    }

    /**
     * Called at the end of every epoch of a run, after the epoch count advanced and the validation data (if
     * any) was evaluated, with the epoch's record; {@code record.epoch()} is the new epoch count.
     *
     * @param network the network being trained
     * @param record  the epoch's record, as the run's history keeps it
     */
    default void onEpochEnd(MultiTaskNetwork network, EpochRecord record) {
    }

    /**
     * Called when a run ends, after its last epoch or when early stopping ended it.
     *
     * @param network the trained network (after the last epoch, not early stopping's best)
     * @param history the run's per-epoch records
     */
    default void onFitEnd(MultiTaskNetwork network, TrainingHistory history) {
    }
}
