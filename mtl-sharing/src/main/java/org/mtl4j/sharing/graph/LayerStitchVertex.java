package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.Objects;

/**
 * Configuration of sluice networks' layer stitching for one task (Ruder et al., AAAI 2019): the vertex reads
 * the S stage outputs of the task's column and outputs {@code sum_s beta_s x_s}, with {@code beta} a learned
 * vector of S weights in the graph's flat parameter vector. One vertex: S scaled sums forward, S scaled
 * copies and S dot products backward.
 */
public final class LayerStitchVertex extends TrainableVertex {

    /** The key of the weights in the vertex's parameter table. */
    public static final String BETA = "beta";

    /** The initial weights, one per stage read. */
    private final double[] init;

    /**
     * Layer stitching over {@code init.length} stage outputs.
     *
     * @param init    the initial weights, one per stage read
     * @param updater the updater of the weights
     */
    @JsonCreator
    public LayerStitchVertex(@JsonProperty("init") double[] init, @JsonProperty("updater") IUpdater updater) {
        super(updater, checked(init).length, "layer stitching");
        this.init = init.clone();
    }

    private static double[] checked(double[] init) {
        if (init == null || init.length < 1) {
            throw new IllegalArgumentException("layer stitching needs at least one initial weight, got "
                    + (init == null ? "none" : "0"));
        }
        return init;
    }

    /** {@return the initial weights, one per stage read} */
    @JsonProperty("init")
    public double[] getInit() {
        return init.clone();
    }

    @Override
    public GraphVertex clone() {
        LayerStitchVertex v = new LayerStitchVertex(init, getUpdater().clone());
        v.setDataType(dataType());
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LayerStitchVertex v && Arrays.equals(init, v.init) && getUpdater().equals(v.getUpdater());
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(init), getUpdater());
    }

    @Override
    public long numParams(boolean backprop) {
        return init.length;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        named(name);
        initialise(paramsView, init, initializeParams);
        return new LayerStitchUnit(graph, name, idx, networkDatatype, this, paramsView);
    }

    @Override
    public String toString() {
        return "LayerStitchVertex(init=" + Arrays.toString(init) + ")";
    }
}
