package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;


/**
 * The runtime of {@link CrossStitchVertex}: forward {@code y = sum_j alpha_j (.) x_j}, backward
 * {@code dL/dx_j = alpha_j (.) eps} and {@code dL/dalpha_j = sum(eps (.) x_j)} (summed over every
 * dimension but the channel one when per channel). Whole-array ND4J ops only.
 */
final class CrossStitchUnit extends TrainableUnit {

    private final CrossStitchVertex config;
    private final INDArray alpha;
    private final boolean perChannel;

    CrossStitchUnit(ComputationGraph graph, String name, int index, DataType dataType, CrossStitchVertex config,
                    INDArray params) {
        super(graph, name, index, dataType, config, CrossStitchVertex.ALPHA, params, config.getColumns(),
                config.getChannels());
        this.config = config;
        this.alpha = param();
        this.perChannel = config.getChannels() > 1;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("cross-stitch unit " + vertexName + ": inputs not set");
        }
        try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATIONS)) {
            INDArray out = scaled(inputs[0], 0);
            for (int j = 1; j < inputs.length; j++) {
                if (perChannel || !sameLayout(inputs[j], out)) {
                    out.addi(scaled(inputs[j], j));
                } else {
                    // out += alpha_j x_j in one op, no temporary (ND4J's small-op overhead dominates here)
                    Nd4j.exec(new Axpy(inputs[j], out, out, alpha.getDouble(j, 0)));
                }
            }
            return out;
        }
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("cross-stitch unit " + vertexName + ": errors not set");
        }
        INDArray[] inputErrors = new INDArray[inputs.length];
        try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATION_GRAD)) {
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = scaled(epsilon, j);
            }
        }
        if (config.isFrozen()) {
            paramGradient().assign(0);
        } else {
            accumulateAlphaGradient();
        }
        return new Pair<>(gradient(), inputErrors);
    }

    private void accumulateAlphaGradient() {
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            for (int j = 0; j < inputs.length; j++) {
                INDArray row = paramGradient().getRow(j);
                if (perChannel) {
                    INDArray product = epsilon.mul(inputs[j]);
                    row.assign(product.sum(dimensionsButChannel(product.rank())).reshape(row.shape()));
                } else if (sameLayout(epsilon, inputs[j])) {
                    // sum(eps (.) x_j) is a dot product over the flat buffers: one BLAS call, no temporary
                    paramGradient().putScalar(j, 0, Nd4j.getBlasWrapper().dot(epsilon, inputs[j]));
                } else {
                    paramGradient().putScalar(j, 0, epsilon.mul(inputs[j]).sumNumber().doubleValue());
                }
            }
        }
    }

    /** {@code alpha_j (.) x}, a new array. */
    private INDArray scaled(INDArray x, int j) {
        if (!perChannel) {
            return x.mul(alpha.getDouble(j, 0));
        }
        INDArray row = alpha.getRow(j);
        if (x.rank() == 2) {
            return x.mulRowVector(row);
        }
        INDArray out = x.ulike();
        Nd4j.getExecutioner().exec(new BroadcastMulOp(x, row.reshape(row.length()), out, 1));
        return out;
    }

    /** Whether two arrays are dense in memory with the same shape, order and floating-point type. */
    private static boolean sameLayout(INDArray a, INDArray b) {
        return a.dataType() == b.dataType() && a.dataType().isFPType() && a.ordering() == b.ordering()
                && java.util.Arrays.equals(a.shape(), b.shape()) && a.elementWiseStride() == 1
                && b.elementWiseStride() == 1 && a.length() == b.length();
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
