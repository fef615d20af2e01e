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
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
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

    private StackLayout layout;
    private INDArray stacked;
    private INDArray weights;
    private INDArray mixed;
    private INDArray errors;
    private INDArray columnErrors;
    private StackLayout.Block[] inputTargets;
    private StackLayout.Block[] outputTargets;
    private StackLayout.Block[] errorTargets;
    private StackLayout.Block[] columnErrorTargets;
    private INDArray[] stackedColumns;
    private INDArray[] errorColumns;
    private INDArray[] weightRows;
    /** The units' weights of the last forward pass in direct mode. */
    private double[][] weightValues;
    /** Whether the stage mixes its inputs directly with axpy operations instead of stacking them. */
    private boolean direct;
    private boolean trained;
    /** Whether the fields hold the training matrices, kept from step to step (else an inference pass's). */
    private boolean kept;
    private Buffers trainingBuffers;
    private int columnCount;
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
     * (Re)makes the stacked matrices and their views for stage outputs like {@code inputs}. For training they
     * live outside workspaces and are kept for the next step of the same shape; for inference they are made
     * in this pass's activation workspace and kept for nothing (a large inference batch leaves no large
     * arrays behind), without the backward pass's errors. In direct mode (per channel, or a small scalar
     * mix: at most {@value #DIRECT_MAX} weights) the inputs are not stacked: the mix is a few axpy operations
     * on them, cheaper than a skinny matrix product.
     */
    private void prepare(INDArray[] inputs, int unitCount, boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (training) {
            if (kept && layout.matches(inputs[0]) && columnCount == inputs.length) {
                return;
            }
            if (trainingBuffers != null && trainingBuffers.layout().matches(inputs[0])
                    && trainingBuffers.columnCount() == inputs.length) {
                restore(trainingBuffers);
            } else {
                try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                    build(inputs, unitCount, null);
                }
                trainingBuffers = snapshot();
            }
        } else {
            build(inputs, unitCount, workspaceMgr);
        }
        kept = training;
    }

    /** The training matrices and views, kept while an inference pass uses the fields. */
    private record Buffers(StackLayout layout, int columnCount, boolean direct, INDArray stacked, INDArray weights,
                           INDArray mixed, INDArray errors, INDArray columnErrors, StackLayout.Block[] inputTargets,
                           StackLayout.Block[] outputTargets, StackLayout.Block[] errorTargets,
                           StackLayout.Block[] columnErrorTargets, INDArray[] stackedColumns, INDArray[] errorColumns,
                           INDArray[] weightRows, double[][] weightValues) {
    }

    private Buffers snapshot() {
        return new Buffers(layout, columnCount, direct, stacked, weights, mixed, errors, columnErrors, inputTargets,
                outputTargets, errorTargets, columnErrorTargets, stackedColumns, errorColumns, weightRows, weightValues);
    }

    private void restore(Buffers b) {
        layout = b.layout();
        columnCount = b.columnCount();
        direct = b.direct();
        stacked = b.stacked();
        weights = b.weights();
        mixed = b.mixed();
        errors = b.errors();
        columnErrors = b.columnErrors();
        inputTargets = b.inputTargets();
        outputTargets = b.outputTargets();
        errorTargets = b.errorTargets();
        columnErrorTargets = b.columnErrorTargets();
        stackedColumns = b.stackedColumns();
        errorColumns = b.errorColumns();
        weightRows = b.weightRows();
        weightValues = b.weightValues();
    }

    /** Makes the stacked matrices ({@code workspaceMgr} null: outside workspaces, with the errors). */
    private void build(INDArray[] inputs, int unitCount, LayerWorkspaceMgr workspaceMgr) {
        int k = subspaces;
        int t = inputs.length;
        boolean training = workspaceMgr == null;
        layout = StackLayout.of(inputs[0], k);
        columnCount = t;
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
        weights = perChannel ? null : training ? Nd4j.create(inputs[0].dataType(), (long) unitCount * k, (long) t * k)
                : workspaceMgr.create(ArrayType.ACTIVATIONS, inputs[0].dataType(), (long) unitCount * k, (long) t * k);
        weightRows = new INDArray[perChannel ? 0 : unitCount];
        for (int p = 0; p < weightRows.length; p++) {
            weightRows[p] = weights.get(NDArrayIndex.interval((long) p * k, (long) (p + 1) * k), NDArrayIndex.all());
        }
        weightValues = new double[perChannel ? 0 : unitCount][];
        if (token == null || token.dataType() != inputs[0].dataType()) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                token = Nd4j.create(inputs[0].dataType(), 1, unitCount);
            }
        }
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("mixing stage " + vertexName + ": inputs not set");
        }
        MixingUnit[] all = units();
        try {
            StackLayout.of(inputs[0], subspaces);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("mixing stage " + vertexName + ": " + e.getMessage(), e);
        }
        for (INDArray x : inputs) {
            if (!Arrays.equals(x.shape(), inputs[0].shape())) {
                throw new IllegalStateException("mixing stage " + vertexName + ": column outputs differ in shape, "
                        + Arrays.toString(inputs[0].shape()) + " and " + Arrays.toString(x.shape()));
            }
        }
        prepare(inputs, all.length, training, workspaceMgr);
        columnOutputs = inputs.clone();
        if (perChannel) {
            for (int p = 0; p < all.length; p++) {
                if (layout.viewsBlocks()) {
                    ((PerChannelMixing) all[p]).mixPerChannel(inputs, outputTargets[p].read());
                } else {
                    INDArray out = Nd4j.createUninitialized(inputs[0].dataType(), inputs[0].shape());
                    ((PerChannelMixing) all[p]).mixPerChannel(inputs, out);
                    outputTargets[p].write(out);
                }
            }
        } else if (direct) {
            for (int p = 0; p < all.length; p++) {
                weightValues[p] = all[p].weightBlock().toDoubleVector();
                combine(inputs, weightValues[p], outputTargets[p].read());
            }
        } else {
            for (int j = 0; j < inputs.length; j++) {
                inputTargets[j].write(inputs[j]);
            }
            for (int p = 0; p < all.length; p++) {
                weightRows[p].assign(all[p].weightBlock());
            }
            Nd4j.gemm(stacked, weights, mixed, false, true, 1.0, 0.0);
        }
        for (MixingUnit unit : all) {
            unit.stageForward(inputs);
        }
        trained = training;
        return token;
    }

    /** {@code out = sum_i w[i] xs[i]}, one scaling and one axpy per further term (no temporary). */
    private static void combine(INDArray[] xs, double[] w, INDArray out) {
        xs[0].mul(w[0], out);
        for (int i = 1; i < xs.length; i++) {
            Nd4j.exec(new Axpy(xs[i], out, out, w[i]));
        }
    }

    /**
     * {@code <E_p[r], X[c]>}: the dot product of row {@code r} of unit {@code p}'s error with stacked column
     * {@code c} of the inputs (in direct mode, input {@code c} itself).
     */
    double dot(int p, int r, int c) {
        if (!direct) {
            return Nd4j.getBlasWrapper().dot(errorColumns[p * subspaces + r], stackedColumns[c]);
        }
        return LayerStitchUnit.dot(errorTargets[p].read(), columnOutputs[c]);
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
        if (mixed == null) {
            throw new IllegalStateException("mixing stage " + vertexName + ": no forward pass to read");
        }
        if (training) {
            return outputTargets[p].read();
        }
        return outputTargets[p].readInto(workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, mixed.dataType(),
                layout.shape(), 'c'));
    }

    /** Takes unit {@code p}'s error: copied into its columns of the stacked errors. */
    void deliver(int p, INDArray error) {
        if (!trained) {
            throw new IllegalStateException("mixing stage " + vertexName + ": backward pass without a training forward"
                    + " pass");
        }
        errorTargets[p].write(error);
    }

    /** Unit {@code p}'s error of the current backward pass shaped like a stage output (valid during the pass). */
    INDArray shapedError(int p) {
        return errorTargets[p].read();
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("mixing stage " + vertexName + ": errors not set");
        }
        if (!trained) {
            throw new IllegalStateException("mixing stage " + vertexName + ": backward pass without a training forward"
                    + " pass");
        }
        MixingUnit[] all = units();
        boolean[] took = new boolean[all.length];
        for (int p = 0; p < all.length; p++) {
            took[p] = epsilon.getDouble(0, p) != 0;
            if (!took[p]) {
                errorTargets[p].clear();
            }
        }
        INDArray[] inputErrors = new INDArray[inputs.length];
        if (perChannel) {
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = layout.viewsBlocks() ? columnErrorTargets[j].read().assign(0)
                        : workspaceMgr.create(ArrayType.ACTIVATION_GRAD, inputs[0].dataType(), inputs[0].shape());
            }
            for (int p = 0; p < all.length; p++) {
                if (took[p]) {
                    ((PerChannelMixing) all[p]).unmixPerChannel(shapedError(p), inputErrors);
                }
            }
        } else if (direct) {
            INDArray[] unitErrors = new INDArray[all.length];
            for (int p = 0; p < all.length; p++) {
                unitErrors[p] = errorTargets[p].read();
            }
            double[] w = new double[all.length];
            for (int j = 0; j < inputs.length; j++) {
                for (int p = 0; p < all.length; p++) {
                    w[p] = weightValues[p][j];
                }
                inputErrors[j] = columnErrorTargets[j].read();
                combine(unitErrors, w, inputErrors[j]);
            }
        } else {
            Nd4j.gemm(errors, weights, columnErrors, false, false, 1.0, 0.0);
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = columnErrorTargets[j].read();
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
