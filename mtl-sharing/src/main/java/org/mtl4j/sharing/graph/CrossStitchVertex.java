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
 * Configuration of one row of a cross-stitch unit (Misra et al., CVPR 2016): the vertex reads the
 * {@link MixingStageVertex} that gathers the stage outputs {@code x_1..x_T} of all T columns and outputs
 * column {@code row}'s mixed activation {@code x~_row = sum_j alpha_{row,j} x_j}. With {@code channels > 1} each {@code alpha_{row,j}} is a vector
 * over the channel (feature) dimension 1. The T vertices of a stage together hold the T x T (x C) matrix.
 *
 * <p>The parameter {@code alpha} has shape {@code [T, C]} (C = 1 when not per channel) and lives in the
 * graph's flat parameter vector; it is trained by the updater given here.
 */
public final class CrossStitchVertex extends TrainableVertex {

    /** The key of the mixing weights in the vertex's parameter table. */
    public static final String ALPHA = "alpha";

    /** The column this vertex outputs. */
    private final int row;
    /** T, the number of columns mixed. */
    private final int columns;
    /** C, the number of weights per column pair (1: one scalar per pair). */
    private final long channels;
    /** The initial row {@code alpha_{row,.}}, length T (broadcast over channels). */
    private final double[] init;
    /** Whether {@code alpha} keeps its initial value. */
    private final boolean frozen;

    /**
     * One row of a stage's cross-stitch unit.
     *
     * @param row      the column this vertex outputs
     * @param columns  T, the number of columns mixed
     * @param channels C, the number of weights per column pair (1: one scalar per pair)
     * @param init     the initial row {@code alpha_{row,.}}, length T (broadcast over channels)
     * @param frozen   whether {@code alpha} keeps its initial value (its gradient is always zero)
     * @param updater  the updater of {@code alpha}
     * @throws IllegalArgumentException if {@code row} is not a column, {@code channels < 1}, or {@code init} does
     *                                  not have T values
     */
    @JsonCreator
    public CrossStitchVertex(@JsonProperty("row") int row, @JsonProperty("columns") int columns,
                             @JsonProperty("channels") long channels, @JsonProperty("init") double[] init,
                             @JsonProperty("frozen") boolean frozen, @JsonProperty("updater") IUpdater updater) {
        super(updater, "cross-stitch unit");
        if (columns < 1 || row < 0 || row >= columns) {
            throw new IllegalArgumentException("cross-stitch row " + row + " out of range for " + columns + " columns");
        }
        if (channels < 1) {
            throw new IllegalArgumentException("cross-stitch channels must be >= 1, got " + channels);
        }
        if (init == null || init.length != columns) {
            throw new IllegalArgumentException("cross-stitch init needs " + columns + " values, got "
                    + (init == null ? "none" : init.length));
        }
        this.row = row;
        this.columns = columns;
        this.channels = channels;
        this.init = init.clone();
        this.frozen = frozen;
    }

    /** {@return the column this vertex outputs} */
    @JsonProperty("row")
    public int getRow() {
        return row;
    }

    /** {@return T, the number of columns mixed} */
    @JsonProperty("columns")
    public int getColumns() {
        return columns;
    }

    /** {@return C, the number of weights per column pair} */
    @JsonProperty("channels")
    public long getChannels() {
        return channels;
    }

    /** {@return the initial mixing row (a copy)} */
    @JsonProperty("init")
    public double[] getInit() {
        return init.clone();
    }

    /** {@return whether the mixing weights are frozen at their initial value} */
    @JsonProperty("frozen")
    public boolean isFrozen() {
        return frozen;
    }

    @Override
    public GraphVertex clone() {
        CrossStitchVertex c = new CrossStitchVertex(row, columns, channels, init, frozen, getUpdater().clone());
        c.setDataType(dataType());
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CrossStitchVertex v && row == v.row && columns == v.columns && channels == v.channels
                && Arrays.equals(init, v.init) && frozen == v.frozen && getUpdater().equals(v.getUpdater());
    }

    @Override
    public int hashCode() {
        return Objects.hash(row, columns, channels, Arrays.hashCode(init), frozen, getUpdater());
    }

    @Override
    public long numParams(boolean backprop) {
        return columns * channels;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        named(name);
        requireStage(graph, name);
        INDArray alpha = paramsView.reshape('c', columns, channels);
        if (initializeParams) {
            for (int j = 0; j < columns; j++) {
                alpha.getRow(j).assign(init[j]);
            }
        }
        return new CrossStitchUnit(graph, name, idx, networkDatatype, this, paramsView);
    }

    @Override
    public String toString() {
        return "CrossStitchVertex(row=" + row + ", columns=" + columns + ", channels=" + channels + ", init="
                + Arrays.toString(init) + (frozen ? ", frozen" : "") + ")";
    }
}
