package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Base of the configurations of vertices with learned mixing weights: a vertex reading a fixed number of
 * inputs of one type (a mixing unit reads its stage's {@link MixingStageVertex}) and putting out that type,
 * and the vertex's DL4J {@link TrainingConfig}, so the network's updater trains the parameters with the
 * updater given here (no regularisation, no gradient normalisation).
 */
public abstract class TrainableVertex extends GraphVertex implements TrainingConfig {

    /** The updater of the vertex's parameters. */
    private final IUpdater updater;
    /** What the vertex is, for error messages ("cross-stitch unit"). */
    private final String what;
    /** The number of inputs the vertex reads. */
    private final int inputs;
    /** The vertex name given at instantiation (DL4J's updater bookkeeping); null before. */
    private String name;
    /** The network's data type, set by DL4J before instantiation; FLOAT until then. */
    private DataType dataType = DataType.FLOAT;

    /**
     * A vertex that reads one input.
     *
     * @param updater the updater of the vertex's parameters
     * @param what    what the vertex is, for error messages ("cross-stitch unit")
     */
    protected TrainableVertex(IUpdater updater, String what) {
        this(updater, 1, what);
    }

    /**
     * A vertex that reads {@code inputs} inputs of one type.
     *
     * @param updater the updater of the vertex's parameters
     * @param inputs  the number of inputs the vertex reads
     * @param what    what the vertex is, for error messages ("layer stitching")
     */
    protected TrainableVertex(IUpdater updater, int inputs, String what) {
        this.inputs = inputs;
        this.updater = Objects.requireNonNull(updater, "updater of " + what);
        this.what = what;
    }

    @Override
    public int minVertexInputs() {
        return inputs;
    }

    @Override
    public int maxVertexInputs() {
        return inputs;
    }

    /** The inputs' type, which must be the same for all (a mixing stage declares its columns' type). */
    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        if (vertexInputs.length != inputs) {
            throw new InvalidInputTypeException(what + " needs " + inputs + " inputs, got " + vertexInputs.length);
        }
        for (InputType t : vertexInputs) {
            if (!t.equals(vertexInputs[0])) {
                throw new InvalidInputTypeException(what + " inputs differ: " + Arrays.toString(vertexInputs));
            }
        }
        return vertexInputs[0];
    }

    /** {@return the updater of the vertex's parameters} */
    @JsonProperty("updater")
    public IUpdater getUpdater() {
        return updater;
    }

    /**
     * Writes {@code init} into the flat parameter view at instantiation when DL4J asks for initial values.
     *
     * @param paramsView       the vertex's part of the graph's flat parameter vector
     * @param init             the initial values, in the view's order
     * @param initializeParams DL4J's flag: true for a new network, false when parameters are loaded (nothing written)
     */
    protected static void initialise(INDArray paramsView, double[] init, boolean initializeParams) {
        if (initializeParams) {
            for (int i = 0; i < init.length; i++) {
                paramsView.putScalar(i, init[i]);
            }
        }
    }

    /**
     * Fails unless the vertex {@code name} of {@code graph} reads exactly its stage's {@link MixingStageVertex}:
     * models saved before mixing stages existed had their units read the columns directly.
     *
     * @param graph the graph being instantiated
     * @param name  the name of this vertex in {@code graph}
     * @throws IllegalStateException if the vertex reads anything but one mixing stage
     */
    protected void requireStage(ComputationGraph graph, String name) {
        List<String> in = graph.getConfiguration().getVertexInputs().get(name);
        boolean stage = in != null && in.size() == 1
                && graph.getConfiguration().getVertices().get(in.get(0)) instanceof MixingStageVertex;
        if (!stage) {
            throw new IllegalStateException(what + " " + name + " must read one mixing stage, but reads " + in
                    + ": this graph comes from a model saved by an mtl4j without mixing stages (before 2026-11-30);"
                    + " build and train the network again");
        }
    }

    /**
     * Records the vertex name given at instantiation (used in DL4J's updater bookkeeping).
     *
     * @param name the vertex's name in the graph
     */
    protected void named(String name) {
        this.name = name;
    }

    /** {@return the network's data type, set by DL4J before instantiation} */
    @JsonIgnore
    protected DataType dataType() {
        return dataType;
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        InputType out = getOutputType(-1, inputTypes);
        return new LayerMemoryReport.Builder(name, getClass(), inputTypes[0], out)
                .standardMemory(numParams(true), numParams(true)).workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
    }

    @Override
    @JsonIgnore
    public String getLayerName() {
        return name;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return null;
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return updater;
    }

    @Override
    @JsonIgnore
    public GradientNormalization getGradientNormalization() {
        return GradientNormalization.None;
    }

    @Override
    @JsonIgnore
    public double getGradientNormalizationThreshold() {
        return 0;
    }

    @Override
    public void setDataType(DataType dataType) {
        this.dataType = dataType;
    }
}
