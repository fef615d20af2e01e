package org.mtl4j.core.graph;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.mtl4j.core.Head;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.nd4j.linalg.activations.Activation;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Assembles the one DL4J {@link ComputationGraphConfiguration} of a multi-task network: the encoder the
 * sharing strategy builds from the trunk, then each task's head (its hidden layers and an identity
 * projection to its output width). Head outputs are plain layers, not DL4J output layers: the training
 * step computes the task losses itself and back-propagates them as external errors.
 *
 * @param configuration the graph configuration (one input, one output per task, in task order)
 * @param outputNames     the vertex name of each task's output, in task order
 * @param representations the vertex name of each task's representation (its head's input), in task order
 * @param sequence        whether each task predicts one output per time step ({@code [mb, nOut, time]})
 */
public record NetworkGraph(ComputationGraphConfiguration configuration, List<String> outputNames,
                           List<String> representations, boolean[] sequence) {

    /** The name of the network's input vertex. */
    public static final String INPUT = "input";

    /**
     * The vertex name of a task's output projection.
     *
     * @param task the task's name
     * @return {@code head_<task>_out}
     */
    public static String outputName(String task) {
        return "head_" + task + "_out";
    }

    /**
     * Builds the graph configuration.
     *
     * @param global  the global DL4J settings (updater, seed, weight init, data type, regularisation)
     * @param trunk   the shared layers, stage by stage
     * @param tasks   the tasks, in task order; each task's stage must exist in the trunk
     * @param sharing the sharing strategy, which builds the encoder from the trunk
     * @return the configuration with its output and representation names and each task's output kind
     * @throws IllegalArgumentException when a task reads a trunk stage the trunk does not have
     */
    public static NetworkGraph assemble(NeuralNetConfiguration.Builder global, SharedTrunk trunk, List<Task> tasks,
                                        SharingStrategy sharing) {
        int stages = trunk.stages().size();
        for (Task task : tasks) {
            if (task.stage() >= stages) {
                throw new IllegalArgumentException("task \"" + task.name() + "\" reads trunk stage " + task.stage()
                        + ", but the trunk has " + stages + " stages (0.." + (stages - 1) + ")");
            }
        }
        GraphBuilder graph = global.graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(trunk.inputType());
        List<String> representations = sharing.addEncoder(graph, INPUT, trunk, tasks);
        if (representations == null || representations.size() != tasks.size()) {
            throw new IllegalStateException(sharing + " returned " + (representations == null ? "no" : representations.size())
                    + " representations for " + tasks.size() + " tasks");
        }
        Map<String, InputType> types;
        try {
            graph.allowNoOutput(true);
            types = graph.getLayerActivationTypes();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the shared trunk does not fit its input type " + trunk.inputType() + ": "
                    + rootMessage(e), e);
        } finally {
            graph.allowNoOutput(false);
        }

        List<String> outputs = new ArrayList<>();
        boolean[] sequence = new boolean[tasks.size()];
        Set<String> vertexNames = new HashSet<>(types.keySet());
        for (int t = 0; t < tasks.size(); t++) {
            Task task = tasks.get(t);
            String rep = representations.get(t);
            InputType type = types.get(rep);
            if (type == null) {
                throw new IllegalStateException(sharing + " named representation vertex \"" + rep + "\" for task \""
                        + task.name() + "\", but the graph has no such vertex");
            }
            String previous = rep;
            if (task.head().readout() == Head.Readout.LAST_TIME_STEP) {
                if (type.getType() != InputType.Type.RNN) {
                    throw new IllegalArgumentException("task \"" + task.name() + "\": its head reads the last time step,"
                            + " but the representation is not recurrent: " + type);
                }
                String last = "head_" + task.name() + "_last";
                graph.addVertex(last, new LastTimeStepVertex(INPUT), previous);
                previous = last;
                type = InputType.feedForward(((InputType.InputTypeRecurrent) type).getSize());
            }
            List<Layer> layers = new ArrayList<>(task.head().layers());
            layers.add(new DenseLayer.Builder().nOut(task.nOut()).activation(Activation.IDENTITY).build());
            for (int i = 0; i < layers.size(); i++) {
                boolean projection = i == layers.size() - 1;
                String what = projection ? "output projection" : "head layer " + i;
                Layer layer = layers.get(i).clone();
                if (type.getType() == InputType.Type.RNN && layer instanceof FeedForwardLayer) {
                    layer = new PerTimeStep(layer, RNNFormat.NCW);
                }
                type = outputType(task, what, layer, type);
                String name = projection ? outputName(task.name()) : "head_" + task.name() + "_" + i;
                if (!vertexNames.add(name)) {
                    throw new IllegalStateException("task \"" + task.name() + "\": vertex name \"" + name + "\" is taken");
                }
                graph.addLayer(name, layer, previous);
                previous = name;
            }
            sequence[t] = type.getType() == InputType.Type.RNN;
            outputs.add(previous);
        }
        graph.setOutputs(outputs.toArray(new String[0]));
        ComputationGraphConfiguration conf = graph.build();
        // Training keeps DL4J's workspaces: MultiTaskGraph.trainingPass runs the step inside them, as fit() does.
        for (boolean perStep : sequence) {
            if (perStep) {
                // a TimeDistributed layer as a graph output fails inference with workspaces ("... for array type
                // INPUT is not open": DL4J opens no INPUT workspace for output layers); and training with
                // workspaces while inference has none leaves the activations workspace current after backprop
                // (backprop's workspaces follow the inference mode), so such networks run without workspaces
                conf.setInferenceWorkspaceMode(WorkspaceMode.NONE);
                conf.setTrainingWorkspaceMode(WorkspaceMode.NONE);
            }
        }
        return new NetworkGraph(conf, List.copyOf(outputs), List.copyOf(representations), sequence);
    }

    private static InputType outputType(Task task, String what, Layer layer, InputType in) {
        try {
            InputPreProcessor pre = layer.getPreProcessorForInputType(in);
            InputType layerIn = pre == null ? in : pre.getOutputType(in);
            Layer inner = layer instanceof TimeDistributed td ? td.getUnderlying() : layer;
            if (inner instanceof FeedForwardLayer ff && ff.getNIn() > 0) {
                long size = featureSize(layerIn);
                if (size > 0 && size != ff.getNIn()) {
                    throw new IllegalArgumentException("task \"" + task.name() + "\": " + what + " ("
                            + inner.getClass().getSimpleName() + ") declares nIn=" + ff.getNIn()
                            + ", but its input has " + size + " features (" + layerIn + "); leave nIn unset to infer it");
                }
            }
            return layer.getOutputType(-1, layerIn);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("task \"" + task.name() + "\": " + what + " ("
                    + layer.getClass().getSimpleName() + ") cannot read input of type " + in + ": " + rootMessage(e), e);
        }
    }

    private static long featureSize(InputType type) {
        if (type instanceof InputType.InputTypeFeedForward ff) {
            return ff.getSize();
        }
        if (type instanceof InputType.InputTypeRecurrent r) {
            return r.getSize();
        }
        return -1;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
