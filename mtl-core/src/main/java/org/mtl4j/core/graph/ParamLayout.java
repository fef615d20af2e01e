package org.mtl4j.core.graph;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Where each parameter of a DL4J graph sits in its flat parameter (and gradient) vector. DL4J lays the
 * flat vector out in topological order while {@code paramTable()} iterates vertices by index, so offsets
 * must come from the parameter views themselves, not from walking the table.
 */
public final class ParamLayout {

    private ParamLayout() {
    }

    /**
     * The offset of parameter {@code key} (e.g. {@code "trunk_0_0_W"}) in the graph's flat parameter vector.
     *
     * @param graph an initialised graph
     * @param key   the parameter's key in {@code graph.paramTable()}: vertex name, {@code _}, parameter name
     * @return the offset, in elements, from the start of the flat vector
     * @throws IllegalArgumentException if the graph has no such parameter
     */
    public static long offset(ComputationGraph graph, String key) {
        INDArray view = graph.paramTable().get(key);
        if (view == null) {
            throw new IllegalArgumentException("the graph has no parameter \"" + key + "\"; it has "
                    + graph.paramTable().keySet());
        }
        return view.offset() - graph.params().offset();
    }

    /**
     * The part of a flat vector laid out like the graph's parameters (the parameters themselves, the
     * gradient view, the updater-free gradient of a check) that belongs to parameter {@code key}, shaped
     * like the parameter (DL4J's 'f' order for weight matrices), as a view.
     *
     * @param graph an initialised graph
     * @param flat  a vector with the length and layout of the graph's flat parameter vector
     * @param key   the parameter's key in {@code graph.paramTable()}
     * @return a view of {@code flat}, shaped like the parameter
     * @throws IllegalArgumentException if the graph has no such parameter
     */
    public static INDArray slice(ComputationGraph graph, INDArray flat, String key) {
        INDArray param = graph.paramTable().get(key);
        long offset = offset(graph, key);
        INDArray vector = flat.reshape(flat.length()).get(NDArrayIndex.interval(offset, offset + param.length()));
        return vector.reshape(param.ordering(), param.shape());
    }
}
