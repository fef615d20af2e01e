package org.mtl4j.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskKind;
import org.mtl4j.core.graph.NetworkGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One side-by-side case: an mtl4j network under hard sharing with equal task weights, and its twin, a plain
 * DL4J {@link ComputationGraph} wired by hand with the same layers, one {@link OutputLayer} per task (the
 * task's own activation and loss), the same vertex names ({@code trunk_<stage>_<layer>},
 * {@code head_<task>_last}, {@code head_<task>_out}) and the same global settings (Adam(1e-3), Xavier,
 * FLOAT), so that {@code baseline.setParams(net.params().dup())} starts both from identical parameters.
 *
 * <p>Heads are linear ({@code Head.linear()}, or {@code Head.linear().lastTimeStep()} on a recurrent trunk);
 * every task predicts one output per example.
 */
public final class BenchCase {

    /** The learning rate of both sides' Adam updater. */
    public static final double LEARNING_RATE = 1e-3;

    private final String name;
    private final String description;
    private final int batchSize;
    private final int timeSteps;
    private final Supplier<SharedTrunk> trunk;
    private final List<Task> tasks;

    /**
     * @param name        the case name used on the command line and in the report
     * @param description one line saying what the case is
     * @param batchSize   examples per minibatch
     * @param timeSteps   time steps of recurrent features (ignored for other input types)
     * @param trunk       makes a fresh trunk (fresh layer configurations) for each build
     * @param tasks       the tasks, in order; their heads must be linear
     */
    public BenchCase(String name, String description, int batchSize, int timeSteps, Supplier<SharedTrunk> trunk,
                     List<Task> tasks) {
        this.name = Objects.requireNonNull(name, "name");
        this.description = Objects.requireNonNull(description, "description");
        this.batchSize = batchSize;
        this.timeSteps = timeSteps;
        this.trunk = Objects.requireNonNull(trunk, "trunk");
        this.tasks = List.copyOf(tasks);
        for (Task t : this.tasks) {
            if (!t.head().layers().isEmpty()) {
                throw new IllegalArgumentException("case " + name + ", task \"" + t.name()
                        + "\": the baseline wiring supports linear heads only, got " + t.head());
            }
        }
    }

    /** The case name. */
    public String name() {
        return name;
    }

    /** What the case is, in one line. */
    public String description() {
        return description;
    }

    /** Examples per minibatch. */
    public int batchSize() {
        return batchSize;
    }

    /** The tasks, in order. */
    public List<Task> tasks() {
        return tasks;
    }

    /** Builds the mtl4j side: hard sharing, equal weights, Adam(1e-3), FLOAT, seeded Xavier initialisation. */
    public MultiTaskNetwork buildMtl(long seed) {
        return MultiTaskNetwork.builder()
                .trunk(trunk.get())
                .tasks(tasks.toArray(new Task[0]))
                .updater(new Adam(LEARNING_RATE))
                .weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT)
                .seed(seed)
                .build();
    }

    /** Builds the plain DL4J side with the same layers and vertex names, and one output layer per task. */
    public ComputationGraph buildBaseline(long seed) {
        SharedTrunk t = trunk.get();
        GraphBuilder graph = new NeuralNetConfiguration.Builder()
                .updater(new Adam(LEARNING_RATE))
                .weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT)
                .seed(seed)
                .graphBuilder()
                .addInputs(NetworkGraph.INPUT)
                .setInputTypes(t.inputType());
        String previous = NetworkGraph.INPUT;
        List<List<Layer>> stages = t.stages();
        for (int s = 0; s < stages.size(); s++) {
            for (int l = 0; l < stages.get(s).size(); l++) {
                String vertex = "trunk_" + s + "_" + l;
                graph.addLayer(vertex, stages.get(s).get(l).clone(), previous);
                previous = vertex;
            }
        }
        String[] outputs = new String[tasks.size()];
        for (int i = 0; i < tasks.size(); i++) {
            Task task = tasks.get(i);
            String from = previous;
            if (task.head().readout() == Head.Readout.LAST_TIME_STEP) {
                from = "head_" + task.name() + "_last";
                graph.addVertex(from, new LastTimeStepVertex(NetworkGraph.INPUT), previous);
            }
            outputs[i] = NetworkGraph.outputName(task.name());
            graph.addLayer(outputs[i], new OutputLayer.Builder(task.loss()).activation(task.activation())
                    .nOut(task.nOut()).build(), from);
        }
        ComputationGraph baseline = new ComputationGraph(graph.setOutputs(outputs).build());
        baseline.init();
        return baseline;
    }

    /** Builds the mtl4j side from the given initial parameters and returns its training step. */
    public Consumer<MultiDataSet> mtlStep(long seed, INDArray initial) {
        MultiTaskNetwork net = buildMtl(seed);
        net.params().assign(initial);
        return net::fit;
    }

    /** Builds the baseline side from the given initial parameters and returns its training step. */
    public Consumer<MultiDataSet> baselineStep(long seed, INDArray initial) {
        ComputationGraph graph = buildBaseline(seed);
        graph.setParams(initial.dup());
        return graph::fit;
    }

    /**
     * Checks that both sides have the same parameters, array by array (names, shapes and, after
     * {@code setParams}, values), so the timings compare the same model.
     *
     * @throws IllegalStateException naming the first difference
     */
    public void checkSameParameters(MultiTaskNetwork net, ComputationGraph baseline) {
        long mtl = net.graph().numParams();
        long plain = baseline.numParams();
        Map<String, INDArray> a = net.graph().paramTable();
        Map<String, INDArray> b = baseline.paramTable();
        if (mtl != plain || !a.keySet().equals(b.keySet())) {
            throw new IllegalStateException("case " + name + ": mtl4j has " + mtl + " parameters " + new TreeSet<>(a.keySet())
                    + ", the baseline has " + plain + " " + new TreeSet<>(b.keySet()));
        }
        for (Map.Entry<String, INDArray> e : a.entrySet()) {
            INDArray other = b.get(e.getKey());
            if (!Arrays.equals(e.getValue().shape(), other.shape())) {
                throw new IllegalStateException("case " + name + ": parameter " + e.getKey() + " has shape "
                        + Arrays.toString(e.getValue().shape()) + " in mtl4j but " + Arrays.toString(other.shape())
                        + " in the baseline");
            }
            if (!e.getValue().equals(other)) {
                throw new IllegalStateException("case " + name + ": parameter " + e.getKey()
                        + " differs after setParams (the flat parameter order of the two graphs differs)");
            }
        }
    }

    /**
     * Makes {@code count} random minibatches: Gaussian features, one-hot labels for classification
     * tasks, Gaussian targets for regression tasks, no masks.
     */
    public List<MultiDataSet> batches(int count, long seed) {
        Random rng = new Random(seed);
        InputType type = trunk.get().inputType();
        List<MultiDataSet> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            INDArray features = gaussian(rng, featureShape(type));
            INDArray[] labels = new INDArray[tasks.size()];
            for (int t = 0; t < tasks.size(); t++) {
                Task task = tasks.get(t);
                labels[t] = task.kind() == TaskKind.CLASSIFICATION ? oneHot(rng, task.nOut())
                        : gaussian(rng, new long[]{batchSize, task.nOut()});
            }
            out.add(new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[]{features}, labels));
        }
        return out;
    }

    private long[] featureShape(InputType type) {
        if (type instanceof InputType.InputTypeFeedForward ff) {
            return new long[]{batchSize, ff.getSize()};
        }
        if (type instanceof InputType.InputTypeRecurrent r) {
            return new long[]{batchSize, r.getSize(), timeSteps};
        }
        if (type instanceof InputType.InputTypeConvolutional c) {
            return new long[]{batchSize, c.getChannels(), c.getHeight(), c.getWidth()};
        }
        throw new IllegalArgumentException("case " + name + ": no random features for input type " + type);
    }

    private static INDArray gaussian(Random rng, long[] shape) {
        float[] values = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, (x, y) -> x * y))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextGaussian();
        }
        return Nd4j.create(values, shape, 'c');
    }

    private INDArray oneHot(Random rng, int classes) {
        float[] values = new float[batchSize * classes];
        for (int i = 0; i < batchSize; i++) {
            values[i * classes + rng.nextInt(classes)] = 1f;
        }
        return Nd4j.create(values, new long[]{batchSize, classes}, 'c');
    }

    @Override
    public String toString() {
        return name + ": " + description;
    }
}
