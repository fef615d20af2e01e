package org.mtl4j.core;

import java.util.List;
import java.util.Map;

/**
 * Stops a {@link Trainer} run whose training loss explodes without becoming infinite: after every epoch, each
 * task's training loss is compared with its loss at the run's first step with a labelled example of it, and the
 * run stops when it exceeds that reference by more than the factor ({@link Trainer.Builder#divergenceFactor}).
 * The first step, not the first epoch: a large learning rate can explode the loss within the first epoch.
 */
final class DivergenceGuard {

    private final double factor;

    /**
     * A guard with the given factor.
     *
     * @param factor how many times its first epoch's loss a task's epoch loss may reach; infinite switches off
     */
    DivergenceGuard(double factor) {
        this.factor = factor;
    }

    /** {@return whether the guard checks anything} */
    boolean active() {
        return factor != Double.POSITIVE_INFINITY;
    }

    /**
     * Records, for each task that has none yet, its loss in {@code step} when the step had a labelled example of
     * it with a finite loss above 0: the reference of {@link #check}.
     *
     * @param first the run's references by task name: the loss and the iteration it was recorded at
     * @param step  a step of the run
     */
    void recordFirst(Map<String, double[]> first, StepResult step) {
        if (!active()) {
            return;
        }
        List<String> names = step.taskNames();
        for (int t = 0; t < names.size(); t++) {
            double loss = step.losses().loss(t);
            if (!first.containsKey(names.get(t)) && step.losses().labelled()[t] > 0 && loss > 0 && Double.isFinite(loss)) {
                first.put(names.get(t), new double[]{loss, step.iteration()});
            }
        }
    }

    /**
     * Checks {@code record}, an epoch of the run, against the run's first losses.
     *
     * @param first  the run's references, from {@link #recordFirst}
     * @param record the epoch to check
     * @return the message naming the task, the epoch and both losses, or {@code null} when every task is within
     *         the factor
     */
    String check(Map<String, double[]> first, EpochRecord record) {
        if (!active()) {
            return null;
        }
        for (Map.Entry<String, Double> e : record.trainLoss().entrySet()) {
            double[] reference = first.get(e.getKey());
            double loss = e.getValue();
            if (reference != null && loss > factor * reference[0]) {
                return "task \"" + e.getKey() + "\" diverged: its training loss in epoch " + record.epoch() + " is " + loss
                        + ", more than " + factor + " times its loss at the run's first step with a label for it ("
                        + reference[0] + " at iteration " + (long) reference[1] + "); training stopped. Lower the"
                        + " learning rate, or raise Trainer.Builder.divergenceFactor";
            }
        }
        return null;
    }
}
