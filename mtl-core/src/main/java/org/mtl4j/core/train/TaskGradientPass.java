package org.mtl4j.core.train;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.graph.MultiTaskGraph;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The backward pass of a step whose combinator reads per-task gradients ({@link SharedGradients}): each
 * task's head alone with its unweighted error, then each task's gradient of the requested kind, the
 * combinator, each head's parameter gradient scaled by its head weight, and the encoder trained on
 * {@code sum_t w_t g_t}.
 *
 * <p>Task t's gradient {@code g_t} goes into row t of a {@code [T, n]} buffer in the mean-loss convention
 * (the per-example-sum errors divided by the minibatch size), so that the Gram matrix is one matrix product
 * (in double precision).
 * The encoder's combined gradient is linear in the errors at the representation: for the representation
 * and last-layer kinds one encoder backward from {@code sum_t w_t dL_t/dZ} gives {@code sum_t w_t g_t} over
 * every encoder parameter; for {@link SharedGradients#SHARED_PARAMETERS} the rows already hold every
 * encoder parameter's gradient, and their combination is written into the gradient view directly.
 */
final class TaskGradientPass {

    /** What the pass did: the losses with the gradients the combinator read, its weights and the gradient. */
    record Result(TaskLosses losses, TaskWeights weights, Gradient gradient) {
    }

    private final MultiTaskGraph graph;
    private final LayerWorkspaceMgr workspaces;
    private final SharedGradients kind;
    private final String[] representations;
    private final GraphBackward backward;
    private final Set<Integer> lastLayer;
    private final long[][] ranges;
    private final long rangeLength;
    private INDArray buffer;
    private INDArray doubles;

    /**
     * A pass over {@code graph} for gradients of {@code kind}, the kind {@code combinator} reads on this network.
     *
     * @throws IllegalArgumentException when the network cannot serve that kind (see {@link SharedGradients})
     */
    TaskGradientPass(MultiTaskGraph graph, List<Task> tasks, List<String> outputs, List<String> representations,
                     SharingStrategy sharing, LossCombinator combinator, SharedGradients kind) {
        this.graph = graph;
        this.workspaces = graph.splitBackwardWorkspaces();
        this.kind = kind;
        this.representations = representations.toArray(new String[0]);
        this.backward = new GraphBackward(graph, outputs, representations, workspaces,
                kind != SharedGradients.REPRESENTATION);
        if (kind == SharedGradients.REPRESENTATION || kind == SharedGradients.LAST_SHARED_LAYER) {
            for (int t = 1; t < tasks.size(); t++) {
                if (!representations.get(t).equals(representations.get(0))) {
                    throw new IllegalArgumentException(combinator + " reads gradients of kind " + kind + ", which needs"
                            + " one representation read by every task, but task \"" + tasks.get(0).name() + "\" reads \""
                            + representations.get(0) + "\" and task \"" + tasks.get(t).name() + "\" reads \""
                            + representations.get(t) + "\" (" + sharing + "); use SharedGradients.SHARED_PARAMETERS");
                }
            }
        }
        if (kind == SharedGradients.LAST_SHARED_LAYER) {
            try {
                lastLayer = backward.lastSharedLayer(representations.get(0));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(combinator + " reads the last shared layer's gradients, but there is "
                        + e.getMessage(), e);
            }
        } else {
            lastLayer = null;
        }
        if (kind == SharedGradients.SHARED_PARAMETERS) {
            if (sharing.penalisesActivations()) {
                throw new IllegalArgumentException(combinator + " reads each task's gradient on the shared parameters,"
                        + " but " + sharing + " penalises activations, whose gradient joins every task's; penalise"
                        + " weights instead (sluice: Orthogonality.WEIGHTS), or switch the penalty off");
            }
            ranges = backward.parameterRanges(backward.encoderVertices());
            if (ranges.length == 0) {
                throw new IllegalArgumentException(combinator + " reads each task's gradient on the shared parameters,"
                        + " but the encoder has no parameters");
            }
        } else {
            ranges = lastLayer == null ? null : backward.parameterRanges(lastLayer);
        }
        long n = 0;
        for (int i = 0; ranges != null && i < ranges.length; i++) {
            n += ranges[i][1] - ranges[i][0];
        }
        rangeLength = n;
    }

    /**
     * Runs the pass inside a training pass (after the forward pass).
     *
     * @param errors    each task's unweighted error at its output (per-example-sum convention)
     * @param minibatch the minibatch size
     * @param weigh     hands the losses with gradients to the combinator
     */
    Result run(TaskLosses losses, INDArray[] errors, int minibatch, Function<TaskLosses, TaskWeights> weigh) {
        try (MemoryWorkspace ws = workspaces.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
            return runInWorkspace(losses, errors, minibatch, weigh);
        }
    }

    private Result runInWorkspace(TaskLosses losses, INDArray[] errors, int minibatch,
                                  Function<TaskLosses, TaskWeights> weigh) {
        int tasks = errors.length;
        backward.reset();
        INDArray[] atRepresentation = new INDArray[tasks];
        List<List<INDArray>> headGradients = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            Pair<INDArray, List<INDArray>> head = backward.head(t, errors[t]);
            atRepresentation[t] = head.getFirst();
            headGradients.add(head.getSecond());
        }
        List<INDArray> gradients = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            gradients.add(taskGradient(t, tasks, atRepresentation[t], minibatch));
        }
        double[][] gram = gram();
        for (int i = 0; i < tasks; i++) {
            for (int j = 0; j < tasks; j++) {
                if (!Double.isFinite(gram[i][j])) {
                    throw new IllegalStateException("task gradients overflow at iteration " + losses.iteration()
                            + " (epoch " + losses.epoch() + "): g_" + i + " . g_" + j + " = " + gram[i][j]
                            + "; training stopped before the update, parameters are unchanged. Check the learning rate");
                }
            }
        }
        TaskLosses withGradients = losses.withGradients(gradients, gram);
        TaskWeights weights = weigh.apply(withGradients);
        for (int t = 0; t < tasks; t++) {
            double h = weights.headWeight(t);
            if (h != 1.0) {
                headGradients.get(t).forEach(g -> g.muli(h));
            }
        }
        if (kind == SharedGradients.SHARED_PARAMETERS) {
            writeCombination(weights, minibatch);
        } else {
            Map<String, INDArray> encoderErrors = new LinkedHashMap<>();
            for (int t = 0; t < tasks; t++) {
                encoderErrors.merge(representations[t], atRepresentation[t].mul(weights.weight(t)), INDArray::addi);
            }
            backward.encoder(encoderErrors);
        }
        return new Result(withGradients, weights, backward.gradient());
    }

    /**
     * The Gram matrix of the buffer's rows, in double precision whatever the network's data type: closed forms
     * such as IMTL-G's tell parallel gradients by entries near zero, which single-precision products blur.
     */
    private double[][] gram() {
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray rows = buffer;
            if (buffer.dataType() != DataType.DOUBLE) {
                if (doubles == null || !Arrays.equals(doubles.shape(), buffer.shape())) {
                    doubles = Nd4j.create(DataType.DOUBLE, buffer.shape());
                }
                rows = doubles.assign(buffer);
            }
            return rows.mmul(rows.transpose()).toDoubleMatrix();
        }
    }

    /** Task t's gradient of the requested kind, written into row t of the buffer (mean-loss convention). */
    private INDArray taskGradient(int t, int tasks, INDArray atRepresentation, int minibatch) {
        INDArray row;
        switch (kind) {
            case REPRESENTATION -> {
                row = row(t, tasks, atRepresentation.length());
                row.assign(atRepresentation.reshape('c', new long[]{atRepresentation.length()})).divi(minibatch);
                return row.reshape('c', atRepresentation.shape());
            }
            case LAST_SHARED_LAYER -> {
                zeroRanges();
                backward.layer(lastLayer, representations[t], atRepresentation);
                row = copyRanges(t, tasks);
            }
            case SHARED_PARAMETERS -> {
                zeroRanges();
                backward.encoder(Map.of(representations[t], atRepresentation));
                row = copyRanges(t, tasks);
            }
            default -> throw new IllegalStateException("no task gradients of kind " + kind);
        }
        return row.divi(minibatch);
    }

    private void zeroRanges() {
        INDArray flat = flatGradient();
        for (long[] r : ranges) {
            flat.get(NDArrayIndex.interval(r[0], r[1])).assign(0);
        }
    }

    /** Copies the gradient view's entries in the ranges, in order, into row t of the buffer. */
    private INDArray copyRanges(int t, int tasks) {
        INDArray flat = flatGradient();
        INDArray row = row(t, tasks, rangeLength);
        long at = 0;
        for (long[] r : ranges) {
            long len = r[1] - r[0];
            row.get(NDArrayIndex.interval(at, at + len)).assign(flat.get(NDArrayIndex.interval(r[0], r[1])));
            at += len;
        }
        return row;
    }

    /** Writes {@code B sum_t w_t g_t} (per-example-sum convention) into the encoder's part of the gradient view. */
    private void writeCombination(TaskWeights weights, int minibatch) {
        double[] w = weights.weights();
        INDArray flat = flatGradient();
        long at = 0;
        for (long[] r : ranges) {
            long len = r[1] - r[0];
            INDArray target = flat.get(NDArrayIndex.interval(r[0], r[1]));
            target.assign(0);
            for (int t = 0; t < w.length; t++) {
                if (w[t] != 0) {
                    // target += (B w_t) g_t in one op, no temporary (as the cross-stitch units mix)
                    Nd4j.exec(new Axpy(buffer.get(NDArrayIndex.point(t), NDArrayIndex.interval(at, at + len)), target,
                            target, w[t] * minibatch));
                }
            }
            at += len;
        }
    }

    /** The flat gradient view as a vector. */
    private INDArray flatGradient() {
        INDArray view = graph.getGradientsViewArray();
        return view.reshape(new long[]{view.length()});
    }

    /** Row t of the buffer as a vector view, (re)allocating the buffer outside workspaces when its size changes. */
    private INDArray row(int t, int tasks, long n) {
        if (buffer == null || buffer.size(0) != tasks || buffer.size(1) != n
                || buffer.dataType() != graph.params().dataType()) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                buffer = Nd4j.create(graph.params().dataType(), tasks, n);
            }
        }
        return buffer.get(NDArrayIndex.point(t), NDArrayIndex.all());
    }
}
