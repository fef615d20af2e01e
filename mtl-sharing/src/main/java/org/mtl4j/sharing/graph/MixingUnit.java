package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Base of the runtime of a mixing unit: one output of a {@link MixingStage}, whose weights are K rows of the
 * stage's mixing matrix ({@code [K, T K]}). Forward: the unit's columns of the stage's product. Backward: the
 * unit hands its error to the stage; its weights' gradient {@code dL/dA[r, c] = <E_u[r], X[c]>} is computed by the
 * stage for all its units in one product when it has several ({@link MixingStage#computesWeightGradients}), else
 * by the unit (dot products of contiguous stacked columns), so that a backward pass through a sole unit (a
 * last-shared-layer gradient) is complete.
 */
abstract class MixingUnit extends TrainableUnit {

    private final int row;
    private final int subspaces;
    private MixingStage stage;
    private int position = -1;
    /** This unit's error for the stage's token, kept outside workspaces and set again on every backward pass. */
    private INDArray tokenError;

    MixingUnit(ComputationGraph graph, String name, int index, DataType dataType, TrainableVertex config,
               String paramKey, INDArray params, int row, int subspaces, long... paramShape) {
        super(graph, name, index, dataType, config, paramKey, params, paramShape);
        this.row = row;
        this.subspaces = subspaces;
    }

    /** The column whose output this unit produces (its order among the stage's units). */
    final int row() {
        return row;
    }

    /** K, the stacked rows per column. */
    final int subspaces() {
        return subspaces;
    }

    /**
     * Whether the weights are per channel, mixed with broadcast products instead of the stage's matrix product
     * (then the unit is a {@link PerChannelMixing}).
     */
    boolean perChannel() {
        return false;
    }

    /** Whether the weights keep their initial values (zero gradient). */
    abstract boolean frozen();

    /** The weights as a {@code [K, T K]} block (not used when per channel). */
    abstract INDArray weightBlock();

    /**
     * Called by the stage in its forward pass with the column outputs, which are only valid then (default:
     * nothing).
     */
    void stageForward(INDArray[] xs) {
    }

    /** Adds gradients of the unit's own penalties on the stage's inputs to the columns' errors (default none). */
    void addInputGradients(INDArray[] xs, INDArray[] columnErrors) {
    }

    /** The stage this unit reads. */
    final MixingStage stage() {
        if (stage == null) {
            if (getInputVertices() == null || getInputVertices().length != 1
                    || !(graph.getVertices()[getInputVertices()[0].getVertexIndex()] instanceof MixingStage s)) {
                throw new IllegalStateException("mixing unit " + vertexName + " must read one mixing stage");
            }
            stage = s;
        }
        return stage;
    }

    /** This unit's position among its stage's units. */
    private int position() {
        if (position < 0) {
            position = stage().position(this);
        }
        return position;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("mixing unit " + vertexName + ": inputs not set");
        }
        return stage().output(position(), training, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("mixing unit " + vertexName + ": errors not set");
        }
        MixingStage s = stage();
        int p = position();
        s.deliver(p, epsilon);
        if (frozen()) {
            paramGradient().assign(0);
        } else if (perChannel()) {
            INDArray[] xs = new INDArray[s.columnCount()];
            for (int j = 0; j < xs.length; j++) {
                xs[j] = s.input(j);
            }
            ((PerChannelMixing) this).perChannelGradient(s.shapedError(p), xs);
        } else if (!s.computesWeightGradients()) {
            // dL/dA[r, c] = <E_p[r], X[c]>, written by linear index into the 'c'-ordered [K, T K] gradient
            INDArray gradient = paramGradient();
            int width = s.columnCount() * subspaces;
            for (int r = 0; r < subspaces; r++) {
                for (int c = 0; c < width; c++) {
                    gradient.putScalar((long) r * width + c, s.dot(p, r, c));
                }
            }
        }
        // one-hot at this unit's position; DL4J may add the other units' into it (then it is the stage's error)
        if (tokenError == null || tokenError.dataType() != epsilon.dataType()) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                tokenError = Nd4j.create(epsilon.dataType(), 1, input().size(1));
            }
        }
        for (int i = 0; i < tokenError.length(); i++) {
            tokenError.putScalar(0, i, i == p ? 1.0 : 0.0);
        }
        return new Pair<>(gradient(), new INDArray[]{tokenError});
    }

    /**
     * Sets this unit's weight gradient from the stage's product {@code G = X^T E} ({@code [T K, U K]}): row
     * {@code r}, column {@code c} of the {@code [K, T K]} gradient is {@code G[c, first + r]}.
     */
    final void weightGradientFrom(INDArray products, int first) {
        INDArray gradient = paramGradient();
        long width = products.size(0);
        for (int r = 0; r < subspaces; r++) {
            for (long c = 0; c < width; c++) {
                gradient.putScalar(r * width + c, products.getDouble(c, first + r));
            }
        }
    }

    /** The stage's token this unit read. */
    private INDArray input() {
        return inputs[0];
    }
}
