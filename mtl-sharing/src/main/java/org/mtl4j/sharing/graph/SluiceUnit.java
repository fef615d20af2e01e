package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The runtime of {@link SluiceVertex}: column {@code row}'s K mixed subspaces, block {@code k} being
 * {@code sum_{j,k'} alpha[k, jK+k'] X_j[k']}, as K rows of its {@link MixingStage}'s matrix product (the stage
 * gives {@code dL/dX_j[k'] = sum_k alpha[k, jK+k'] eps[k]}, the unit {@code dL/dalpha[k, jK+k'] =
 * sum(eps[k] (.) X_j[k'])}). With {@code lambda > 0} the unit adds the orthogonality penalty's gradient
 * {@code 2 lambda sum_{k' != k} G_{k'} (G_{k'}^T G_k)} to its own column's error (scaled by the minibatch
 * size: DL4J's updater divides by it).
 */
public final class SluiceUnit extends MixingUnit {

    /** The unit's configuration. */
    private final SluiceVertex config;
    /** K, the subspaces per column. */
    private final int k;
    /** The orthogonality penalty of the last forward pass. */
    private double penalty;

    SluiceUnit(ComputationGraph graph, String name, int index, DataType dataType, SluiceVertex config, INDArray params) {
        super(graph, name, index, dataType, config, SluiceVertex.ALPHA, params, config.getRow(), config.getSubspaces(),
                config.getSubspaces(), (long) config.getColumns() * config.getSubspaces());
        this.config = config;
        this.k = config.getSubspaces();
    }

    /** {@return the orthogonality penalty of the last forward pass (0 when lambda is 0)} */
    public double penalty() {
        return penalty;
    }

    @Override
    boolean frozen() {
        return false;
    }

    @Override
    INDArray weightBlock() {
        return param();
    }

    /** Computes the orthogonality penalty on the own column's stage output. */
    @Override
    void stageForward(INDArray[] xs) {
        if (config.getLambda() > 0) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                penalty = orthogonality(rows(xs[config.getRow()]), null);
            }
        } else {
            penalty = 0;
        }
    }

    /** Adds the orthogonality penalty's gradient (scaled by the minibatch size) to the own column's error. */
    @Override
    void addInputGradients(INDArray[] xs, INDArray[] columnErrors) {
        if (config.getLambda() > 0) {
            INDArray own = xs[config.getRow()];
            INDArray gradRows = Nd4j.zeros(own.dataType(), own.length() / own.size(1), own.size(1));
            orthogonality(rows(own), gradRows);
            columnErrors[config.getRow()].addi(unrows(gradRows, own).muli(own.size(0)));
        }
    }

    /**
     * The penalty {@code lambda sum_{a<b} ||G_a^T G_b||^2} over the column blocks of {@code g}; when
     * {@code gradient} is not null, its gradient w.r.t. {@code g} is written into it.
     */
    private double orthogonality(INDArray g, INDArray gradient) {
        long d = g.size(1) / k;
        double lambda = config.getLambda();
        double value = 0;
        for (int a = 0; a < k; a++) {
            INDArray ga = g.get(NDArrayIndex.all(), NDArrayIndex.interval(a * d, (a + 1) * d));
            for (int b = a + 1; b < k; b++) {
                INDArray gb = g.get(NDArrayIndex.all(), NDArrayIndex.interval(b * d, (b + 1) * d));
                INDArray cross = ga.transpose().mmul(gb);
                value += lambda * cross.mul(cross).sumNumber().doubleValue();
                if (gradient != null) {
                    gradient.get(NDArrayIndex.all(), NDArrayIndex.interval(a * d, (a + 1) * d))
                            .addi(gb.mmul(cross.transpose()).muli(2 * lambda));
                    gradient.get(NDArrayIndex.all(), NDArrayIndex.interval(b * d, (b + 1) * d))
                            .addi(ga.mmul(cross).muli(2 * lambda));
                }
            }
        }
        return value;
    }

    /** {@code x} as a matrix with one row per example (and time step or pixel) and the features as columns. */
    private static INDArray rows(INDArray x) {
        return switch (x.rank()) {
            case 2 -> x;
            case 3 -> x.permute(0, 2, 1).dup('c').reshape(x.size(0) * x.size(2), x.size(1));
            case 4 -> x.permute(0, 2, 3, 1).dup('c').reshape(x.size(0) * x.size(2) * x.size(3), x.size(1));
            default -> throw new IllegalStateException("sluice orthogonality: unsupported rank " + x.rank());
        };
    }

    /** The inverse of {@link #rows}, shaped like {@code like}. */
    private static INDArray unrows(INDArray r, INDArray like) {
        return switch (like.rank()) {
            case 2 -> r;
            case 3 -> r.reshape('c', like.size(0), like.size(2), like.size(1)).permute(0, 2, 1);
            case 4 -> r.reshape('c', like.size(0), like.size(2), like.size(3), like.size(1)).permute(0, 3, 1, 2);
            default -> throw new IllegalStateException("sluice orthogonality: unsupported rank " + like.rank());
        };
    }

    @Override
    public String toString() {
        return "SluiceUnit(name=\"" + vertexName + "\", row=" + config.getRow() + ")";
    }
}
