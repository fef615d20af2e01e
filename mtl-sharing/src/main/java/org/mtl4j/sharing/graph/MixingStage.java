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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The runtime of {@link MixingStageVertex}. With the stage's units' weights as one matrix {@code A}
 * ({@code [U K, T K]}: K rows per unit, one column per subspace of each column; K = 1 for cross-stitch) and
 * the column outputs stacked as the columns of {@code X} ({@code [M, T K]}, see {@link StackLayout}):
 * forward {@code Y = X A^T}, unit u's output being its K columns of {@code Y}; each unit copies its error
 * into its columns of {@code E} ({@code [M, U K]}); the stage's backward returns the column errors {@code E A}
 * and writes the weights' gradients of the units that took part, {@code X^T E}, one product for all
 * ({@link #computesWeightGradients}). Per-channel cross-stitch weights mix with broadcast products instead of
 * the matrix products.
 *
 * <p>For training the stacked matrices live outside workspaces and are reused from step to step (made again
 * when the minibatch shape changes), with their views made once: a training step makes no view and (per-channel
 * weights aside) allocates nothing here. {@code E} and the column errors are used only during a backward pass, so
 * the stages of a graph that mix the same columns share one set ({@link Scratch}); with several units the
 * stacked inputs {@code X} live in the column errors' memory too (the forward product reads them at once, and the
 * backward pass stacks them again before it needs them), so the memory a deep trunk adds per stage is
 * {@code Y}. A mixing unit's training output is a view of {@code Y} (or an array of the stage's), valid until
 * the next training forward pass. An inference pass stacks in its own activation
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
    /** The graph's shared backward scratches, kept by its first stage (see {@link Scratch}). */
    private final List<Scratch> scratches = new ArrayList<>();

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
     * the layout changes), outside workspaces, with the backward pass's arrays shared with the graph's other stages
     * ({@link Scratch}); for inference, new ones in this pass's activation workspace, kept for nothing (a large
     * inference batch leaves no large arrays behind) and without errors.
     */
    private void prepare(StackLayout layout, int columns, int unitCount, boolean training,
                         LayerWorkspaceMgr workspaceMgr) {
        boolean direct = perChannel || subspaces == 1 && layout.viewsBlocks() && (long) unitCount * columns <= DIRECT_MAX;
        if (!training) {
            pass = new Buffers(layout, columns, unitCount, direct, perChannel, null, workspaceMgr);
            return;
        }
        if (trainingBuffers == null || !trainingBuffers.layout.sameAs(layout) || trainingBuffers.columns != columns) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                Scratch scratch = scratch(layout, columns, direct);
                trainingBuffers = new Buffers(scratch.layout, columns, unitCount, direct, perChannel, scratch, null);
            }
            keeper().scratches.removeIf(s -> !inUse(s));
        }
        pass = trainingBuffers;
    }

    /**
     * The graph's backward scratch for this stage's units and stage outputs of {@code layout}: one the graph's
     * stages already share, or a new one, kept in the list of the graph's first stage (which drops those no stage
     * trains with any more whenever a stage changes its buffers).
     */
    private Scratch scratch(StackLayout layout, int columns, boolean direct) {
        MixingUnit[] all = units();
        int[] rows = new int[all.length];
        for (int p = 0; p < rows.length; p++) {
            rows[p] = all[p].row();
        }
        List<Scratch> kept = keeper().scratches;
        for (Scratch s : kept) {
            if (s.fits(layout, columns, rows, direct)) {
                return s;
            }
        }
        Scratch made = new Scratch(layout, columns, rows, direct);
        kept.add(made);
        return made;
    }

    /** The graph's first mixing stage, which keeps the scratches its stages share. */
    private MixingStage keeper() {
        for (GraphVertex v : graph.getVertices()) {
            if (v instanceof MixingStage s) {
                return s;
            }
        }
        throw new IllegalStateException("mixing stage " + vertexName + " is not in its graph");
    }

    /** The backward scratch of the last training forward pass (null before one), for tests. */
    Object backwardScratch() {
        return trainingBuffers == null ? null : trainingBuffers.scratch;
    }

    /** Whether the stacked inputs of the last training forward pass live in the backward scratch, for tests. */
    boolean stacksInScratch() {
        return trainingBuffers != null && trainingBuffers.scratch != null
                && trainingBuffers.stacked == trainingBuffers.scratch.columnErrors;
    }

    /** The number of backward scratches this stage keeps for its graph (non-zero for its first stage only). */
    int keptScratches() {
        return scratches.size();
    }

    /** Whether one of the graph's stages trains with {@code scratch}. */
    private boolean inUse(Scratch scratch) {
        for (GraphVertex v : graph.getVertices()) {
            if (v instanceof MixingStage s && s.trainingBuffers != null && s.trainingBuffers.scratch == scratch) {
                return true;
            }
        }
        return false;
    }

    /**
     * The arrays of a training backward pass, shared by the stages of a graph whose outputs have one layout and
     * which mix the same columns into units of the same rows: the units' stacked errors and the column errors (with
     * their views and staging). A stage uses its errors during its own backward pass only, and its column errors
     * until the column layers below it have read them. When two stages mix the same columns, every unit of the
     * lower one feeds a column layer of the upper one, so in reverse topological order the upper stage and the
     * layers below it are done before any unit of the lower stage runs backward: one set serves both. With permuted
     * subspaces the forward product shares the errors' memory too: the units copy their outputs out of it during
     * the forward pass; and a stage with several units stacks its inputs into the column errors' memory, for the
     * forward product, which reads them at once, and again in its backward pass before the weight-gradient product
     * (the stages above have used that memory in between). The layout's write staging is shared with them (it
     * lives only inside a write).
     */
    private static final class Scratch {

        final StackLayout layout;
        final int columns;
        final int[] rows;
        final boolean direct;
        final INDArray errors;
        final INDArray columnErrors;
        final StackLayout.Block[] errorTargets;
        final StackLayout.Block[] columnErrorTargets;
        /**
         * The stage whose stacked inputs the column errors' memory holds now (set when a stage stacks into it,
         * cleared when column errors are computed into it), or null: a stage whose inputs are still there need
         * not stack them again for its weight gradients (the topmost stage, in the first backward pass after its
         * forward pass).
         */
        MixingStage stackedBy;
        /** The errors' columns, for a sole unit's dot products (see {@link #computesWeightGradients}). */
        final INDArray[] errorColumns;

        /** Made in the caller's scope (outside workspaces). */
        Scratch(StackLayout layout, int columns, int[] rows, boolean direct) {
            int k = layout.subspaces();
            int units = rows.length;
            this.layout = layout;
            this.columns = columns;
            this.rows = rows;
            this.direct = direct;
            errors = layout.stacked((long) units * k, null);
            columnErrors = layout.stacked((long) columns * k, null);
            errorTargets = new StackLayout.Block[units];
            for (int p = 0; p < units; p++) {
                errorTargets[p] = layout.block(errors, (long) p * k);
            }
            columnErrorTargets = new StackLayout.Block[columns];
            for (int j = 0; j < columns; j++) {
                columnErrorTargets[j] = layout.block(columnErrors, (long) j * k);
            }
            errorColumns = new INDArray[direct || units > 1 ? 0 : units * k];
            for (int c = 0; c < errorColumns.length; c++) {
                errorColumns[c] = layout.column(errors, c);
            }
        }

        boolean fits(StackLayout other, int otherColumns, int[] otherRows, boolean otherDirect) {
            return layout.sameAs(other) && columns == otherColumns && Arrays.equals(rows, otherRows)
                    && direct == otherDirect;
        }
    }

    /**
     * The stacked matrices of one forward pass and their views, made once. In direct mode (per channel, or a small
     * scalar mix: at most {@value #DIRECT_MAX} weights) the inputs are not stacked: the mix is a few axpy
     * operations on them, cheaper than a skinny matrix product.
     */
    private static final class Buffers {

        final StackLayout layout;
        final int columns;
        final boolean direct;
        /** The backward pass's arrays (training only; else null). */
        final Scratch scratch;
        final INDArray stacked;
        final INDArray weights;
        final INDArray mixed;
        final StackLayout.Block[] inputTargets;
        final StackLayout.Block[] outputTargets;
        final INDArray[] stackedColumns;
        final INDArray[] weightRows;
        /** The units' weights of the last forward pass in direct mode. */
        final double[][] weightValues;
        /**
         * {@code X^T E} ({@code [T K, U K]}), the units' weight gradients side by side (training, matrix mode, several
         * units); with a sole unit its dot products read {@link #stackedColumns} instead.
         */
        final INDArray weightGradients;

        /** {@code scratch} null: an inference pass's matrices, in the activation workspace of {@code workspaceMgr}. */
        Buffers(StackLayout layout, int t, int unitCount, boolean direct, boolean perChannel, Scratch scratch,
                LayerWorkspaceMgr workspaceMgr) {
            int k = layout.subspaces();
            boolean training = scratch != null;
            this.layout = layout;
            this.columns = t;
            this.direct = direct;
            this.scratch = scratch;
            // in training with several units the stacked inputs live in the (shared) column errors' memory: the
            // forward product reads them at once, and the backward pass stacks them again for the weight
            // gradients before it computes the column errors (see restacks); a sole unit keeps its own, which its
            // dot products read before the stage's backward pass
            boolean restacks = training && !direct && unitCount > 1;
            stacked = direct ? null : restacks ? scratch.columnErrors : layout.stacked((long) t * k, workspaceMgr);
            // with permuted subspaces the units copy their outputs out of the product during the forward pass,
            // so its memory can be the (shared) errors'
            mixed = training && !direct && !layout.viewsBlocks() ? scratch.errors
                    : layout.stacked((long) unitCount * k, workspaceMgr);
            if (restacks) {
                inputTargets = scratch.columnErrorTargets;
            } else {
                inputTargets = new StackLayout.Block[direct ? 0 : t];
                for (int j = 0; j < inputTargets.length; j++) {
                    inputTargets[j] = layout.block(stacked, (long) j * k);
                }
            }
            outputTargets = new StackLayout.Block[unitCount];
            for (int p = 0; p < unitCount; p++) {
                outputTargets[p] = layout.block(mixed, (long) p * k);
            }
            stackedColumns = new INDArray[direct || !training || unitCount > 1 ? 0 : t * k];
            for (int c = 0; c < stackedColumns.length; c++) {
                stackedColumns[c] = layout.column(stacked, c);
            }
            DataType type = mixed.dataType();
            weights = perChannel ? null : training ? Nd4j.create(type, (long) unitCount * k, (long) t * k)
                    : workspaceMgr.create(ArrayType.ACTIVATIONS, type, (long) unitCount * k, (long) t * k);
            weightRows = new INDArray[perChannel ? 0 : unitCount];
            for (int p = 0; p < weightRows.length; p++) {
                weightRows[p] = weights.get(NDArrayIndex.interval((long) p * k, (long) (p + 1) * k), NDArrayIndex.all());
            }
            weightValues = new double[perChannel ? 0 : unitCount][];
            weightGradients = restacks ? Nd4j.create(type, new long[]{(long) t * k, (long) unitCount * k}, 'f') : null;
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
                b.weightValues[p] = Mix.values(all[p].weightBlock());
                Mix.combine(inputs, b.weightValues[p], b.outputTargets[p].read());
            }
        } else {
            for (int j = 0; j < inputs.length; j++) {
                b.inputTargets[j].write(inputs[j]);
            }
            if (computesWeightGradients()) {
                b.scratch.stackedBy = this;
            }
            for (int p = 0; p < all.length; p++) {
                Mix.copySmall(all[p].weightBlock(), b.weightRows[p]);
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
     * Whether this stage's backward pass computes its units' weight gradients, all with one product
     * {@code X^T E}: with stacked inputs and several units. Otherwise each unit computes its own in its backward
     * pass ({@link #dot}). A sole unit always does: a backward pass can run through a unit and stop before its
     * stage only when every task reads that unit (the last-shared-layer gradients of some loss combinators), and
     * then the network has one column.
     */
    boolean computesWeightGradients() {
        Buffers b = pass;
        return b != null && b.weightGradients != null;
    }

    /**
     * {@code <E_p[r], X[c]>}: the dot product of row {@code r} of unit {@code p}'s error with stacked column
     * {@code c} of the inputs (in direct mode, input {@code c} itself).
     */
    double dot(int p, int r, int c) {
        Buffers b = pass;
        if (!b.direct) {
            return Nd4j.getBlasWrapper().dot(b.scratch.errorColumns[p * subspaces + r], b.stackedColumns[c]);
        }
        return Mix.dot(b.scratch.errorTargets[p].read(), columnOutputs[c]);
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
        pass.scratch.errorTargets[p].write(error);
    }

    /** Unit {@code p}'s error of the current backward pass shaped like a stage output (valid during the pass). */
    INDArray shapedError(int p) {
        return pass.scratch.errorTargets[p].read();
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
        Scratch scratch = b.scratch;
        boolean[] took = new boolean[all.length];
        for (int p = 0; p < all.length; p++) {
            took[p] = epsilon.getDouble(0, p) != 0;
            if (!took[p]) {
                scratch.errorTargets[p].clear();
            }
        }
        INDArray[] inputErrors = new INDArray[inputs.length];
        if (perChannel) {
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = b.layout.viewsBlocks() ? scratch.columnErrorTargets[j].read().assign(0)
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
                unitErrors[p] = scratch.errorTargets[p].read();
            }
            double[] w = new double[all.length];
            for (int j = 0; j < inputs.length; j++) {
                for (int p = 0; p < all.length; p++) {
                    w[p] = b.weightValues[p][j];
                }
                inputErrors[j] = scratch.columnErrorTargets[j].read();
                Mix.combine(unitErrors, w, inputErrors[j]);
            }
        } else {
            if (computesWeightGradients()) {
                // the stacked inputs share the column errors' memory, which the stages above (their forward and
                // backward passes) or an earlier backward pass may have used since this stage's forward pass: stack
                // them again unless they are still there, then X^T E
                if (scratch.stackedBy != this) {
                    for (int j = 0; j < inputs.length; j++) {
                        b.inputTargets[j].write(columnOutputs[j]);
                    }
                    scratch.stackedBy = this;
                }
                Nd4j.gemm(b.stacked, scratch.errors, b.weightGradients, true, false, 1.0, 0.0);
                for (int p = 0; p < all.length; p++) {
                    if (took[p] && !all[p].frozen()) {
                        all[p].weightGradientFrom(b.weightGradients, p * subspaces);
                    }
                }
            }
            Nd4j.gemm(scratch.errors, b.weights, scratch.columnErrors, false, false, 1.0, 0.0);
            for (int j = 0; j < inputs.length; j++) {
                inputErrors[j] = scratch.columnErrorTargets[j].read();
            }
        }
        scratch.stackedBy = null;
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
