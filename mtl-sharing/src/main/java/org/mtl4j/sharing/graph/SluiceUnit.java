package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The runtime of {@link SluiceVertex}. Forward: output block k is {@code sum_{j,k'} alpha[k, jK+k'] X_j[k']}
 * (blocks along dimension 1). Backward: {@code dL/dX_j[k'] = sum_k alpha[k, jK+k'] eps[k]},
 * {@code dL/dalpha[k, jK+k'] = sum(eps[k] (.) X_j[k'])}, plus the orthogonality penalty's gradient
 * {@code 2 lambda sum_{k' != k} G_{k'} (G_{k'}^T G_k)} on the own column's input (scaled by the minibatch
 * size: DL4J's updater divides by it). Whole-array ND4J ops over K x T K blocks.
 */
public final class SluiceUnit extends TrainableUnit {

    private final SluiceVertex config;
    private final int k;
    private double penalty;
    /** The stacked inputs of the last training forward pass, read again by the backward pass. */
    private INDArray stackedInputs;

    SluiceUnit(ComputationGraph graph, String name, int index, DataType dataType, SluiceVertex config, INDArray params) {
        super(graph, name, index, dataType, config, SluiceVertex.ALPHA, params, config.getSubspaces(),
                (long) config.getColumns() * config.getSubspaces());
        this.config = config;
        this.k = config.getSubspaces();
    }

    /** The orthogonality penalty of the last forward pass (0 when lambda is 0). */
    public double penalty() {
        return penalty;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("sluice unit " + vertexName + ": inputs not set");
        }
        long width = inputs[0].size(1);
        if (width % k != 0) {
            throw new IllegalStateException("sluice unit " + vertexName + ": " + width + " features cannot be split"
                    + " into " + k + " equal subspaces");
        }
        INDArray alpha = param();
        INDArray out;
        try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATIONS)) {
            if (stacked()) {
                INDArray s = training ? StageStack.shared(inputs, k, this::stack) : stack(inputs);
                stackedInputs = training ? s : null;
                out = unstack(alpha.mmul(s), inputs[0]);
            } else {
                out = mixBlocks(alpha);
            }
        }
        if (config.getLambda() > 0) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                penalty = orthogonality(rows(inputs[config.getRow()]), null);
            }
        } else {
            penalty = 0;
        }
        return out;
    }

    /** The block-by-block mixing (any rank). */
    private INDArray mixBlocks(INDArray alpha) {
        INDArray out = inputs[0].ulike().assign(0);
        for (int block = 0; block < k; block++) {
            INDArray target = block(out, block);
            for (int j = 0; j < inputs.length; j++) {
                for (int b = 0; b < k; b++) {
                    target.addi(block(inputs[j], b).mul(alpha.getDouble(block, (long) j * k + b)));
                }
            }
        }
        return out;
    }

    /**
     * Whether the inputs are matrices [B, K d]: then the mixing is one matrix product over the stacked subspaces
     * (strided subspace views make many small ND4J ops slow; measured K = 1: 2.3x against 1.7x the cost of T
     * columns on the bench MLP).
     */
    private boolean stacked() {
        return inputs[0].rank() == 2;
    }

    /**
     * The subspaces of every input as rows of a {@code [T K, B d]} matrix (row {@code j K + b}: input j's
     * subspace b of every example), written in place with one copy per input.
     */
    private INDArray stack(INDArray[] xs) {
        long batch = xs[0].size(0);
        long d = xs[0].size(1) / k;
        INDArray out = Nd4j.createUninitialized(xs[0].dataType(), xs.length, k, batch, d);
        for (int j = 0; j < xs.length; j++) {
            out.get(NDArrayIndex.point(j), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())
                    .assign(xs[j].reshape('c', batch, k, d).permute(1, 0, 2));
        }
        return out.reshape('c', (long) xs.length * k, batch * d);
    }

    /** A [B, K d] matrix as [K, B d]: row b holds subspace b of every example (one copy). */
    private INDArray subspaceRows(INDArray x) {
        long batch = x.size(0);
        long d = x.size(1) / k;
        return x.reshape('c', batch, k, d).permute(1, 0, 2).dup('c').reshape('c', k, batch * d);
    }

    /** The inverse of {@link #subspaceRows}: [K, B d] back to [B, K d], shaped like {@code like} (one copy). */
    private INDArray unstack(INDArray rows, INDArray like) {
        long batch = like.size(0);
        long d = like.size(1) / k;
        return rows.reshape('c', k, batch, d).permute(1, 0, 2).dup('c').reshape('c', batch, k * d);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("sluice unit " + vertexName + ": errors not set");
        }
        INDArray alpha = param();
        if (stacked()) {
            return stackedBackward(alpha, workspaceMgr);
        }
        INDArray[] inputErrors = new INDArray[inputs.length];
        try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATION_GRAD)) {
            for (int j = 0; j < inputs.length; j++) {
                INDArray e = inputs[j].ulike().assign(0);
                for (int b = 0; b < k; b++) {
                    INDArray target = block(e, b);
                    for (int block = 0; block < k; block++) {
                        target.addi(block(epsilon, block).mul(alpha.getDouble(block, (long) j * k + b)));
                    }
                }
                inputErrors[j] = e;
            }
            addOrthogonalityGradient(inputErrors);
        }
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray gradient = paramGradient();
            for (int block = 0; block < k; block++) {
                INDArray e = block(epsilon, block);
                for (int j = 0; j < inputs.length; j++) {
                    for (int b = 0; b < k; b++) {
                        gradient.putScalar(block, (long) j * k + b, e.mul(block(inputs[j], b)).sumNumber().doubleValue());
                    }
                }
            }
        }
        return new Pair<>(gradient(), inputErrors);
    }

    /** Backward of the stacked mixing: {@code dalpha = E S^T}, input errors {@code alpha^T E}. */
    private Pair<Gradient, INDArray[]> stackedBackward(INDArray alpha, LayerWorkspaceMgr workspaceMgr) {
        INDArray[] inputErrors = new INDArray[inputs.length];
        try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATION_GRAD)) {
            INDArray e = subspaceRows(epsilon);
            INDArray stackedErrors = alpha.transpose().mmul(e);
            for (int j = 0; j < inputs.length; j++) {
                INDArray rows = stackedErrors.get(NDArrayIndex.interval((long) j * k, (long) (j + 1) * k),
                        NDArrayIndex.all());
                inputErrors[j] = unstack(rows, inputs[j]);
            }
            addOrthogonalityGradient(inputErrors);
            INDArray s = stackedInputs != null ? stackedInputs : stack(inputs);
            paramGradient().assign(e.mmul(s.transpose()));
        }
        return new Pair<>(gradient(), inputErrors);
    }

    /** Adds the orthogonality penalty's gradient (scaled by the minibatch size) to the own column's error. */
    private void addOrthogonalityGradient(INDArray[] inputErrors) {
        if (config.getLambda() > 0) {
            INDArray own = inputs[config.getRow()];
            INDArray gradRows = Nd4j.zeros(own.dataType(), own.length() / own.size(1), own.size(1));
            orthogonality(rows(own), gradRows);
            inputErrors[config.getRow()].addi(unrows(gradRows, own).muli(own.size(0)));
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

    /** Subspace {@code b} of {@code x}: its features {@code [b d, (b+1) d)} along dimension 1, as a view. */
    private INDArray block(INDArray x, int b) {
        long d = x.size(1) / k;
        INDArrayIndex[] index = new INDArrayIndex[x.rank()];
        for (int i = 0; i < index.length; i++) {
            index[i] = NDArrayIndex.all();
        }
        index[1] = NDArrayIndex.interval(b * d, (b + 1) * d);
        return x.get(index);
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
    public void clear() {
        super.clear();
        stackedInputs = null;
    }

    @Override
    public String toString() {
        return "SluiceUnit(name=\"" + vertexName + "\", row=" + config.getRow() + ")";
    }
}
