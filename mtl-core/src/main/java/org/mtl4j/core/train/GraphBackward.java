package org.mtl4j.core.train;

import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Back-propagation over parts of the network's graph: one task's head alone (from the task's error at its
 * output down to its representation), then the encoder alone (from errors at the representations down
 * to the input). DL4J's {@code ComputationGraph.backpropGradient} only runs the whole graph; this split
 * is what gives each task's gradient at its representation for the cost of one head backward per task.
 *
 * <p>Must follow {@code graph.feedForward(inputs, true, false)}, which leaves every layer's input in
 * place. A vertex may be run more than once per step (per-task encoder passes): {@link BackwardReplay} puts
 * back the layer state a backward pass consumes. Parameter gradients are written into the graph's flat
 * gradient view, as DL4J layers always do; {@link #gradient()} wraps that view for the updater.
 */
final class GraphBackward {

    private final ComputationGraph graph;
    private final LayerWorkspaceMgr workspaces;
    private final boolean repeats;
    private final int[] reverseOrder;
    private final List<Set<Integer>> headVertices = new ArrayList<>();
    private final int[] outputIndex;
    private final int[] representationIndex;
    private final Set<Integer> encoderVertices = new HashSet<>();
    private final Map<String, GradientEntry> entries = new LinkedHashMap<>();
    private final Map<Integer, BackwardReplay> replays = new HashMap<>();

    private static final Set<String> RUNNING_STATISTICS = Set.of(BatchNormalizationParamInitializer.GLOBAL_MEAN,
            BatchNormalizationParamInitializer.GLOBAL_VAR, BatchNormalizationParamInitializer.GLOBAL_LOG_STD);

    private record GradientEntry(String key, INDArray view, Character order) {
    }

    /**
     * @param outputs         each task's output vertex name
     * @param representations each task's representation vertex name
     * @param workspaces      where vertices put their activation gradients and working memory; the caller keeps
     *                        the activation-gradient scope open while errors and gradients are in use
     * @param repeats         whether a vertex may run more than once per step (its layer state is then replayed)
     */
    GraphBackward(ComputationGraph graph, List<String> outputs, List<String> representations,
                  LayerWorkspaceMgr workspaces, boolean repeats) {
        this.graph = graph;
        this.workspaces = workspaces;
        this.repeats = repeats;
        if (graph.getGradientsViewArray() == null) {
            graph.initGradientsView();
        }
        int[] order = graph.topologicalSortOrder();
        reverseOrder = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            reverseOrder[i] = order[order.length - 1 - i];
        }
        outputIndex = new int[outputs.size()];
        representationIndex = new int[outputs.size()];
        Set<Integer> allHeads = new HashSet<>();
        for (int t = 0; t < outputs.size(); t++) {
            outputIndex[t] = graph.getVertex(outputs.get(t)).getVertexIndex();
            representationIndex[t] = graph.getVertex(representations.get(t)).getVertexIndex();
            Set<Integer> head = ancestorsUntil(outputIndex[t], representationIndex[t]);
            headVertices.add(head);
            allHeads.addAll(head);
        }
        for (GraphVertex v : graph.getVertices()) {
            if (!v.isInputVertex() && !allHeads.contains(v.getVertexIndex())) {
                encoderVertices.add(v.getVertexIndex());
            }
        }
    }

    /** The vertices from {@code from} back to (not including) {@code stop}. */
    private Set<Integer> ancestorsUntil(int from, int stop) {
        Set<Integer> found = new HashSet<>();
        Deque<Integer> todo = new ArrayDeque<>();
        todo.push(from);
        GraphVertex[] vertices = graph.getVertices();
        while (!todo.isEmpty()) {
            int v = todo.pop();
            if (v == stop || !found.add(v)) {
                continue;
            }
            VertexIndices[] inputs = vertices[v].getInputVertices();
            if (inputs != null) {
                for (VertexIndices in : inputs) {
                    todo.push(in.getVertexIndex());
                }
            }
        }
        return found;
    }

    /** Forgets the gradient entries and the layer state of the previous step. */
    void reset() {
        entries.clear();
        replays.clear();
    }

    /**
     * Back-propagates {@code error} through task {@code t}'s head.
     *
     * @return the error arriving at the task's representation, and the head's parameter gradients (views
     * into the graph's flat gradient, which a caller may scale in place)
     */
    Pair<INDArray, List<INDArray>> head(int t, INDArray error) {
        Map<Integer, INDArray> errors = new HashMap<>();
        errors.put(outputIndex[t], error);
        List<INDArray> views = run(headVertices.get(t), errors);
        INDArray atRepresentation = errors.get(representationIndex[t]);
        if (atRepresentation == null) {
            throw new IllegalStateException("no error reached the representation of task " + t);
        }
        return Pair.of(atRepresentation, views);
    }

    /** Back-propagates errors given at representation vertices (by vertex name) through the encoder. */
    void encoder(Map<String, INDArray> errorsAtRepresentations) {
        Map<Integer, INDArray> errors = new HashMap<>();
        errorsAtRepresentations.forEach((name, e) -> errors.put(graph.getVertex(name).getVertexIndex(), e));
        run(encoderVertices, errors);
    }

    /**
     * The vertices of the last shared layer below {@code representation}: the representation vertex and, when
     * it has no parameters (a pooling or activation layer), the single-input chain below it down to the first
     * vertex with parameters.
     *
     * @throws IllegalArgumentException when no vertex with parameters lies on that chain
     */
    Set<Integer> lastSharedLayer(String representation) {
        Set<Integer> chain = new HashSet<>();
        GraphVertex v = graph.getVertex(representation);
        while (true) {
            chain.add(v.getVertexIndex());
            if (v.numParams() > 0) {
                return chain;
            }
            VertexIndices[] inputs = v.getInputVertices();
            GraphVertex below = inputs == null || inputs.length != 1 ? null : graph.getVertices()[inputs[0].getVertexIndex()];
            if (below == null || below.isInputVertex()) {
                throw new IllegalArgumentException("no layer with parameters below the shared representation \""
                        + representation + "\" (reached \"" + v.getVertexName() + "\")");
            }
            v = below;
        }
    }

    /**
     * Back-propagates {@code error}, given at the representation vertex, through {@code layer} (a set from
     * {@link #lastSharedLayer}) alone; the errors it sends further down are dropped.
     */
    void layer(Set<Integer> layer, String representation, INDArray error) {
        Map<Integer, INDArray> errors = new HashMap<>();
        errors.put(graph.getVertex(representation).getVertexIndex(), error);
        run(layer, errors);
    }

    /** The indices of the encoder's vertices (every vertex but the inputs and the heads). */
    Set<Integer> encoderVertices() {
        return Set.copyOf(encoderVertices);
    }

    /**
     * The ranges {@code [from, to)} of the flat parameter (and gradient) vector that hold the trainable parameters
     * of {@code vertices}, in ascending order, adjacent ranges merged. Batch normalisation's running mean and
     * variance are left out: DL4J moves them by a "gradient" that is the batch statistics' distance from them,
     * the same for every error, not a derivative that per-task passes could weigh and combine.
     */
    long[][] parameterRanges(Set<Integer> vertices) {
        long base = graph.params().offset();
        List<long[]> ranges = new ArrayList<>();
        for (int idx : vertices) {
            GraphVertex v = graph.getVertices()[idx];
            if (v.numParams() == 0) {
                continue;
            }
            boolean batchNorm = v.hasLayer() && v.getLayer() instanceof BatchNormalization;
            for (Map.Entry<String, INDArray> p : v.paramTable(false).entrySet()) {
                if (batchNorm && RUNNING_STATISTICS.contains(p.getKey())) {
                    continue;
                }
                long from = p.getValue().offset() - base;
                ranges.add(new long[]{from, from + p.getValue().length()});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : ranges) {
            long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && last[1] == r[0]) {
                last[1] = r[1];
            } else {
                merged.add(r.clone());
            }
        }
        return merged.toArray(new long[0][]);
    }

    /** The gradient of everything run since {@link #reset()}, over the graph's flat gradient view. */
    Gradient gradient() {
        Gradient g = new DefaultGradient(graph.getGradientsViewArray());
        for (GradientEntry e : entries.values()) {
            g.setGradientFor(e.key(), e.view(), e.order());
        }
        return g;
    }

    /**
     * Runs the vertices of {@code subset} that errors reach, in reverse topological order; returns the gradient
     * views they wrote.
     */
    private List<INDArray> run(Set<Integer> subset, Map<Integer, INDArray> errors) {
        List<INDArray> written = new ArrayList<>();
        GraphVertex[] vertices = graph.getVertices();
        for (int idx : reverseOrder) {
            if (!subset.contains(idx)) {
                continue;
            }
            INDArray error = errors.remove(idx);
            if (error == null) {
                continue;
            }
            GraphVertex v = vertices[idx];
            v.setEpsilon(error);
            Pair<Gradient, INDArray[]> result;
            try (MemoryWorkspace working = workspaces.notifyScopeEntered(ArrayType.BP_WORKING_MEM)) {
                if (repeats) {
                    BackwardReplay replay = replays.get(idx);
                    if (replay == null) {
                        replays.put(idx, BackwardReplay.capture(v));
                    } else {
                        replay.restore(workspaces);
                    }
                }
                result = v.doBackward(false, workspaces);
            }
            if (result.getFirst() != null) {
                Gradient g = result.getFirst();
                for (Map.Entry<String, INDArray> e : g.gradientForVariable().entrySet()) {
                    String key = v.getVertexName() + "_" + e.getKey();
                    entries.put(key, new GradientEntry(key, e.getValue(), g.flatteningOrderForVariable(e.getKey())));
                    written.add(e.getValue());
                }
            }
            VertexIndices[] inputs = v.getInputVertices();
            INDArray[] inputErrors = result.getSecond();
            for (int j = 0; inputs != null && j < inputs.length; j++) {
                if (inputErrors[j] != null) {
                    errors.merge(inputs[j].getVertexIndex(), inputErrors[j], INDArray::add);
                }
            }
        }
        return written;
    }
}
