package org.mtl4j.core;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;

import java.util.List;

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
     * @return for each task, in task order, the name of the vertex whose activations are its representation
     */
    List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks);
}
