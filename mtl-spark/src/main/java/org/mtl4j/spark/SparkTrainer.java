package org.mtl4j.spark;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.EpochTotals;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TrainingHistory;
import org.mtl4j.core.TrainingListener;
import org.mtl4j.core.io.NetworkState;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Trains a {@link MultiTaskNetwork} on a Spark {@code JavaRDD<MultiDataSet>} (one element per minibatch) by
 * synchronous data-parallel parameter averaging (Zinkevich et al., <i>Parallelized Stochastic Gradient
 * Descent</i>, NIPS 2010; the scheme of DL4J's {@code ParameterAveragingTrainingMaster}).
 *
 * <pre>{@code
 * SparkTrainer trainer = SparkTrainer.builder()
 *         .epochs(10)
 *         .workers(8)
 *         .averagingFrequency(5)
 *         .seed(42)
 *         .validation(validRdd)
 *         .build();
 * SparkTrainingResult result = trainer.fit(network, trainRdd);
 * TaskEvaluations eval = trainer.evaluate(network, testRdd);
 * }</pre>
 *
 * <p><b>One round.</b> The driver broadcasts its network's state: the flat parameters, the flat updater
 * state, the combinator's {@link org.mtl4j.core.LossCombinator#state() state} and the iteration and epoch
 * counts (the network's configuration travels once per run, as a saved model). Every worker (one partition)
 * sets that state into its copy of the network and trains {@code averagingFrequency} of its minibatches with
 * the ordinary mtl4j step ({@link MultiTaskNetwork#fit(MultiDataSet)}); {@code treeAggregate} sums the
 * parameters and updater states the workers end with and collects their combinator states; the driver divides
 * the sums by the number of workers that trained, merges the combinator states and sets the result into its
 * network. Because parameters are averaged as one flat array, every sharing strategy (the cross-stitch and
 * sluice units live in the parameter vector) works unchanged.
 *
 * <p><b>What is averaged.</b> Parameters; the updater state (Adam's moments, momentum), unless
 * {@link Builder#averageUpdaterState(boolean) averageUpdaterState(false)} keeps the driver's, so that every
 * round starts the workers' updaters from the state before the round. The combinator's state is not
 * averaged here: each worker's is collected and the combinator merges them
 * ({@link org.mtl4j.core.LossCombinator#mergeStates}). The default merge is the element-wise mean: learned
 * scalars and their optimiser moments (uncertainty weighting's log-variances, GradNorm's weights) are
 * parameters by another name; where a combinator keeps a sum and a count and uses their ratio (dynamic weight
 * average's and GradNorm's per-epoch loss sums and counts), the ratio of the means is the mean over all the
 * workers' minibatches; counters (a step or epoch count), equal on every worker, stay as they are. GradNorm's
 * initial losses are the mean over the workers that recorded one, so a worker that saw no labelled example of
 * a task does not pull that task's {@code L_t(0)} towards 0. With one worker every merge is the worker's own
 * state, so training equals local training.
 *
 * <p><b>Iteration and epoch counts.</b> The driver's iteration count advances by the steps each worker took
 * in a round: {@code averagingFrequency}, fewer in an epoch's last round when the partitions run short. So a
 * run counts rounds times {@code averagingFrequency} iterations, not the total of all workers' minibatches,
 * and schedules and Adam's bias correction see the steps one worker took. The epoch count advances after
 * every pass over the data.
 *
 * <p><b>Partitions and reproducibility.</b> With {@link Builder#repartition(boolean) repartition} (the
 * default), minibatch {@code i} of the RDD's order goes to worker {@code i mod workers}, so workers hold equal
 * shares; otherwise each partition of the RDD is one worker. With {@link Builder#shuffle(boolean) shuffle}
 * (the default), each worker visits its minibatches in an order drawn from the seed and the epoch; otherwise
 * in the RDD's order. The partitioned data is persisted for the run ({@link Builder#storageLevel}). Given the
 * same data, seed and settings, a run gives the same network, also when Spark re-runs a failed task: a
 * worker's round depends only on the broadcast state and its minibatches, and the sums are formed in double
 * precision, which holds the sum of a few float values exactly unless they differ by many orders of magnitude:
 * in practice the order in which the workers' results arrive does not change a float network's mean (with
 * two workers it never does; a double network may differ in the last bit with three or more).
 *
 * <p><b>Failures.</b> When the job fails (a malformed minibatch fails its task with core's message naming the
 * task and the array; Spark gives up after its task retries), the driver's network is set back to its state
 * before {@code fit} and the exception propagates.
 *
 * <p>Listeners (the network's and the trainer's) hear {@code onFitStart}, {@code onEpochStart}, one
 * {@code onStep} per round with the round's mean losses and weights ({@link StepResult#minibatch()} counts the
 * examples of all its steps), {@code onEpochEnd} and {@code onFitEnd}, on the driver.
 *
 * <p>Immutable; one run at a time per network.
 */
public final class SparkTrainer {

    private static final Logger log = LoggerFactory.getLogger(SparkTrainer.class);

    private final int epochs;
    private final int averagingFrequency;
    private final int workers;
    private final boolean repartition;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final boolean averageUpdaterState;
    private final StorageLevel storageLevel;
    private final int treeDepth;
    private final JavaRDD<MultiDataSet> validation;
    private final List<TrainingListener> listeners;

    private SparkTrainer(Builder b) {
        this.epochs = b.epochs;
        this.averagingFrequency = b.averagingFrequency;
        this.workers = b.workers;
        this.repartition = b.repartition;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.seed = b.seed;
        this.averageUpdaterState = b.averageUpdaterState;
        this.storageLevel = b.storageLevel;
        this.treeDepth = b.treeDepth;
        this.validation = b.validation;
        this.listeners = List.copyOf(b.listeners);
    }

    /**
     * Starts configuring a trainer.
     *
     * @return a builder with the defaults: 1 epoch, averaging every 5 minibatches, repartitioned and shuffled
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Trains {@code network} (in place, on the driver) for the configured epochs on {@code train}, one
     * minibatch per element.
     *
     * @param network the driver's network, trained in place; set back to its state before the call when the job fails
     * @param train   the training data, one minibatch per element
     * @return the network, its per-epoch history and the last evaluation of the validation data
     */
    public SparkTrainingResult fit(MultiTaskNetwork network, JavaRDD<MultiDataSet> train) {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(train, "train");
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(train.context());
        NetworkState before = NetworkState.of(network);
        Broadcast<byte[]> model = sc.broadcast(WorkerNetworks.toBytes(network));
        String runId = UUID.randomUUID().toString();
        JavaPairRDD<Long, MultiDataSet> data = partition(train, sc).persist(storageLevel);
        try {
            List<Long> sizes = data.mapPartitions(WorkerTasks::count).collect();
            long largest = sizes.stream().mapToLong(Long::longValue).max().orElse(0);
            int rounds = (int) ((largest + averagingFrequency - 1) / averagingFrequency);
            log.info("training on {} workers with {} minibatches each, {} rounds per epoch", sizes.size(), sizes,
                    rounds);
            List<TrainingListener> all = new ArrayList<>(network.listeners());
            all.addAll(listeners);
            all.forEach(l -> l.onFitStart(network, epochs));
            TrainingHistory history = new TrainingHistory();
            TaskEvaluations last = null;
            for (int e = 0; e < epochs; e++) {
                Epoch epoch = epoch(network, data, rounds, sc, model, runId, all);
                last = epoch.evaluation;
                history.add(epoch.record);
                all.forEach(l -> l.onEpochEnd(network, epoch.record));
            }
            all.forEach(l -> l.onFitEnd(network, history));
            return new SparkTrainingResult(network, history, Optional.ofNullable(last));
        } catch (Exception e) {
            // a failed job (Spark's SparkException is thrown unchecked from Scala) leaves the network as it was
            before.applyTo(network, true);
            throw e;
        } finally {
            data.unpersist(false);
            model.destroy();
        }
    }

    /**
     * Evaluates the main tasks of {@code network} on {@code data} on the cluster, as {@link MultiTaskNetwork#evaluate}.
     *
     * @param network the network to evaluate (sent to the workers)
     * @param data    the evaluation data, one minibatch per element
     * @return each main task's merged DL4J evaluation and mean loss
     */
    public TaskEvaluations evaluate(MultiTaskNetwork network, JavaRDD<MultiDataSet> data) {
        return evaluate(network, data, false);
    }

    /**
     * Evaluates {@code network} on {@code data} on the cluster: each partition evaluates its minibatches as
     * {@link MultiTaskNetwork#evaluate(org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator, boolean)} does,
     * and the per-task DL4J evaluations are merged ({@code IEvaluation.merge}); each task's loss is the mean
     * over all its labelled examples.
     *
     * @param network          the network to evaluate (sent to the workers)
     * @param data             the evaluation data, one minibatch per element
     * @param includeAuxiliary whether auxiliary tasks are evaluated too
     * @return each evaluated task's merged DL4J evaluation and mean loss
     */
    public TaskEvaluations evaluate(MultiTaskNetwork network, JavaRDD<MultiDataSet> data, boolean includeAuxiliary) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(data.context());
        Broadcast<byte[]> model = sc.broadcast(WorkerNetworks.toBytes(network));
        try {
            return evaluate(network, data, includeAuxiliary, sc, model, UUID.randomUUID().toString());
        } finally {
            model.destroy();
        }
    }

    private TaskEvaluations evaluate(MultiTaskNetwork network, JavaRDD<MultiDataSet> data, boolean includeAuxiliary,
                                     JavaSparkContext sc, Broadcast<byte[]> model, String runId) {
        Broadcast<NetworkState> state = sc.broadcast(NetworkState.of(network));
        try {
            WorkerTasks.PartialEvaluation merged = data
                    .mapPartitions(new WorkerTasks.Evaluate(new WorkerTasks.Start(model, runId, state), includeAuxiliary))
                    .treeAggregate(new WorkerTasks.PartialEvaluation(null, null, null, null),
                            WorkerTasks.PartialEvaluation::merge, WorkerTasks.PartialEvaluation::merge, treeDepth);
            if (merged.evaluations() == null) {
                throw new IllegalArgumentException("the evaluation data holds no minibatch");
            }
            return merged.result();
        } finally {
            state.destroy();
        }
    }

    private record Epoch(EpochRecord record, TaskEvaluations evaluation) {
    }

    private Epoch epoch(MultiTaskNetwork network, JavaPairRDD<Long, MultiDataSet> data, int rounds,
                        JavaSparkContext sc, Broadcast<byte[]> model, String runId, List<TrainingListener> all) {
        int epoch = network.epochCount();
        all.forEach(l -> l.onEpochStart(network, epoch));
        long start = System.nanoTime();
        List<String> names = network.taskNames();
        EpochTotals totals = new EpochTotals(names.size());
        for (int r = 0; r < rounds; r++) {
            NetworkState state = NetworkState.of(network);
            Broadcast<NetworkState> broadcast = sc.broadcast(state);
            RoundResult sum;
            try {
                sum = data.mapPartitions(new WorkerTasks.Round(new WorkerTasks.Start(model, runId, broadcast), r,
                                averagingFrequency, shuffle, seed))
                        .treeAggregate(RoundResult.empty(), RoundResult::add, RoundResult::add, treeDepth);
            } finally {
                broadcast.destroy();
            }
            if (sum.workers == 0) {
                continue;
            }
            new NetworkState(RoundResult.mean(sum.params, sum.workers),
                    averageUpdaterState ? RoundResult.mean(sum.updater, sum.workers) : state.updater(),
                    network.losses().mergeStates(state.combinator(), sum.combinatorStates()),
                    state.iteration() + sum.maxSteps, epoch)
                    .applyTo(network, true);
            StepResult step = sum.asStep(names, state.iteration(), epoch);
            all.forEach(l -> l.onStep(network, step));
            totals.add(sum.lossSums, sum.labelled, sum.weightSums, sum.penaltySum, sum.steps);
        }
        network.graph().incrementEpochCount();
        TaskEvaluations evaluation = validation == null ? null
                : evaluate(network, validation, false, sc, model, runId);
        EpochRecord record = totals.record(network, (System.nanoTime() - start) / 1e9, evaluation);
        return new Epoch(record, evaluation);
    }

    /**
     * The training data keyed by minibatch index, one partition per worker; with a {@link Builder#batchSize}, each
     * partition's examples regrouped into minibatches of that size.
     */
    private JavaPairRDD<Long, MultiDataSet> partition(JavaRDD<MultiDataSet> train, JavaSparkContext sc) {
        JavaPairRDD<Long, MultiDataSet> indexed = train.zipWithIndex().mapToPair(p -> new Tuple2<>(p._2(), p._1()));
        JavaPairRDD<Long, MultiDataSet> parts = repartition
                ? indexed.repartitionAndSortWithinPartitions(
                        new ModuloPartitioner(workers > 0 ? workers : sc.defaultParallelism()))
                : indexed;
        return batchSize > 0 ? parts.mapPartitionsToPair(new WorkerTasks.Rebatch(batchSize), true) : parts;
    }

    @Override
    public String toString() {
        return "SparkTrainer{epochs=" + epochs + ", averagingFrequency=" + averagingFrequency + ", workers="
                + (workers > 0 ? workers : "default parallelism") + ", repartition=" + repartition
                + (batchSize > 0 ? ", batchSize=" + batchSize : "") + ", shuffle="
                + shuffle + ", seed=" + seed + ", averageUpdaterState=" + averageUpdaterState + "}";
    }

    /** Configures a {@link SparkTrainer}. */
    public static final class Builder {
        private int epochs = 1;
        private int averagingFrequency = 5;
        private int workers;
        private boolean repartition = true;
        private int batchSize;
        private boolean shuffle = true;
        private long seed;
        private boolean averageUpdaterState = true;
        private StorageLevel storageLevel = StorageLevel.MEMORY_AND_DISK();
        private int treeDepth = 2;
        private JavaRDD<MultiDataSet> validation;
        private final List<TrainingListener> listeners = new ArrayList<>();

        private Builder() {
        }

        /**
         * The number of passes over the data; 1 by default.
         *
         * @param epochs the number of epochs, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code epochs < 1}
         */
        public Builder epochs(int epochs) {
            this.epochs = positive("epochs", epochs);
            return this;
        }

        /**
         * The minibatches each worker trains between two averagings; 5 by default (1 averages after every step).
         *
         * @param averagingFrequency the steps per worker per round, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code averagingFrequency < 1}
         */
        public Builder averagingFrequency(int averagingFrequency) {
            this.averagingFrequency = positive("averagingFrequency", averagingFrequency);
            return this;
        }

        /**
         * The number of workers (partitions) the data is split into; Spark's default parallelism by default.
         * Without {@link #repartition}, the RDD's partitions are the workers and this is not used.
         *
         * @param workers the number of workers, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code workers < 1}
         */
        public Builder workers(int workers) {
            this.workers = positive("workers", workers);
            return this;
        }

        /**
         * Regroups each worker's examples into minibatches of {@code examples} (the last one smaller) before
         * training, whatever the RDD's minibatch size: the worker's minibatches are merged in their order
         * (time series padded and masked as ND4J's {@code MultiDataSet.merge} does) and cut. By default the RDD's
         * minibatches are trained as they are.
         *
         * @param examples the examples per minibatch, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code examples < 1}
         */
        public Builder batchSize(int examples) {
            this.batchSize = positive("batchSize", examples);
            return this;
        }

        /**
         * Whether the data is repartitioned into {@link #workers} equal shares (minibatch {@code i} to worker
         * {@code i mod workers}); true by default. When false, every partition of the RDD is one worker.
         *
         * @param repartition true to deal the minibatches out to {@link #workers} workers
         * @return this builder
         */
        public Builder repartition(boolean repartition) {
            this.repartition = repartition;
            return this;
        }

        /**
         * Whether each worker visits its minibatches in an order drawn from the seed and the epoch; true by default.
         *
         * @param shuffle false to visit them in the RDD's order
         * @return this builder
         */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /**
         * The seed of the visiting order ({@link #shuffle}); 0 by default.
         *
         * @param seed the seed, which with the epoch fixes each worker's order
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Whether the workers' updater states are averaged into the driver's after each round (true by default);
         * when false the driver keeps its updater state, and every round starts from it.
         *
         * @param averageUpdaterState false to keep the driver's updater state
         * @return this builder
         */
        public Builder averageUpdaterState(boolean averageUpdaterState) {
            this.averageUpdaterState = averageUpdaterState;
            return this;
        }

        /**
         * How the partitioned training data is persisted during the run; {@code MEMORY_AND_DISK} by default.
         *
         * @param storageLevel Spark's storage level for the partitioned data
         * @return this builder
         */
        public Builder storageLevel(StorageLevel storageLevel) {
            this.storageLevel = Objects.requireNonNull(storageLevel, "storageLevel");
            return this;
        }

        /**
         * The depth of {@code treeAggregate}'s tree; 2 by default (deeper for many workers and a large model).
         *
         * @param treeDepth the tree depth, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code treeDepth < 1}
         */
        public Builder treeDepth(int treeDepth) {
            this.treeDepth = positive("treeDepth", treeDepth);
            return this;
        }

        /**
         * Data evaluated on the cluster after every epoch; its metrics go into the history and the last
         * evaluation into the result. Persist it if it is expensive to compute.
         *
         * @param validation the validation data, one minibatch per element
         * @return this builder
         */
        public Builder validation(JavaRDD<MultiDataSet> validation) {
            this.validation = Objects.requireNonNull(validation, "validation");
            return this;
        }

        /**
         * Listeners of this trainer's runs, heard on the driver after the network's own.
         *
         * @param added listeners to add after those already added (none may be {@code null})
         * @return this builder
         */
        public Builder listeners(TrainingListener... added) {
            for (TrainingListener l : added) {
                listeners.add(Objects.requireNonNull(l, "listener"));
            }
            return this;
        }

        /**
         * The trainer.
         *
         * @return the immutable trainer
         */
        public SparkTrainer build() {
            return new SparkTrainer(this);
        }

        private static int positive(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + value);
            }
            return value;
        }
    }
}
