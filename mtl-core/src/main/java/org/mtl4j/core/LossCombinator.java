package org.mtl4j.core;

import org.nd4j.linalg.learning.config.IUpdater;

import java.util.List;
import java.util.Map;

/**
 * How the per-task losses are combined into the one objective a step minimises. Given the step's
 * {@link TaskLosses}, a combinator returns the {@link TaskWeights} it applies; the step then
 * back-propagates {@code sum_t w_t * L_t}. A gradient-level combinator ({@link #gradients()}) also reads
 * each task's gradient on the shared part of the network and returns the coefficients of their
 * combination, with separate weights for the task-specific heads.
 *
 * <p>A combinator may carry state between steps (a loss history, initial losses). That state is plain
 * data: {@link #state()} exports it and {@link #restoreState(double[])} brings it back, so it is saved
 * with the model and training resumes exactly. Combinators are saved as JSON (DL4J's mapper): their
 * configuration fields need {@code @JsonProperty} names that match their getters.
 */
public interface LossCombinator {

    /**
     * Checks that this combinator fits the network's tasks and resets its state; called once when the
     * network is built or loaded.
     *
     * @param tasks the network's tasks, in task order
     * @throws IllegalArgumentException when the configuration does not fit the tasks (a weight for an
     *                                  unknown task, the wrong number of weights)
     */
    default void init(List<Task> tasks) {
    }

    /**
     * The network calls this form of init (once, when it is built or loaded), with the configuration of
     * its own updater, for combinators whose learnable parameters the network's updater trains by default.
     * By default it calls {@link #init(List)}.
     *
     * @param tasks          the network's tasks, in task order
     * @param networkUpdater the network's updater configuration, for the combinator's own learnable parameters
     */
    default void init(List<Task> tasks, IUpdater networkUpdater) {
        init(tasks);
    }

    /**
     * The weights for this step.
     *
     * @param losses the step's per-task losses, with the task gradients asked for by {@link #gradients()}
     * @return the weights to apply, one per task in task order
     */
    TaskWeights combine(TaskLosses losses);

    /**
     * Which per-task gradients {@link #combine} reads ({@link TaskLosses#gradient(int)},
     * {@link TaskLosses#gram()}); {@link SharedGradients#NONE} by default. When it asks for some, the step
     * back-propagates each task's error through its head alone (one head backward per task), computes each
     * task's gradient of the requested kind, hands them to {@link #combine}, then scales each head's
     * parameter gradient by {@link TaskWeights#headWeight(int)} and trains the encoder on
     * {@code sum_t w_t g_t}. Otherwise the step runs one backward pass of the whole graph with the weighted
     * errors, which is cheaper. See {@link SharedGradients} for what each kind costs and needs.
     *
     * @return the kind of per-task gradient the step computes for {@link #combine}
     */
    default SharedGradients gradients() {
        return SharedGradients.NONE;
    }

    /**
     * Which per-task gradients {@link #combine} reads on a given network: the network asks this once, when it is
     * built or loaded, and computes that kind on every step. A combinator whose own default kind needs one
     * representation read by every task ({@link SharedGradients#REPRESENTATION},
     * {@link SharedGradients#LAST_SHARED_LAYER}) returns a kind that every network can serve (usually
     * {@link SharedGradients#SHARED_PARAMETERS}) when {@code oneRepresentation} is false, unless the user chose a
     * kind explicitly. By default {@link #gradients()}.
     *
     * @param oneRepresentation whether every task reads the same representation vertex (false with a column per
     *                          task, as soft sharing, cross-stitch and sluice build, or with a task hierarchy)
     * @return the kind of per-task gradient the step computes for {@link #combine}
     */
    default SharedGradients gradients(boolean oneRepresentation) {
        return gradients();
    }

    /**
     * Called once after every training step's parameter update (not by {@code MultiTaskNetwork.gradient}),
     * with the losses and the weights of the step: a combinator updates its learnable parameters or its
     * history here.
     *
     * @param losses  the step's per-task losses (without gradients)
     * @param applied the weights {@link #combine} returned for the step
     */
    default void update(TaskLosses losses, TaskWeights applied) {
    }

    /**
     * The combinator's state between steps, as plain numbers (empty when it has none).
     *
     * @return the state, saved with the model
     */
    default double[] state() {
        return new double[0];
    }

    /**
     * Restores the state exported by {@link #state()}, after {@link #init(List)}.
     *
     * @param state numbers exported by {@link #state()} of a combinator with the same configuration
     * @throws IllegalArgumentException when {@code state} does not fit this combinator (by default, when it is
     *                                  not empty)
     */
    default void restoreState(double[] state) {
        if (state.length != 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " keeps no state, but " + state.length
                    + " values were given");
        }
    }

    /**
     * Merges the states that several workers ended a data-parallel round with into the one state training
     * goes on from (mtl-spark calls it after every averaging round). Every worker started the round from
     * {@code start}, restored with {@link #restoreState(double[])}, and trained its own minibatches.
     *
     * <p>By default the element-wise mean of the workers' states ({@link #meanState(List)}): right for learned
     * scalars and their optimiser moments, for a sum and a count whose ratio is used (the ratio of the means is
     * the mean over all the workers' minibatches), and for counters that are equal on every worker. A
     * combinator whose state holds anything else (a value recorded once, where 0 means "not yet") overrides it.
     * The merge must not depend on anything but its arguments, so that a re-run gives the same state.
     *
     * @param start   the state every worker started the round from (this combinator's {@link #state()} then)
     * @param workers the states the workers ended the round with, in worker order; at least one
     * @return the merged state, of {@link #state()}'s length
     */
    default double[] mergeStates(double[] start, List<double[]> workers) {
        return meanState(workers);
    }

    /**
     * The element-wise mean of states of one length, summed in list order.
     *
     * @param states at least one state, all of one length
     * @return a new array with the mean of each element
     * @throws IllegalArgumentException when the list is empty or the lengths differ, naming them
     */
    static double[] meanState(List<double[]> states) {
        if (states.isEmpty()) {
            throw new IllegalArgumentException("no worker state to merge");
        }
        double[] mean = new double[states.get(0).length];
        for (int w = 0; w < states.size(); w++) {
            double[] s = states.get(w);
            if (s.length != mean.length) {
                throw new IllegalArgumentException("worker " + w + "'s state has " + s.length + " values, but worker 0's has "
                        + mean.length);
            }
            for (int i = 0; i < mean.length; i++) {
                mean[i] += s[i];
            }
        }
        for (int i = 0; i < mean.length; i++) {
            mean[i] /= states.size();
        }
        return mean;
    }

    /**
     * The combinator's learned or tracked numbers other than the task weights (uncertainty weighting's
     * sigmas), by name, which the training history records after every epoch; empty by default. Names are
     * stable across epochs and name the task they belong to, e.g. {@code sigma[depth]}.
     *
     * @param taskNames the network's task names, in task order
     * @return the learned values by name, in a stable order
     */
    default Map<String, Double> learnedValues(List<String> taskNames) {
        return Map.of();
    }
}
