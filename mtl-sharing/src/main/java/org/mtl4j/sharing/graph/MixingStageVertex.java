package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;

/**
 * Configuration of the vertex that gathers one trunk stage's outputs of all columns for the stage's mixing
 * units ({@link CrossStitchVertex}, {@link SluiceVertex}), which read it as their only input. The stage does
 * the mixing of all units at once: it stacks the T column outputs into one matrix, multiplies it by the
 * units' weights in one matrix product, and in the backward pass returns each column's error from one
 * product with the units' errors, so a stage costs a few whole-array operations per column and no more
 * (DL4J would otherwise add up the T errors each of the T units sends to every column: T^2 arrays).
 *
 * <p>It has no parameters; the units hold the mixing weights. Its DL4J output is a token, not an activation:
 * the units take their outputs from the stage directly. Its declared type is the columns' type.
 */
public final class MixingStageVertex extends GraphVertex {

    /** T, the number of column outputs the stage gathers. */
    private final int columns;

    /**
     * A stage gathering {@code columns} column outputs.
     *
     * @param columns T, the number of column outputs the stage gathers, at least 1
     * @throws IllegalArgumentException if {@code columns < 1}
     */
    @JsonCreator
    public MixingStageVertex(@JsonProperty("columns") int columns) {
        if (columns < 1) {
            throw new IllegalArgumentException("a mixing stage needs at least 1 column, got " + columns);
        }
        this.columns = columns;
    }

    /** {@return T, the number of column outputs gathered} */
    @JsonProperty("columns")
    public int getColumns() {
        return columns;
    }

    @Override
    public GraphVertex clone() {
        return new MixingStageVertex(columns);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MixingStageVertex v && v.columns == columns;
    }

    @Override
    public int hashCode() {
        return Integer.hashCode(columns) * 31 + 7;
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public int minVertexInputs() {
        return columns;
    }

    @Override
    public int maxVertexInputs() {
        return columns;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new MixingStage(graph, name, idx, networkDatatype);
    }

    /** The columns' type, which must be the same for all. */
    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        if (vertexInputs.length != columns) {
            throw new InvalidInputTypeException("mixing stage needs " + columns + " inputs, got " + vertexInputs.length);
        }
        for (InputType t : vertexInputs) {
            if (!t.equals(vertexInputs[0])) {
                throw new InvalidInputTypeException("mixing stage inputs differ: " + Arrays.toString(vertexInputs));
            }
        }
        return vertexInputs[0];
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        InputType out = getOutputType(-1, inputTypes);
        return new LayerMemoryReport.Builder(null, getClass(), inputTypes[0], out).standardMemory(0, 0)
                .workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
    }

    @Override
    public String toString() {
        return "MixingStageVertex(columns=" + columns + ")";
    }
}
