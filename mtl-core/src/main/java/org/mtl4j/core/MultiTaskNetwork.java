package org.mtl4j.core;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.TimeSeriesUtils;
import org.mtl4j.core.graph.MultiTaskGraph;
import org.mtl4j.core.graph.NetworkGraph;
import org.mtl4j.core.io.ModelFile;
import org.mtl4j.core.train.BatchValidator;
import org.mtl4j.core.train.MaskedTaskLoss;
import org.mtl4j.core.train.TrainingStep;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A multi-task network: a {@link SharedTrunk} shared by several {@link Task}s through a
 * {@link SharingStrategy}, trained on the per-task losses combined by a {@link LossCombinator}.
 *
 * <pre>{@code
 * MultiTaskNetwork net = MultiTaskNetwork.builder()
 *         .trunk(trunk)
 *         .task(Task.classification("segment", 3))
 *         .task(Task.regression("spend"))
 *         .updater(new Adam(1e-3))
 *         .build();
 * net.fit(trainIterator, 10);
 * TaskEvaluations eval = net.evaluate(testIterator);
 * Map<String, INDArray> predictions = net.output(features);
 * }</pre>
 *
 * <p>Underneath is one DL4J {@link ComputationGraph} ({@link #graph()}): the encoder, then each task's
 * head, one graph output per task in task order. Task {@code t} reads {@code labels[t]} of each
 * {@code MultiDataSet} (or the index set with {@link Task#withLabelsIndex(int)}), and
 * {@code labelsMask[t]} marks which examples carry a label for it.
 *
 * <p>Not thread-safe: train and predict from one thread at a time.
 */
public final class MultiTaskNetwork {

    private static final Logger log = LoggerFactory.getLogger(MultiTaskNetwork.class);

    private final InputType inputType;
    private final List<Task> tasks;
    private final SharingStrategy sharing;
    private final LossCombinator combinator;
    private final IUpdater updater;
    private final MultiTaskGraph graph;
    private final List<String> outputs;
    private final List<String> representations;
    private final boolean[] sequence;
    private final int[] labelsIndex;
    private final BatchValidator validator;
    private final TrainingStep step;
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();

    /**
     * Assembles a network from an initialised graph; used by the builder and by {@link ModelFile}.
     * The combinator must already be initialised for {@code tasks}; {@code updater} is the network's updater
     * configuration.
     *
     * @param inputType       the type of the features the trunk reads
     * @param tasks           the tasks, in graph-output order (copied)
     * @param sharing         the sharing strategy the graph was assembled with
     * @param combinator      the loss combinator, already initialised for {@code tasks}
     * @param updater         the network's updater configuration
     * @param graph           the initialised graph: the trunk, then one output per task in task order
     * @param outputs         the vertex names of the tasks' output projections, in task order
     * @param representations the vertex names of the tasks' representations (each head's input), in task order
     * @param sequence        whether each task predicts one output per time step, in task order
     * @throws IllegalArgumentException if {@code outputs}, {@code representations} or {@code sequence} does not
     *                                  have one entry per task
     */
    public MultiTaskNetwork(InputType inputType, List<Task> tasks, SharingStrategy sharing, LossCombinator combinator,
                            IUpdater updater, MultiTaskGraph graph, List<String> outputs, List<String> representations,
                            boolean[] sequence) {
        this.inputType = Objects.requireNonNull(inputType, "inputType");
        this.tasks = List.copyOf(tasks);
        this.sharing = Objects.requireNonNull(sharing, "sharing");
        this.combinator = Objects.requireNonNull(combinator, "combinator");
        this.updater = Objects.requireNonNull(updater, "updater");
        this.graph = Objects.requireNonNull(graph, "graph");
        this.outputs = List.copyOf(outputs);
        this.representations = List.copyOf(representations);
        this.sequence = sequence.clone();
        if (this.outputs.size() != this.tasks.size() || this.representations.size() != this.tasks.size()
                || sequence.length != this.tasks.size()) {
            throw new IllegalArgumentException(tasks.size() + " tasks but " + outputs.size() + " outputs, "
                    + representations.size() + " representations and " + sequence.length + " output kinds");
        }
        this.labelsIndex = new int[this.tasks.size()];
        for (int t = 0; t < labelsIndex.length; t++) {
            labelsIndex[t] = this.tasks.get(t).labelsIndex() >= 0 ? this.tasks.get(t).labelsIndex() : t;
        }
        this.validator = new BatchValidator(inputType, this.tasks, labelsIndex, this.sequence);
        this.step = new TrainingStep(graph, this.tasks, this.outputs, this.representations, sharing, combinator,
                validator);
    }

    /**
     * Starts building a network.
     *
     * @return a builder with hard sharing, equal fixed weights and {@code Adam(1e-3)} until set otherwise
     */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- training

    /**
     * Trains on one minibatch (one parameter update) and tells the listeners.
     *
     * @param data one minibatch: the features, then {@code labels[t]} (and optionally {@code labelsMask[t]}) per task
     * @return what the step did: the per-task losses, the weights applied, the sharing penalty and the minibatch size
     */
    public StepResult fit(MultiDataSet data) {
        StepResult result = step.fit(data);
        for (TrainingListener l : listeners) {
            l.onStep(this, result);
        }
        return result;
    }

    /**
     * Trains for one epoch over {@code iterator}; returns its record.
     *
     * @param iterator the training minibatches (reset first when it can be)
     * @return the history of this one epoch: its training losses, weights and learned values
     */
    public TrainingHistory fit(MultiDataSetIterator iterator) {
        return fit(iterator, 1);
    }

    /**
     * Trains for {@code epochs} epochs over {@code iterator}, resetting it before each epoch (it must support
     * reset when {@code epochs > 1}). The epoch count advances after each epoch. For validation, early
     * stopping and checkpoints use a {@link Trainer}; this is {@code Trainer.builder().epochs(epochs)}.
     *
     * @param iterator the training minibatches
     * @param epochs   the number of passes over {@code iterator}, at least 1
     * @return the per-epoch training losses, weights and learned values
     * @throws IllegalArgumentException if {@code epochs < 1}, or when a minibatch is refused: the message then
     *                                  starts with the epoch and the minibatch's index in it, both counted from 0
     *                                  ({@code "epoch 2, minibatch 5 (both counted from 0): task ..."}), and the
     *                                  step's exception is its cause; the minibatches before it stay applied
     */
    public TrainingHistory fit(MultiDataSetIterator iterator, int epochs) {
        Objects.requireNonNull(iterator, "iterator");
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        return Trainer.builder().epochs(epochs).build().fit(this, iterator).history();
    }

    /**
     * The gradient of the step objective {@code sum_t w_t L_t} w.r.t. {@link #params()} on one minibatch,
     * with its losses and weights, without updating anything (the combinator still sees the losses).
     * For gradient checks and analysis.
     *
     * @param data one minibatch, laid out as for {@link #fit(MultiDataSet)}
     * @return the flat gradient (in the layout of {@link #params()}), the per-task losses, the weights applied
     *         and the sharing penalty
     */
    public TrainingStep.GradientResult gradient(MultiDataSet data) {
        return step.gradient(data);
    }

    /**
     * Each task's loss on one minibatch in inference mode (no dropout), without training.
     *
     * @param data one minibatch, laid out as for {@link #fit(MultiDataSet)}
     * @return each task's mean loss over its labelled examples in {@code data}
     */
    public TaskLosses losses(MultiDataSet data) {
        return step.losses(data);
    }

    /**
     * The sharing strategy's penalty at the current parameters (0 for hard sharing); a penalty on
     * activations is the one of the last forward pass ({@link #losses}, {@link #output}, a step).
     *
     * @return the penalty term that the sharing strategy adds to the training objective
     */
    public double penalty() {
        return sharing.penalty(graph, null, 0);
    }

    // ---------------------------------------------------------------- inference

    /**
     * Each task's prediction (after its output activation), by task name in task order.
     *
     * @param features a minibatch of features of the network's {@link #inputType()}
     * @return each task's prediction, keyed by task name, in task order
     */
    public Map<String, INDArray> output(INDArray features) {
        return output(features, null);
    }

    /**
     * Each task's prediction for masked (variable-length) time-series features.
     *
     * @param features     a minibatch of features of the network's {@link #inputType()}
     * @param featuresMask the time-step mask {@code [mb, time]} (1 for a real step, 0 for padding), or {@code null}
     *                     when every step is real
     * @return each task's prediction (after its output activation), keyed by task name, in task order
     */
    public Map<String, INDArray> output(INDArray features, INDArray featuresMask) {
        INDArray[] masks = featuresMask == null ? null : new INDArray[]{featuresMask};
        validator.checkFeatures(new INDArray[]{features}, masks);
        INDArray[] raw = graph.output(false, new INDArray[]{features}, masks);
        Map<String, INDArray> predictions = new LinkedHashMap<>();
        for (int t = 0; t < tasks.size(); t++) {
            predictions.put(tasks.get(t).name(), activate(tasks.get(t), raw[t]));
        }
        return predictions;
    }

    /**
     * Evaluates the main tasks over {@code iterator} (reset first when it can be).
     *
     * @param iterator the evaluation minibatches
     * @return the evaluation and mean loss of each main task, as {@link #evaluate(MultiDataSetIterator, boolean)}
     */
    public TaskEvaluations evaluate(MultiDataSetIterator iterator) {
        return evaluate(iterator, false);
    }

    /**
     * Evaluates over {@code iterator}: DL4J's {@link Evaluation} for classification, {@link EvaluationBinary}
     * for multi-label and {@link RegressionEvaluation} for regression tasks, honouring the labels masks, and each
     * evaluated task's mean loss over its labelled examples ({@link TaskEvaluations#loss(String)}).
     *
     * @param iterator         the evaluation minibatches (reset first when it can be)
     * @param includeAuxiliary whether auxiliary tasks are evaluated too
     * @return each evaluated task's DL4J evaluation and mean loss, by task name
     */
    public TaskEvaluations evaluate(MultiDataSetIterator iterator, boolean includeAuxiliary) {
        Map<String, IEvaluation<?>> evaluations = new LinkedHashMap<>();
        for (Task task : tasks) {
            if (includeAuxiliary || task.role() == TaskRole.MAIN) {
                evaluations.put(task.name(), switch (task.kind()) {
                    case CLASSIFICATION -> new Evaluation(task.nOut());
                    case MULTI_LABEL -> new EvaluationBinary(task.nOut(), null);
                    case REGRESSION -> new RegressionEvaluation(task.nOut());
                });
            }
        }
        double[] lossSums = new double[tasks.size()];
        long[] labelled = new long[tasks.size()];
        if (iterator.resetSupported()) {
            iterator.reset();
        }
        while (iterator.hasNext()) {
            BatchValidator.Batch batch = validator.validate(iterator.next());
            INDArray[] masks = batch.featuresMask() == null ? null : new INDArray[]{batch.featuresMask()};
            INDArray[] raw = graph.output(false, new INDArray[]{batch.features()}, masks);
            for (int t = 0; t < tasks.size(); t++) {
                IEvaluation<?> e = evaluations.get(tasks.get(t).name());
                if (e == null) {
                    continue;
                }
                MaskedTaskLoss.Result loss = MaskedTaskLoss.score(tasks.get(t), batch.labels()[t], raw[t], batch.masks()[t]);
                lossSums[t] += loss.loss() * loss.labelled();
                labelled[t] += loss.labelled();
                INDArray prediction = activate(tasks.get(t), raw[t]);
                if (sequence[t]) {
                    e.evalTimeSeries(batch.labels()[t], prediction, batch.masks()[t]);
                } else {
                    e.eval(batch.labels()[t], prediction, batch.masks()[t]);
                }
            }
        }
        Map<String, Double> sums = new LinkedHashMap<>();
        Map<String, Long> counts = new LinkedHashMap<>();
        for (int t = 0; t < tasks.size(); t++) {
            if (evaluations.containsKey(tasks.get(t).name())) {
                sums.put(tasks.get(t).name(), lossSums[t]);
                counts.put(tasks.get(t).name(), labelled[t]);
            }
        }
        return new TaskEvaluations(evaluations, sums, counts);
    }

    /**
     * The task's output activation over its outputs (dimension 1), also for per-time-step outputs
     * {@code [mb, nOut, time]}, where ND4J's softmax would otherwise run over the last (time) dimension.
     */
    private static INDArray activate(Task task, INDArray raw) {
        if (raw.rank() != 3) {
            return task.activation().getActivation(raw, false);
        }
        // a copy: for one example the 2-d form is a permuted view, and ND4J's in-place softmax left a one-step
        // view unchanged (the raw projection came back as the prediction)
        INDArray flat = TimeSeriesUtils.reshape3dTo2d(raw).dup('c');
        return TimeSeriesUtils.reshape2dTo3d(task.activation().getActivation(flat, false), (int) raw.size(0));
    }

    // ---------------------------------------------------------------- persistence

    /**
     * Saves the whole network: configuration, parameters, updater state, combinator state, and iteration
     * and epoch counts, so that training resumed after {@link #load(File)} equals uninterrupted training.
     *
     * @param file the file to write (replaced if it exists)
     * @throws IOException if the file cannot be written
     */
    public void save(File file) throws IOException {
        ModelFile.save(this, file);
    }

    /**
     * Loads a network saved with {@link #save(File)}.
     *
     * @param file a file written by {@link #save(File)}
     * @return the network, ready to resume training where the saved one stopped
     * @throws IOException if the file cannot be read or is not a saved network
     */
    public static MultiTaskNetwork load(File file) throws IOException {
        return ModelFile.load(file);
    }

    // ---------------------------------------------------------------- listeners and access

    /**
     * Adds listeners that hear every step and epoch end.
     *
     * @param added the listeners to add, after those already registered (none may be {@code null})
     */
    public void addListeners(TrainingListener... added) {
        for (TrainingListener l : added) {
            listeners.add(Objects.requireNonNull(l, "listener"));
        }
    }

    /**
     * Replaces all listeners.
     *
     * @param replacement the listeners that replace the registered ones (none removes them all)
     */
    public void setListeners(TrainingListener... replacement) {
        listeners.clear();
        addListeners(replacement);
    }

    /**
     * The registered listeners.
     *
     * @return a copy of the registered listeners, in the order they were added
     */
    public List<TrainingListener> listeners() {
        return List.copyOf(listeners);
    }

    /**
     * The tasks, in order.
     *
     * @return the tasks in graph-output order (unmodifiable)
     */
    public List<Task> tasks() {
        return tasks;
    }

    /**
     * The task names, in order.
     *
     * @return the tasks' names in task order
     */
    public List<String> taskNames() {
        return tasks.stream().map(Task::name).toList();
    }

    /**
     * The task with the given name.
     *
     * @param name a task's name
     * @return the task called {@code name}
     * @throws IllegalArgumentException if no task has that name
     */
    public Task task(String name) {
        for (Task t : tasks) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("no task \"" + name + "\"; tasks are " + taskNames());
    }

    /**
     * The sharing strategy.
     *
     * @return the sharing strategy the network was built with
     */
    public SharingStrategy sharing() {
        return sharing;
    }

    /**
     * The loss combinator.
     *
     * @return the loss combinator, with its current state (loss history, learned weights)
     */
    public LossCombinator losses() {
        return combinator;
    }

    /**
     * The network's updater configuration (every layer's, unless a layer sets its own).
     *
     * @return the updater configuration the network was built with
     */
    public IUpdater updater() {
        return updater;
    }

    /**
     * The type of the features the trunk reads.
     *
     * @return the trunk's input type
     */
    public InputType inputType() {
        return inputType;
    }

    /**
     * The underlying DL4J graph, for interop (its outputs are the tasks' output projections, before activation).
     *
     * @return the live graph (training or changing it changes this network)
     */
    public MultiTaskGraph graph() {
        return graph;
    }

    /**
     * The vertex names of the tasks' output projections, in task order.
     *
     * @return the graph's output vertex names, one per task
     */
    public List<String> outputNames() {
        return outputs;
    }

    /**
     * The vertex names of the tasks' representations (each head's input), in task order.
     *
     * @return the representation vertex names, one per task
     */
    public List<String> representationNames() {
        return representations;
    }

    /**
     * Whether each task predicts one output per time step, in task order.
     *
     * @return a copy of the flags, one per task: {@code true} for a per-time-step output {@code [mb, nOut, time]}
     */
    public boolean[] sequenceOutputs() {
        return sequence.clone();
    }

    /**
     * All trainable parameters as one flat vector (a live view: writing it changes the network).
     *
     * @return the graph's flat parameter vector
     */
    public INDArray params() {
        return graph.params();
    }

    /**
     * The number of parameter updates done so far.
     *
     * @return the iteration count, restored by {@link #load(File)}
     */
    public int iterationCount() {
        return graph.getIterationCount();
    }

    /**
     * The number of completed epochs.
     *
     * @return the epoch count, restored by {@link #load(File)}
     */
    public int epochCount() {
        return graph.getEpochCount();
    }

    @Override
    public String toString() {
        return "MultiTaskNetwork{tasks=" + taskNames() + ", sharing=" + sharing + ", losses=" + combinator
                + ", params=" + graph.numParams() + "}";
    }

    /** Builds a {@link MultiTaskNetwork}. */
    public static final class Builder {
        private SharedTrunk trunk;
        private final List<Task> tasks = new ArrayList<>();
        private SharingStrategy sharing = new HardSharing();
        private LossCombinator combinator = FixedWeights.equal();
        private IUpdater updater = new Adam(1e-3);
        private Long seed;
        private WeightInit weightInit = WeightInit.XAVIER;
        private DataType dataType = DataType.FLOAT;
        private double l2;

        private Builder() {
        }

        /**
         * The shared trunk (required).
         *
         * @param trunk the layers that every task shares
         * @return this builder
         */
        public Builder trunk(SharedTrunk trunk) {
            this.trunk = Objects.requireNonNull(trunk, "trunk");
            return this;
        }

        /**
         * Adds a task; tasks keep the order they are added in.
         *
         * @param task the task to add; its name must differ from every other task's
         * @return this builder
         */
        public Builder task(Task task) {
            tasks.add(Objects.requireNonNull(task, "task " + tasks.size() + " is null"));
            return this;
        }

        /**
         * Adds tasks, in order.
         *
         * @param added the tasks to add after those already added
         * @return this builder
         */
        public Builder tasks(Task... added) {
            for (Task t : added) {
                task(t);
            }
            return this;
        }

        /**
         * The sharing strategy; {@link HardSharing} by default.
         *
         * @param sharing how the tasks share the trunk
         * @return this builder
         */
        public Builder sharing(SharingStrategy sharing) {
            this.sharing = Objects.requireNonNull(sharing, "sharing");
            return this;
        }

        /**
         * The loss combinator; {@link FixedWeights#equal()} by default.
         *
         * @param combinator how the per-task losses are combined into one update
         * @return this builder
         */
        public Builder losses(LossCombinator combinator) {
            this.combinator = Objects.requireNonNull(combinator, "losses");
            return this;
        }

        /**
         * The updater for every parameter; {@code Adam(1e-3)} by default.
         *
         * @param updater the updater configuration, e.g. {@code new Adam(1e-3)}
         * @return this builder
         */
        public Builder updater(IUpdater updater) {
            this.updater = Objects.requireNonNull(updater, "updater");
            return this;
        }

        /**
         * The seed of the parameter initialisation (DL4J's {@code seed}); a time-based seed when unset.
         *
         * @param seed the random seed
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * The weight initialisation of every layer that does not set its own; Xavier by default.
         *
         * @param weightInit the default weight initialisation
         * @return this builder
         */
        public Builder weightInit(WeightInit weightInit) {
            this.weightInit = Objects.requireNonNull(weightInit, "weightInit");
            return this;
        }

        /**
         * The data type of parameters and activations; FLOAT by default (DOUBLE for gradient checks).
         *
         * @param dataType the network's data type
         * @return this builder
         */
        public Builder dataType(DataType dataType) {
            this.dataType = Objects.requireNonNull(dataType, "dataType");
            return this;
        }

        /**
         * L2 regularisation coefficient for every layer's weights (DL4J's {@code l2}); 0 by default.
         *
         * @param l2 the coefficient, finite and at least 0 (0 for none)
         * @return this builder
         * @throws IllegalArgumentException if {@code l2} is negative, NaN or infinite
         */
        public Builder l2(double l2) {
            if (!(l2 >= 0) || Double.isInfinite(l2)) {
                throw new IllegalArgumentException("l2 must be finite and >= 0, got " + l2);
            }
            this.l2 = l2;
            return this;
        }

        /**
         * Checks the configuration, then builds and initialises the network.
         *
         * @return the initialised network
         * @throws IllegalArgumentException if no trunk or no task was set, or two tasks share a name
         */
        public MultiTaskNetwork build() {
            if (trunk == null) {
                throw new IllegalArgumentException("no trunk: call trunk(SharedTrunk) before build()");
            }
            if (tasks.isEmpty()) {
                throw new IllegalArgumentException("a multi-task network needs at least one task");
            }
            Map<String, Integer> seen = new HashMap<>();
            for (int t = 0; t < tasks.size(); t++) {
                Integer before = seen.put(tasks.get(t).name(), t);
                if (before != null) {
                    throw new IllegalArgumentException("task name \"" + tasks.get(t).name() + "\" is used twice (tasks "
                            + before + " and " + t + "); task names must be unique");
                }
            }
            combinator.init(tasks, updater);
            NeuralNetConfiguration.Builder global = new NeuralNetConfiguration.Builder()
                    .updater(updater)
                    .weightInit(weightInit)
                    .dataType(dataType);
            if (seed != null) {
                global.seed(seed);
            }
            if (l2 > 0) {
                global.l2(l2);
            }
            NetworkGraph assembled = NetworkGraph.assemble(global, trunk, tasks, sharing);
            MultiTaskGraph graph = new MultiTaskGraph(assembled.configuration());
            graph.init();
            sharing.initParameters(graph);
            log.debug("built {} tasks {} with {} parameters", tasks.size(),
                    Arrays.toString(tasks.stream().map(Task::name).toArray()), graph.numParams());
            return new MultiTaskNetwork(trunk.inputType(), tasks, sharing, combinator, updater, graph,
                    assembled.outputNames(), assembled.representations(), assembled.sequence());
        }
    }
}
