package org.mtl4j.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskKind;
import org.mtl4j.core.accel.Acceleration;
import org.mtl4j.core.graph.NetworkGraph;
import org.mtl4j.sharing.Columns;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One side-by-side case: an mtl4j network and its plain DL4J twin ({@link Baseline}), built from the same
 * layers and global settings (Adam(1e-3), Xavier, FLOAT) and started from the same initial parameters.
 *
 * <ul>
 *   <li>{@link #hard}: hard sharing with equal task weights, against one graph wired by hand with the same
 *       layers, one {@link OutputLayer} per task (the task's own activation and loss) and the same vertex
 *       names ({@code trunk_<stage>_<layer>}, {@code head_<task>_last}, {@code head_<task>_out}), so that
 *       {@code baseline.setParams(net.params().dup())} starts both sides from identical parameters.</li>
 *   <li>{@link #columns}: a multi-column strategy (cross-stitch, soft sharing, sluice) with equal task
 *       weights, against one such single-task graph per task, trained in turn on each minibatch: the cost
 *       floor of {@code T} columns. Graph {@code t} starts from column {@code t}'s trunk and task {@code t}'s
 *       head; the mixing units (and the soft-sharing penalty) have no counterpart.</li>
 * </ul>
 *
 * <ul>
 *   <li>{@link #combinator}: hard sharing with a loss combinator (uncertainty, DWA, MGDA-UB, PCGrad, ...),
 *       against the same mtl4j network with fixed equal weights: the combinator's own cost, per-task gradients
 *       included.</li>
 * </ul>
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
    private final Supplier<SharingStrategy> sharing;
    private final boolean perTaskBaseline;
    private final OptionalDouble budgetS;
    private final Supplier<LossCombinator> losses;

    private BenchCase(String name, String description, int batchSize, int timeSteps, Supplier<SharedTrunk> trunk,
                      List<Task> tasks, Supplier<SharingStrategy> sharing, boolean perTaskBaseline,
                      OptionalDouble budgetS, Supplier<LossCombinator> losses) {
        this.name = Objects.requireNonNull(name, "name");
        this.description = Objects.requireNonNull(description, "description");
        this.batchSize = batchSize;
        this.timeSteps = timeSteps;
        this.trunk = Objects.requireNonNull(trunk, "trunk");
        this.tasks = List.copyOf(tasks);
        this.sharing = Objects.requireNonNull(sharing, "sharing");
        this.perTaskBaseline = perTaskBaseline;
        this.budgetS = Objects.requireNonNull(budgetS, "budgetS");
        this.losses = losses;
        for (Task t : this.tasks) {
            if (!t.head().layers().isEmpty()) {
                throw new IllegalArgumentException("case " + name + ", task \"" + t.name()
                        + "\": the baseline wiring supports linear heads only, got " + t.head());
            }
        }
        if (budgetS.isPresent() && !(budgetS.getAsDouble() > 0)) {
            throw new IllegalArgumentException("case " + name + ": the budget must be > 0 s, got " + budgetS.getAsDouble());
        }
    }

    /**
     * A hard-sharing case against one joint DL4J graph.
     *
     * @param name        the case name used on the command line and in the report
     * @param description one line saying what the case is
     * @param batchSize   examples per minibatch
     * @param timeSteps   time steps of recurrent features (ignored for other input types)
     * @param trunk       makes a fresh trunk (fresh layer configurations) for each build
     * @param tasks       the tasks, in order; their heads must be linear
     */
    public static BenchCase hard(String name, String description, int batchSize, int timeSteps,
                                 Supplier<SharedTrunk> trunk, List<Task> tasks) {
        return new BenchCase(name, description, batchSize, timeSteps, trunk, tasks, HardSharing::new, false,
                OptionalDouble.empty(), null);
    }

    /**
     * A multi-column case against one single-task DL4J graph per task.
     *
     * @param name        the case name used on the command line and in the report
     * @param description one line saying what the case is
     * @param batchSize   examples per minibatch
     * @param trunk       makes a fresh trunk (fresh layer configurations) for each build; not recurrent
     * @param tasks       the tasks, in order; their heads must be linear
     * @param sharing     makes the strategy for each build (its encoder must name the column layers as
     *                    {@link Columns#layerName} does)
     * @param budgetS     the case's wall-time budget in seconds when none is given on the command line (the
     *                    smaller of it and the settings' default applies)
     */
    public static BenchCase columns(String name, String description, int batchSize, Supplier<SharedTrunk> trunk,
                                    List<Task> tasks, Supplier<SharingStrategy> sharing, double budgetS) {
        return new BenchCase(name, description, batchSize, 0, trunk, tasks, sharing, true, OptionalDouble.of(budgetS),
                null);
    }

    /**
     * A hard-sharing case with a loss combinator against the same mtl4j network with fixed equal weights.
     *
     * @param losses  makes the combinator for each build
     * @param budgetS the case's wall-time budget in seconds when none is given on the command line
     */
    public static BenchCase combinator(String name, String description, int batchSize, Supplier<SharedTrunk> trunk,
                                       List<Task> tasks, Supplier<LossCombinator> losses, double budgetS) {
        return new BenchCase(name, description, batchSize, 0, trunk, tasks, HardSharing::new, false,
                OptionalDouble.of(budgetS), Objects.requireNonNull(losses, "losses"));
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

    /** Whether the baseline is one single-task graph per task (else one graph with an output per task). */
    public boolean perTaskBaseline() {
        return perTaskBaseline;
    }

    /** The case's own wall-time budget, used when none is given on the command line (see {@link BenchArgs}). */
    public OptionalDouble budgetS() {
        return budgetS;
    }

    /**
     * Builds the mtl4j side: the case's sharing and combinator (equal weights unless a combinator case), Adam(1e-3),
     * FLOAT, seeded Xavier initialisation.
     */
    public MultiTaskNetwork buildMtl(long seed) {
        return build(seed, losses == null ? FixedWeights.equal() : losses.get());
    }

    private MultiTaskNetwork build(long seed, LossCombinator combinator) {
        return MultiTaskNetwork.builder()
                .trunk(trunk.get())
                .tasks(tasks.toArray(new Task[0]))
                .sharing(sharing.get())
                .losses(combinator)
                .updater(new Adam(LEARNING_RATE))
                .weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT)
                .seed(seed)
                .build();
    }

    /**
     * Builds the baseline side: one plain DL4J graph for all tasks, or one per task, or (for a combinator case)
     * the mtl4j network with fixed equal weights, with seeded initial parameters.
     */
    public Baseline buildBaseline(long seed) {
        if (losses != null) {
            return Baseline.fixedWeights(build(seed, FixedWeights.equal()));
        }
        if (!perTaskBaseline) {
            return Baseline.joint(graph(tasks, seed));
        }
        List<ComputationGraph> graphs = new ArrayList<>();
        for (Task task : tasks) {
            graphs.add(graph(List.of(task), seed));
        }
        return Baseline.perTask(graphs);
    }

    /** The baseline's initial parameters matching {@code net}'s ({@link Baseline#params()} layout), a copy. */
    public INDArray baselineParams(long seed, MultiTaskNetwork net) {
        Baseline baseline = buildBaseline(seed);
        baseline.copyParameters(name, net);
        return baseline.params().dup();
    }

    /** Builds the mtl4j side from the given initial parameters and returns its training step. */
    public Consumer<MultiDataSet> mtlStep(long seed, INDArray initial) {
        MultiTaskNetwork net = buildMtl(seed);
        net.params().assign(initial);
        return net::fit;
    }

    /** Builds the baseline side from the given initial parameters ({@link #baselineParams}) and returns its step. */
    public Consumer<MultiDataSet> baselineStep(long seed, INDArray initial) {
        Baseline baseline = buildBaseline(seed);
        baseline.setParams(initial.dup());
        return baseline::fit;
    }

    /**
     * Checks that both sides have the same parameters, array by array (names, shapes and, after
     * {@link Baseline#copyParameters}, values), so the timings compare the same model.
     *
     * @throws IllegalStateException naming the first difference
     */
    public void checkSameParameters(MultiTaskNetwork net, Baseline baseline) {
        baseline.checkSameParameters(name, net);
    }

    /** A plain DL4J graph of the trunk and one output layer per task in {@code outputs}. */
    private ComputationGraph graph(List<Task> outputs, long seed) {
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
        String[] names = new String[outputs.size()];
        for (int i = 0; i < outputs.size(); i++) {
            Task task = outputs.get(i);
            String from = previous;
            if (task.head().readout() == Head.Readout.LAST_TIME_STEP) {
                from = "head_" + task.name() + "_last";
                graph.addVertex(from, new LastTimeStepVertex(NetworkGraph.INPUT), previous);
            }
            names[i] = NetworkGraph.outputName(task.name());
            graph.addLayer(names[i], new OutputLayer.Builder(task.loss()).activation(task.activation())
                    .nOut(task.nOut()).build(), from);
        }
        ComputationGraph baseline = new ComputationGraph(graph.setOutputs(names).build());
        baseline.init();
        // the same native layer implementations as the mtl4j side, which installs them in init()
        Acceleration.install(baseline);
        return baseline;
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
