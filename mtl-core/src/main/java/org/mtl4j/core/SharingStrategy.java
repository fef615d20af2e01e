package org.mtl4j.core;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * How the tasks share the trunk: builds the encoder part of the network's DL4J graph.
 *
 * <p>A strategy adds its vertices to the graph builder (which already has the network input and its
 * {@code InputType}) and says which vertex holds each task's representation. Hard sharing returns one
 * vertex for every task; multi-column strategies return one per task. Strategies are saved with the
 * model as JSON (DL4J's mapper), so their fields need {@code @JsonProperty} names that match their getters.
 */
public interface SharingStrategy {

    /**
     * Adds the encoder for {@code trunk} reading vertex {@code input}.
     *
     * @param graph the graph being assembled, to which the encoder's layers and vertices are added
     * @param input the name of the vertex the encoder reads (the network's input)
     * @param trunk the shared layers, stage by stage
     * @param tasks the network's tasks, in task order (their trunk stages included)
     * @return for each task, in task order, the name of the vertex whose activations are its representation
     */
    List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks);

    /**
     * Called once when a new network has initialised its parameters (not when a saved one is loaded):
     * the strategy may set the parameters it owns, e.g. start every column from the same values.
     *
     * @param graph the new network's initialised graph
     */
    default void initParameters(ComputationGraph graph) {
    }

    /**
     * The strategy's penalty on the encoder (soft sharing's distance between columns, sluice's subspace
     * orthogonality), which the step adds to its objective. A penalty on activations is the one of the
     * last forward pass.
     *
     * @param graph    the network's graph, whose parameters (or last activations) the penalty reads
     * @param gradient null, or the network's flat gradient view, into which the strategy adds
     *                 {@code scale * dPenalty/dParams} for penalties on parameters (penalties on activations
     *                 add their gradient during the backward pass)
     * @param scale    DL4J's per-example-sum convention: the minibatch size
     * @return the penalty's value
     */
    default double penalty(ComputationGraph graph, INDArray gradient, double scale) {
        return 0;
    }

    /**
     * Whether {@link #penalty} acts on activations, adding its gradient during the backward pass (sluice's
     * orthogonality on activations), rather than on parameters. Such a gradient cannot be told apart from the
     * tasks' own, so combinators reading {@link SharedGradients#SHARED_PARAMETERS} refuse it. False by default.
     *
     * @return whether the penalty acts on activations
     */
    default boolean penalisesActivations() {
        return false;
    }

    /**
     * The strategy's learned mixing weights by name (cross-stitch alphas, sluice alphas and betas), which the
     * training history records after every epoch; empty by default. Names are stable across epochs and say
     * what the number is, e.g. {@code alpha.s0[L<-R]}.
     *
     * @param network the network built with this strategy
     * @return the learned values by name, in a stable order
     */
    default Map<String, Double> learnedValues(MultiTaskNetwork network) {
        return Map.of();
    }
}
