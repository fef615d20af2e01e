package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The runtime of {@link CrossStitchVertex}: column {@code row}'s output {@code y = sum_j alpha_j (.) x_j} of its
 * {@link MixingStage}. Scalar weights are one row of the stage's matrix product; per-channel weights mix with
 * broadcast products here: {@code dL/dx_j += alpha_j (.) eps}, {@code dL/dalpha_j = sum(eps (.) x_j)} summed
 * over every dimension but the channel one.
 */
final class CrossStitchUnit extends MixingUnit implements PerChannelMixing {

    private final CrossStitchVertex config;
    private final boolean perChannel;
    private final INDArray weightRow;

    CrossStitchUnit(ComputationGraph graph, String name, int index, DataType dataType, CrossStitchVertex config,
                    INDArray params) {
        super(graph, name, index, dataType, config, CrossStitchVertex.ALPHA, params, config.getRow(), 1,
                config.getColumns(), config.getChannels());
        this.config = config;
        this.perChannel = config.getChannels() > 1;
        this.weightRow = perChannel ? null : param().reshape('c', 1, config.getColumns());
    }

    @Override
    boolean perChannel() {
        return perChannel;
    }

    @Override
    boolean frozen() {
        return config.isFrozen();
    }

    @Override
    INDArray weightBlock() {
        return weightRow;
    }

    @Override
    public void mixPerChannel(INDArray[] xs, INDArray out) {
        out.assign(0);
        for (int j = 0; j < xs.length; j++) {
            out.addi(scaled(xs[j], j));
        }
    }

    @Override
    public void unmixPerChannel(INDArray error, INDArray[] columnErrors) {
        for (int j = 0; j < columnErrors.length; j++) {
            columnErrors[j].addi(scaled(error, j));
        }
    }

    @Override
    public void perChannelGradient(INDArray error, INDArray[] xs) {
        for (int j = 0; j < xs.length; j++) {
            INDArray row = paramGradient().getRow(j);
            INDArray product = error.mul(xs[j]);
            row.assign(product.sum(dimensionsButChannel(product.rank())).reshape(row.shape()));
        }
    }

    /** {@code alpha_j (.) x} broadcast over the channel dimension 1, a new array. */
    private INDArray scaled(INDArray x, int j) {
        INDArray row = param().getRow(j);
        INDArray out = x.ulike();
        Nd4j.getExecutioner().exec(new BroadcastMulOp(x, row.reshape(row.length()), out, 1));
        return out;
    }

    private static int[] dimensionsButChannel(int rank) {
        int[] dims = new int[rank - 1];
        dims[0] = 0;
        for (int d = 2; d < rank; d++) {
            dims[d - 1] = d;
        }
        return dims;
    }

    @Override
    public String toString() {
        return "CrossStitchUnit(name=\"" + vertexName + "\", row=" + config.getRow() + ")";
    }
}
