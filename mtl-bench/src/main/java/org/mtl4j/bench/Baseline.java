package org.mtl4j.bench;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.sharing.Columns;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The baseline side of a case: either one plain DL4J {@link ComputationGraph} with one output layer per task
 * (the twin of a hard-sharing network, {@link #joint}), or one single-task graph per task ({@link #perTask}),
 * each trained in turn on every minibatch with its own task's labels: the cost floor of a multi-column
 * network; or, for a combinator case, the same mtl4j network with fixed equal weights ({@link #fixedWeights}).
 *
 * <p>Parameters are named as mtl4j names them: in a joint baseline the graph's own names; in per-task
 * baselines graph {@code t}'s trunk layer {@code trunk_<s>_<l>} stands for mtl4j's column layer
 * {@code col<t>_<s>_<l>} ({@link Columns#layerName}), and its output layer {@code head_<task>_out} for the
 * task's output projection, which has the same name.
 */
public final class Baseline {

    private static final Pattern TRUNK_PARAM = Pattern.compile("trunk_(\\d+)_(\\d+)_(.+)");

    private final List<ComputationGraph> graphs;
    private final boolean joint;
    private final MultiTaskNetwork network;
    private double networkScore = Double.NaN;

    private Baseline(List<ComputationGraph> graphs, boolean joint, MultiTaskNetwork network) {
        this.graphs = List.copyOf(graphs);
        this.joint = joint;
        this.network = network;
    }

    /**
     * An mtl4j network with fixed weights as the baseline of a combinator case: trained by its own step, with
     * exactly the parameters (names, layout) of the network it is compared with.
     */
    public static Baseline fixedWeights(MultiTaskNetwork network) {
        return new Baseline(List.of(network.graph()), true, network);
    }

    /** One graph with one output per task, trained on whole minibatches. */
    public static Baseline joint(ComputationGraph graph) {
        return new Baseline(List.of(graph), true, null);
    }

    /** One single-task graph per task, in task order; graph {@code t} trains on features and {@code labels[t]}. */
    public static Baseline perTask(List<ComputationGraph> graphs) {
        if (graphs.isEmpty()) {
            throw new IllegalArgumentException("a per-task baseline needs at least one graph");
        }
        return new Baseline(graphs, false, null);
    }

    /** The graphs, in task order (one graph for a joint baseline). */
    public List<ComputationGraph> graphs() {
        return graphs;
    }

    /** Whether this is one graph for all tasks. */
    public boolean isJoint() {
        return joint;
    }

    /** One training step: {@code fit} of the joint graph, or of each task's graph on its own labels, in task order. */
    public void fit(MultiDataSet data) {
        if (network != null) {
            networkScore = network.fit(data).totalLoss();
            return;
        }
        if (joint) {
            graphs.get(0).fit(data);
            return;
        }
        INDArray[] features = data.getFeatures();
        INDArray[] featureMasks = data.getFeaturesMaskArrays();
        INDArray[] labelMasks = data.getLabelsMaskArrays();
        for (int t = 0; t < graphs.size(); t++) {
            INDArray[] mask = labelMasks == null || labelMasks[t] == null ? null : new INDArray[]{labelMasks[t]};
            graphs.get(t).fit(new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{data.getLabels(t)},
                    featureMasks, mask));
        }
    }

    /** The score of the last step: the joint graph's, or the sum of the task graphs' (each its task's loss). */
    public double score() {
        if (network != null) {
            return networkScore;
        }
        double sum = 0;
        for (ComputationGraph g : graphs) {
            sum += g.score();
        }
        return sum;
    }

    /** The number of parameters of all graphs together. */
    public long numParams() {
        long n = 0;
        for (ComputationGraph g : graphs) {
            n += g.numParams();
        }
        return n;
    }

    /** The parameters of all graphs, one flat row in graph order (the joint graph's own vector, else a copy). */
    public INDArray params() {
        if (graphs.size() == 1) {
            return graphs.get(0).params();
        }
        INDArray[] rows = new INDArray[graphs.size()];
        for (int g = 0; g < rows.length; g++) {
            rows[g] = graphs.get(g).params().reshape(1, graphs.get(g).numParams());
        }
        return Nd4j.hstack(rows);
    }

    /** Sets every graph's parameters from one flat vector laid out as {@link #params()} returns it. */
    public void setParams(INDArray flat) {
        if (flat.length() != numParams()) {
            throw new IllegalArgumentException("the baseline has " + numParams() + " parameters, but the vector has "
                    + flat.length());
        }
        if (network != null) {
            network.params().assign(flat);
            return;
        }
        if (graphs.size() == 1) {
            graphs.get(0).setParams(flat);
            return;
        }
        INDArray vector = flat.reshape(flat.length());
        long offset = 0;
        for (ComputationGraph g : graphs) {
            long n = g.numParams();
            g.setParams(vector.get(NDArrayIndex.interval(offset, offset + n)).reshape(1, n));
            offset += n;
        }
    }

    /**
     * Every parameter array of the baseline under its mtl4j name (see the class comment); the arrays are the
     * graphs' own views.
     */
    public Map<String, INDArray> paramTable() {
        if (joint) {
            return graphs.get(0).paramTable();
        }
        Map<String, INDArray> table = new LinkedHashMap<>();
        for (int t = 0; t < graphs.size(); t++) {
            for (Map.Entry<String, INDArray> e : graphs.get(t).paramTable().entrySet()) {
                table.put(mtlName(t, e.getKey()), e.getValue());
            }
        }
        return table;
    }

    /**
     * Gives the baseline the mtl4j network's initial parameters: the whole flat vector for a joint baseline
     * (same layers in the same order), else each task graph its column's trunk and its task's head.
     *
     * @throws IllegalStateException when the network lacks a parameter the baseline has, or has it in another shape
     */
    public void copyParameters(String caseName, MultiTaskNetwork net) {
        if (network != null) {
            network.params().assign(net.params());
            return;
        }
        if (joint) {
            graphs.get(0).setParams(net.params().dup());
            return;
        }
        Map<String, INDArray> source = net.graph().paramTable();
        for (Map.Entry<String, INDArray> e : paramTable().entrySet()) {
            INDArray from = source.get(e.getKey());
            if (from == null || !Arrays.equals(from.shape(), e.getValue().shape())) {
                throw new IllegalStateException("case " + caseName + ": the baseline's parameter " + e.getKey() + " "
                        + Arrays.toString(e.getValue().shape()) + " has " + (from == null ? "no counterpart"
                        : "shape " + Arrays.toString(from.shape())) + " in mtl4j");
            }
            e.getValue().assign(from);
        }
    }

    /**
     * Checks that the baseline has the mtl4j network's parameters, array by array (names, shapes and values).
     * A joint baseline must have exactly the network's parameters; per-task baselines must have every column
     * and head parameter, and the network may have only mixing parameters besides (cross-stitch or sluice units).
     *
     * @throws IllegalStateException naming the first difference
     */
    public void checkSameParameters(String caseName, MultiTaskNetwork net) {
        Map<String, INDArray> mtl = net.graph().paramTable();
        Map<String, INDArray> plain = paramTable();
        boolean sameNames = joint ? net.graph().numParams() == numParams() && mtl.keySet().equals(plain.keySet())
                : mtl.keySet().containsAll(plain.keySet());
        if (!sameNames) {
            throw new IllegalStateException("case " + caseName + ": mtl4j has " + net.graph().numParams() + " parameters "
                    + new TreeSet<>(mtl.keySet()) + ", the baseline has " + numParams() + " " + new TreeSet<>(plain.keySet()));
        }
        List<String> unmatched = new ArrayList<>();
        for (String name : mtl.keySet()) {
            if (!plain.containsKey(name) && (name.startsWith("col") || name.startsWith("head_"))) {
                unmatched.add(name);
            }
        }
        if (!unmatched.isEmpty()) {
            throw new IllegalStateException("case " + caseName + ": mtl4j parameters " + unmatched
                    + " have no counterpart in the baseline graphs");
        }
        for (Map.Entry<String, INDArray> e : plain.entrySet()) {
            INDArray other = mtl.get(e.getKey());
            if (!Arrays.equals(e.getValue().shape(), other.shape())) {
                throw new IllegalStateException("case " + caseName + ": parameter " + e.getKey() + " has shape "
                        + Arrays.toString(other.shape()) + " in mtl4j but " + Arrays.toString(e.getValue().shape())
                        + " in the baseline");
            }
            if (!e.getValue().equals(other)) {
                throw new IllegalStateException("case " + caseName + ": parameter " + e.getKey() + " differs after "
                        + (joint ? "setParams (the flat parameter order of the two graphs differs)" : "copying"));
            }
        }
    }

    private static String mtlName(int task, String name) {
        Matcher m = TRUNK_PARAM.matcher(name);
        return m.matches() ? Columns.layerName(task, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)))
                + "_" + m.group(3) : name;
    }
}
