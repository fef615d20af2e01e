package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The runtime of {@link MixingStageVertex}. With the stage's units' weights as one matrix {@code A}
 * ({@code [U K, T K]}: K rows per unit, one column per subspace of each column; K = 1 for cross-stitch) and
 * the column outputs stacked as the columns of {@code X} ({@code [M, T K]}, see {@link StackLayout}):
 * forward {@code Y = X A^T}, unit u's output being its K columns of {@code Y}; each unit copies its error
 * into its columns of {@code E} ({@code [M, U K]}) and computes its own weights' gradient
 * ({@code E_u^T X}, dot products); the stage's backward returns the column errors {@code E A}. Per-channel
 * cross-stitch weights mix with broadcast products instead of the matrix products.
 *
 * <p>For training the stacked matrices live outside workspaces and are reused from step to step (made again
 * when the minibatch shape changes), with their views made once: a training step makes no view and (per-channel
 * weights aside) allocates nothing here. A mixing unit's training output is a view of {@code Y} (or an array of the
 * stage's), valid until the next training forward pass. An inference pass stacks in its own activation
 * workspace and leaves the training matrices as they are; its unit outputs are copies.
 *
 * <p>The token the stage puts out is {@code [1, U]}; each unit's error for it is one-hot at the unit's
 * position, so the sum the stage receives says which units took part in this backward pass (a per-task pass
 * may reach only some); the others' errors count as zero.
 */
final class MixingStage extends BaseGraphVertex {

    /** The most scalar weights a stage mixes directly, with axpy operations, instead of one matrix product. */
    static final int DIRECT_MAX = 4;

    private MixingUnit[] units;
    private int subspaces;
    private boolean perChannel;

    /** The stacked matrices of the last forward pass: the training ones, or an inference pass's own. */
    private Buffers pass;
    /** The training matrices and views, kept from step to step while the minibatch shape stays. */
    private Buffers trainingBuffers;
    /** The stage's output: a constant the units ignore (they read the stacked product). */
    private INDArray token;
    /** The inputs of the last forward pass: DL4J clears a vertex's inputs right after its forward pass in inference. */
    private INDArray[] columnOutputs;

    MixingStage(ComputationGraph graph, String name, int index, DataType dataType) {
        super(graph, name, index, null, null, dataType);
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer getLayer() {
        return null;
    }

    /** The stage's units, in row order, found from the graph the first time. */
    private MixingUnit[] units() {
        if (units == null) {
            VertexIndices[] consumers = getOutputVertices();
            if (consumers == null || consumers.length == 0) {
                throw new IllegalStateException("mixing stage " + vertexName + " has no units");
            }
            MixingUnit[] found = new MixingUnit[consumers.length];
            for (int i = 0; i < consumers.length; i++) {
                GraphVertex v = graph.getVertices()[consumers[i].getVertexIndex()];
                if (!(v instanceof MixingUnit unit)) {
                    throw new IllegalStateException("mixing stage " + vertexName + " feeds " + v.getVertexName()
                            + ", which is not a mixing unit");
                }
                found[i] = unit;
            }
            Arrays.sort(found, Comparator.comparingInt(MixingUnit::row));
            subspaces = found[0].subspaces();
            perChannel = found[0].perChannel();
            for (MixingUnit u : found) {
                if (u.subspaces() != subspaces || u.perChannel() != perChannel
                        || perChannel && !(u instanceof PerChannelMixing)) {
                    throw new IllegalStateException("the units of mixing stage " + vertexName + " differ in kind");
                }
            }
            units = found;
        }
        return units;
    }

    /** The position of {@code unit} among the stage's units. */
    int position(MixingUnit unit) {
        MixingUnit[] all = units();
        for (int p = 0; p < all.length; p++) {
            if (all[p] == unit) {
                return p;
            }
        }
        throw new IllegalStateException(unit.getVertexName() + " is not a unit of mixing stage " + vertexName);
    }

    /**
     * Sets {@link #pass} for stage outputs of {@code layout}: for training, the kept matrices (made again when
     * the layout changes), outside workspaces; for inference, new ones in this pass's activation workspace,
     * kept for nothing (a large inference batch leaves no large arrays behind) and without errors.
     */
    private void prepare(StackLayout layout, int columns, int unitCount, boolean training,
                         LayerWorkspaceMgr workspaceMgr) {
        if (!training) {
            pass = new Buffers(layout, columns, unitCount, perChannel, workspaceMgr);
            return;
        }
        if (trainingBuffers == null || !trainingBuffers.layout.sameAs(layout) || trainingBuffers.columns != columns) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                trainingBuffers = new Buffers(layout, columns, unitCount, perChannel, null);
            }
        }
        pass = trainingBuffers;
    }

    /**
     * The stacked matrices of one layout and their views, made once. In direct mode (per channel, or a small
     * scalar mix: at most {@value #DIRECT_MAX} weights) the inputs are not stacked: the mix is a few axpy
     * operations on them, cheaper than a skinny matrix product.
     */
    private static final class Buffers {

        final StackLayout layout;
        final int columns;
        final boolean direct;
        final INDArray stacked;
        final INDArray weights;
        final INDArray mixed;
        final INDArray errors;
        final INDArray columnErrors;
        final StackLayout.Block[] inputTargets;
        final StackLayout.Block[] outputTargets;
        final StackLayout.Block[] errorTargets;
        final StackLayout.Block[] columnErrorTargets;
        final INDArray[] stackedColumns;
        final INDArray[] errorColumns;
        final INDArray[] weightRows;
        /** The units' weights of the last forward pass in direct mode. */
        final double[][] weightValues;

        /** {@code workspaceMgr} null: training matrices, in the caller's scope, with the errors. */
        Buffers(StackLayout layout, int t, int unitCount, boolean perChannel, LayerWorkspaceMgr workspaceMgr) {
            int k = layout.subspaces();
            boolean training = workspaceMgr == null;
            this.layout = layout;
            this.columns = t;
            direct = perChannel || k == 1 && layout.viewsBlocks() && (long) unitCount * t <= DIRECT_MAX;
            stacked = direct ? null : layout.stacked((long) t * k, workspaceMgr);
            mixed = layout.stacked((long) unitCount * k, workspaceMgr);
            // with permuted subspaces the units copy their outputs out of the product during the forward pass,
            // so the backward pass can reuse its memory for their errors
            errors = !training ? null : direct || layout.viewsBlocks() ? layout.stacked((long) unitCount * k, null) : mixed;
            columnErrors = training ? layout.stacked((long) t * k, null) : null;
            inputTargets = new StackLayout.Block[direct ? 0 : t];
            columnErrorTargets = new StackLayout.Block[training ? t : 0];
            for (int j = 0; j < t; j++) {
                if (!direct) {
                    inputTargets[j] = layout.block(stacked, (long) j * k);
                }
                if (training) {
                    columnErrorTargets[j] = layout.block(columnErrors, (long) j * k);
                }
            }
            outputTargets = new StackLayout.Block[unitCount];
            errorTargets = new StackLayout.Block[training ? unitCount : 0];
            for (int p = 0; p < unitCount; p++) {
                outputTargets[p] = layout.block(mixed, (long) p * k);
                if (training) {
                    errorTargets[p] = layout.block(errors, (long) p * k);
                }
            }
            stackedColumns = new INDArray[direct || !training ? 0 : t * k];
            for (int c = 0; c < stackedColumns.length; c++) {
                stackedColumns[c] = layout.column(stacked, c);
            }
            errorColumns = new INDArray[direct || !training ? 0 : unitCount * k];
            for (int c = 0; c < errorColumns.length; c++) {
                errorColumns[c] = layout.column(errors, c);
            }
            DataType type = mixed.dataType();
            weights = perChannel ? null : training ? Nd4j.create(type, (long) unitCount * k, (long) t * k)
                    : workspaceMgr.create(ArrayType.ACTIVATIONS, type, (long) unitCount * k, (long) t * k);
            weightRows = new INDArray[perChannel ? 0 : unitCount];
            for (int p = 0; p < weightRows.length; p++) {
                weightRows[p] = weights.get(NDArrayIndex.interval((long) p * k, (long) (p + 1) * k), NDArrayIndex.all());
            }
            weightValues = new double[perChannel ? 0 : unitCount][];
        }
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("mixing stage " + vertexName + ": inputs not set");
        }
        MixingUnit[] all = units();
        StackLayout layout;
        try {
            layout = StackLayout.of(inputs[0], subspaces);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("mixing stage " + vertexName + ": " + e.getMessage(), e);
        }
        for (INDArray x : inputs) {
            if (!Arrays.equals(x.shape(), inputs[0].shape())) {
                throw new IllegalStateException("mixing stage " + vertexName + ": column outputs differ in shape, "
                        + Arrays.toString(inputs[0].shape()) + " and " + Arrays.toString(x.shape()));
            }
        }
        prepare(layout, inputs.length, all.length, training, workspaceMgr);
        Buffers b = pass;
        columnOutputs = inputs.clone();
        if (perChannel) {
            for (int p = 0; p < all.length; p++) {
                if (layout.viewsBlocks()) {
                    ((PerChannelMixing) all[p]).mixPerChannel(inputs, b.outputTargets[p].read());
                } else {
                    INDArray out = Nd4j.createUninitialized(inputs[0].dataType(), inputs[0].shape());
                    ((PerChannelMixing) all[p]).mixPerChannel(inputs, out);
                    b.outputTargets[p].write(out);
                }
            }
        } else if (b.direct) {
            for (int p = 0; p < all.length; p++) {
                b.weightValues[p] = all[p].weightBlock().toDoubleVector();
                Mix.combine(inputs, b.weightValues[p], b.outputTargets[p].read());
            }
        } else {
            for (int j = 0; j < inputs.length; j++) {
                b.inputTargets[j].write(inputs[j]);
            }
            for (int p = 0; p < all.length; p++) {
                b.weightRows[p].assign(all[p].weightBlock());
            }
            Nd4j.gemm(b.stacked, b.weights, b.mixed, false, true, 1.0, 0.0);
        }
        for (MixingUnit unit : all) {
            unit.stageForward(inputs);
        }
        if (token == null || token.dataType() != inputs[0].dataType()) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                token = Nd4j.create(inputs[0].dataType(), 1, all.length);
            }
        }
        return token;
    }

    /**
     * {@code <E_p[r], X[c]>}: the dot product of row {@code r} of unit {@code p}'s error with stacked column
     * {@code c} of the inputs (in direct mode, input {@code c} itself).
     */
    double dot(int p, int r, int c) {
        Buffers b = pass;
        if (!b.direct) {
            return Nd4j.getBlasWrapper().dot(b.errorColumns[p * subspaces + r], b.stackedColumns[c]);
        }
        return Mix.dot(b.errorTargets[p].read(), columnOutputs[c]);
    }

    /** The last forward pass's input from column {@code j} (the columns' stage outputs, in order). */
    INDArray input(int j) {
        return columnOutputs[j];
    }

    /** The number of columns. */
    int columnCount() {
        return columnOutputs.length;
    }

    /**
     * Unit {@code p}'s output of the last forward pass: in training an array of the stage's, valid until the
     * next forward pass; in inference a copy in the unit's activation workspace (the stacked product is in the
     * stage's, which DL4J closes once the units have read it).
     */
    INDArray output(int p, boolean training, LayerWorkspaceMgr workspaceMgr) {
        Buffers b = pass;
        if (b == null) {
            throw new IllegalStateException("mixing stage " + vertexName + ": no forward pass to read");
        }
        if (training) {
            return b.outputTargets[p].read();
        }
        return b.outputTargets[p].readInto(workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS,
                b.mixed.dataType(), b.layout.shape(), 'c'));
    }

    /** Takes unit {@code p}'s error: copied into its columns of the stacked errors. */
    void deliver(int p, INDArray error) {
        if (pass == null || pass != trainingBuffers) {
            throw new IllegalStateException("mixing stage " + vertexName + ": backward pass without a training forward"
                    + " pass");
        }
        pass.errorTargets[p].write(error);
    }

    /** Unit {@code p}'s error of the current backward pass shaped like a stage output (valid during the pass). */
    INDArray shapedError(int p) {
        return pass.errorTargets[p].read();
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("mixing stage " + vertexName + ": errors not set");
        }
        if (pass == null || pass != trainingBuffers) {
            throw new IllegalStateException("mixing stage " + vertexName + ": backward pass without a training forward"
                    + " pass");
        }
        MixingUnit[] all = units();
        Buffers b = pass;
        boolean[] took = new boolean[all.length];
        for (int p = 0; p < all.length; p++) {
            took[p] = epsilon.getDouble(0, p) != 0;
            if (!took[p]) {
                b.errorTargets[p].clear();
            }
        }
        INDArray[] inputErrors = new INDArray[inputs.length];
        if (perChannel) {
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = b.layout.viewsBlocks() ? b.columnErrorTargets[j].read().assign(0)
                        : workspaceMgr.create(ArrayType.ACTIVATION_GRAD, inputs[0].dataType(), inputs[0].shape());
            }
            for (int p = 0; p < all.length; p++) {
                if (took[p]) {
                    ((PerChannelMixing) all[p]).unmixPerChannel(shapedError(p), inputErrors);
                }
            }
        } else if (b.direct) {
            INDArray[] unitErrors = new INDArray[all.length];
            for (int p = 0; p < all.length; p++) {
                unitErrors[p] = b.errorTargets[p].read();
            }
            double[] w = new double[all.length];
            for (int j = 0; j < inputs.length; j++) {
                for (int p = 0; p < all.length; p++) {
                    w[p] = b.weightValues[p][j];
                }
                inputErrors[j] = b.columnErrorTargets[j].read();
                Mix.combine(unitErrors, w, inputErrors[j]);
            }
        } else {
            Nd4j.gemm(b.errors, b.weights, b.columnErrors, false, false, 1.0, 0.0);
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = b.columnErrorTargets[j].read();
            }
        }
        for (int p = 0; p < all.length; p++) {
            if (took[p]) {
                all[p].addInputGradients(inputs, inputErrors);
            }
        }
        return new Pair<>(null, inputErrors);
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray view) {
        if (view != null) {
            throw new IllegalStateException("mixing stage " + vertexName + " has no parameters");
        }
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        return firstMask(maskArrays, currentMaskState);
    }

    /** The first of a vertex's input masks that is set, passed through (the inputs share their examples). */
    static Pair<INDArray, MaskState> firstMask(INDArray[] maskArrays, MaskState currentMaskState) {
        if (maskArrays != null) {
            for (INDArray mask : maskArrays) {
                if (mask != null) {
                    return new Pair<>(mask, currentMaskState);
                }
            }
        }
        return new Pair<>(null, currentMaskState);
    }

    @Override
    public String toString() {
        return "MixingStage(name=\"" + vertexName + "\")";
    }
}
