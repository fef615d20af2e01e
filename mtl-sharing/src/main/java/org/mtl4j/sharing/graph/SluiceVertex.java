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
 * Configuration of one column's sluice unit after a trunk stage (Ruder, Bingel, Augenstein and Sogaard,
 * "Latent Multi-task Architecture Learning", AAAI 2019), reading the stage's {@link MixingStageVertex}.
 * Each of the T columns' stage output is split
 * along the feature (channel) dimension 1 into K equal subspaces {@code G_{j,k'}}; this vertex outputs
 * column {@code row}'s K mixed subspaces {@code G~_{row,k} = sum_{j,k'} alpha_{(row,k),(j,k')} G_{j,k'}},
 * concatenated. Its parameter {@code alpha} is the K x (T K) block of rows {@code (row, .)} of the paper's
 * (T K) x (T K) matrix, column index {@code j K + k'}.
 *
 * <p>With {@code lambda > 0} the unit also carries the paper's subspace orthogonality penalty on its own
 * column's stage output, {@code lambda * sum_{k < k'} ||G_{row,k}^T G_{row,k'}||_F^2}, where the rows of
 * {@code G} are the examples (times the time steps or pixel positions of recurrent or convolutional
 * activations); its gradient is added during the backward pass and its value read with
 * {@link SluiceUnit#penalty()}.
 */
public final class SluiceVertex extends TrainableVertex {

    /** The key of the mixing weights in the vertex's parameter table. */
    public static final String ALPHA = "alpha";

    /** The column this vertex outputs. */
    private final int row;
    /** T, the number of columns mixed. */
    private final int columns;
    /** K, the subspaces per column. */
    private final int subspaces;
    /** The initial {@code alpha} block, K rows of T K values, row-major. */
    private final double[] init;
    /** The orthogonality penalty's weight (0: none). */
    private final double lambda;

    /**
     * One column's sluice unit.
     *
     * @param row       the column this vertex outputs
     * @param columns   T, the number of columns mixed
     * @param subspaces K, the subspaces per column
     * @param init      the initial {@code alpha} block, K rows of T K values, row-major
     * @param lambda    the orthogonality penalty's weight (0: none)
     * @param updater   the updater of {@code alpha}
     * @throws IllegalArgumentException if {@code row} is not a column, {@code subspaces < 1}, {@code init} does not
     *                                  have K T K values, or {@code lambda} is negative or not finite
     */
    @JsonCreator
    public SluiceVertex(@JsonProperty("row") int row, @JsonProperty("columns") int columns,
                        @JsonProperty("subspaces") int subspaces, @JsonProperty("init") double[] init,
                        @JsonProperty("lambda") double lambda, @JsonProperty("updater") IUpdater updater) {
        super(updater, "sluice unit");
        if (columns < 1 || row < 0 || row >= columns) {
            throw new IllegalArgumentException("sluice row " + row + " out of range for " + columns + " columns");
        }
        if (subspaces < 1) {
            throw new IllegalArgumentException("sluice subspaces must be >= 1, got " + subspaces);
        }
        if (init == null || init.length != subspaces * columns * subspaces) {
            throw new IllegalArgumentException("sluice init needs " + subspaces * columns * subspaces + " values, got "
                    + (init == null ? "none" : init.length));
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("sluice orthogonality lambda must be finite and >= 0, got " + lambda);
        }
        this.row = row;
        this.columns = columns;
        this.subspaces = subspaces;
        this.init = init.clone();
        this.lambda = lambda;
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

    /** {@return K, the number of subspaces per column} */
    @JsonProperty("subspaces")
    public int getSubspaces() {
        return subspaces;
    }

    /** {@return the initial mixing block, row-major (a copy)} */
    @JsonProperty("init")
    public double[] getInit() {
        return init.clone();
    }

    /** {@return the orthogonality penalty's weight} */
    @JsonProperty("lambda")
    public double getLambda() {
        return lambda;
    }

    @Override
    public GraphVertex clone() {
        SluiceVertex v = new SluiceVertex(row, columns, subspaces, init, lambda, getUpdater().clone());
        v.setDataType(dataType());
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SluiceVertex v && row == v.row && columns == v.columns && subspaces == v.subspaces
                && Arrays.equals(init, v.init) && Double.compare(lambda, v.lambda) == 0
                && getUpdater().equals(v.getUpdater());
    }

    @Override
    public int hashCode() {
        return Objects.hash(row, columns, subspaces, Arrays.hashCode(init), lambda, getUpdater());
    }

    @Override
    public long numParams(boolean backprop) {
        return (long) subspaces * columns * subspaces;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        named(name);
        requireStage(graph, name);
        initialise(paramsView, init, initializeParams);
        return new SluiceUnit(graph, name, idx, networkDatatype, this, paramsView);
    }

    @Override
    public String toString() {
        return "SluiceVertex(row=" + row + ", columns=" + columns + ", subspaces=" + subspaces + ", lambda=" + lambda
                + ")";
    }
}
