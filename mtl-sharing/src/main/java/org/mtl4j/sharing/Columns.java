package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The encoder of multi-column strategies: one copy of the trunk per task ("column"), each with its own
 * parameters, with an optional mixing step after every stage. Column {@code c}'s layers are named
 * {@code col<c>_<stage>_<layer>}. A column ends at the stage its task reads ({@link Task#withStage}), so a
 * low-level task's column takes part in the mixing up to its own stage only.
 */
public final class Columns {

    /** What a strategy inserts after each stage of the columns. */
    @FunctionalInterface
    public interface StageMixer {
        /**
         * Adds mixing vertices after stage {@code stage}.
         *
         * @param graph   the graph being assembled
         * @param stage   the 0-based trunk stage just added
         * @param columns the columns that reach this stage, in increasing order
         * @param outputs the vertex name of each of those columns' stage output, in the same order
         * @param type    the activation type of a stage output (the same for every column)
         * @return the vertex each of those columns' next stage (or representation) reads, in the same order
         */
        List<String> mix(GraphBuilder graph, int stage, List<Integer> columns, List<String> outputs, InputType type);
    }

    /** A mixer that leaves the columns independent. */
    public static final StageMixer INDEPENDENT = (graph, stage, columns, outputs, type) -> outputs;

    private Columns() {
    }

    /**
     * The names of the tasks whose columns have a mixing unit at {@code stage}, in task order: those whose
     * unit vertex {@code unitName.apply(stage, column)} is in the network's graph.
     *
     * @param network  a network built with a multi-column strategy
     * @param stage    the 0-based trunk stage
     * @param unitName the strategy's unit naming, from stage and column to vertex name
     * @return the names of the tasks whose columns reach the stage
     */
    public static List<String> reaching(MultiTaskNetwork network, int stage, BiFunction<Integer, Integer, String> unitName) {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < network.tasks().size(); c++) {
            if (network.graph().getVertex(unitName.apply(stage, c)) != null) {
                names.add(network.tasks().get(c).name());
            }
        }
        return names;
    }

    /**
     * The vertex name of layer {@code layer} of stage {@code stage} in column {@code column}.
     *
     * @param column the column's index (its task's index in task order)
     * @param stage  the 0-based trunk stage
     * @param layer  the layer's 0-based index within the stage
     * @return {@code col<column>_<stage>_<layer>}
     */
    public static String layerName(int column, int stage, int layer) {
        return "col" + column + "_" + stage + "_" + layer;
    }

    /**
     * Adds one copy of the trunk per task reading {@code input}, each ending at the stage its task reads,
     * calling {@code mixer} after each stage with the columns that reach it.
     *
     * @param graph the graph being assembled
     * @param input the name of the vertex every column reads
     * @param trunk the layers each column copies, stage by stage
     * @param tasks the tasks, one column each, in task order
     * @param mixer what to insert after each stage ({@link #INDEPENDENT} for nothing)
     * @return per column, per stage it reaches, the vertex holding that stage's (mixed) output
     */
    public static List<List<String>> add(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks,
                                         StageMixer mixer) {
        List<List<Layer>> stages = trunk.stages();
        List<List<String>> stageOutputs = new ArrayList<>();
        List<String> previous = new ArrayList<>();
        for (int c = 0; c < tasks.size(); c++) {
            stageOutputs.add(new ArrayList<>());
            previous.add(input);
        }
        for (int s = 0; s < stages.size(); s++) {
            List<Integer> active = new ArrayList<>();
            List<String> outputs = new ArrayList<>();
            for (int c = 0; c < tasks.size(); c++) {
                if (tasks.get(c).stageIn(stages.size()) < s) {
                    continue;
                }
                String prev = previous.get(c);
                List<Layer> stage = stages.get(s);
                for (int l = 0; l < stage.size(); l++) {
                    String name = layerName(c, s, l);
                    graph.addLayer(name, stage.get(l).clone(), prev);
                    prev = name;
                }
                active.add(c);
                outputs.add(prev);
            }
            List<String> mixed = mixer == INDEPENDENT ? outputs
                    : mixer.mix(graph, s, List.copyOf(active), List.copyOf(outputs), typeOf(graph, outputs.get(0)));
            if (mixed.size() != active.size()) {
                throw new IllegalStateException("the stage mixer returned " + mixed.size() + " outputs for "
                        + active.size() + " columns");
            }
            for (int i = 0; i < active.size(); i++) {
                previous.set(active.get(i), mixed.get(i));
                stageOutputs.get(active.get(i)).add(mixed.get(i));
            }
        }
        return stageOutputs;
    }

    /**
     * Each task's representation: the last output of its own column (the stage the task reads).
     *
     * @param stageOutputs per column, per stage it reaches, the vertex of that stage's output, as {@link #add} returns
     * @return per column, the vertex name of its last output
     */
    public static List<String> representations(List<List<String>> stageOutputs) {
        List<String> out = new ArrayList<>();
        for (List<String> column : stageOutputs) {
            out.add(column.get(column.size() - 1));
        }
        return out;
    }

    /**
     * The activation type of a vertex already in the graph (the graph's input types must be set).
     *
     * @param graph  the graph being assembled
     * @param vertex the vertex's name
     * @return the vertex's output type
     * @throws IllegalStateException if the graph has no such vertex
     */
    public static InputType typeOf(GraphBuilder graph, String vertex) {
        boolean allowed = graph.isAllowNoOutput();
        try {
            graph.allowNoOutput(true);
            InputType type = graph.getLayerActivationTypes().get(vertex);
            if (type == null) {
                throw new IllegalStateException("no vertex \"" + vertex + "\" in the graph");
            }
            return type;
        } finally {
            graph.allowNoOutput(allowed);
        }
    }
}
