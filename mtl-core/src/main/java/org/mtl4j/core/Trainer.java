package org.mtl4j.core;

import org.mtl4j.core.io.ModelFile;
import org.mtl4j.core.io.NetworkState;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Trains a {@link MultiTaskNetwork} for a number of epochs, with what a long run needs: validation after
 * every epoch, a {@link TrainingHistory}, {@link EarlyStopping} that keeps the best network, a divergence
 * guard that stops a run whose loss explodes ({@link Builder#divergenceFactor}), and {@link Checkpoints} from
 * which a crashed run resumes exactly.
 *
 * <pre>{@code
 * Trainer trainer = Trainer.builder()
 *         .epochs(50)
 *         .validation(validIterator)
 *         .earlyStopping(EarlyStopping.on("segment", TaskMetric.ACCURACY).patience(5))
 *         .checkpoints(Checkpoints.in(Path.of("runs/segment")).every(2).keepLast(3))
 *         .build();
 * TrainingResult result = trainer.fitOrResume(network, trainIterator);
 * MultiTaskNetwork best = result.best();
 * }</pre>
 *
 * <p><b>Exact resume.</b> A checkpoint holds the network (parameters, updater state, combinator state,
 * iteration and epoch counts) and the trainer's state. Training resumed from it equals uninterrupted
 * training when each epoch sees the same minibatches in the same order: the training iterator must give
 * the same sequence after every {@code reset()}, or shuffle from a seed derived from the epoch. For dropout
 * and other random layers, a trainer with checkpoints seeds ND4J's random generator before each epoch from
 * the network's seed and the epoch count.
 *
 * <p>Immutable and reusable; a run is not thread-safe (one network, one thread).
 */
public final class Trainer {

    private static final Logger log = LoggerFactory.getLogger(Trainer.class);
    private static final String STATE_ENTRY = "trainer.json";

    /** The default divergence factor: a task's epoch loss may reach a million times its first epoch's. */
    public static final double DEFAULT_DIVERGENCE_FACTOR = 1e6;

    private final int epochs;
    private final MultiDataSetIterator validation;
    private final EarlyStopping earlyStopping;
    private final Checkpoints checkpoints;
    private final List<TrainingListener> listeners;
    private final DivergenceGuard divergence;

    private Trainer(Builder b) {
        this.epochs = b.epochs;
        this.validation = b.validation;
        this.earlyStopping = b.earlyStopping;
        this.checkpoints = b.checkpoints;
        this.listeners = List.copyOf(b.listeners);
        this.divergence = new DivergenceGuard(b.divergenceFactor);
    }

    /**
     * Starts configuring a trainer.
     *
     * @return a builder without validation, early stopping or checkpoints; its epochs must be set
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Trains {@code network} for this trainer's number of epochs more (or until early stopping ends the run)
     * over {@code train}, resetting it before each epoch.
     *
     * @param network the network to train, from its current epoch count on
     * @param train   the training minibatches (it must support reset for more than one epoch)
     * @return the trained network, the run's history and, under early stopping, the best network and its epoch
     * @throws IllegalArgumentException when a multi-epoch run gets an iterator that cannot reset, early
     *                                  stopping watches a task or metric the network lacks, or a minibatch is
     *                                  refused: the message starts with {@code "epoch 2, minibatch 5 (both counted
     *                                  from 0): "} before the step's own (its cause); earlier minibatches stay applied
     * @throws IllegalStateException    when the checkpoint folder already holds checkpoints (resume them with
     *                                  {@link #resume} or {@link #fitOrResume}, or choose another folder)
     * @throws UncheckedIOException     when a checkpoint or the best network cannot be written
     */
    public TrainingResult fit(MultiTaskNetwork network, MultiDataSetIterator train) {
        Objects.requireNonNull(network, "network");
        if (checkpoints != null && checkpoints.latest().isPresent()) {
            throw new IllegalStateException("the checkpoint folder " + checkpoints.directory() + " already holds "
                    + checkpoints.list().size() + " checkpoint(s), the newest " + checkpoints.latest().get().getFileName()
                    + ": resume them with Trainer.resume or fitOrResume, or choose an empty folder");
        }
        return run(new TrainerRun(network, network.epochCount() + epochs), train);
    }

    /**
     * Resumes the run saved in the newest checkpoint of this trainer's {@link Checkpoints} folder and trains it
     * to its last epoch (or until early stopping ends it).
     *
     * @param train the training minibatches, giving the same sequence as in the interrupted run
     * @return the result of the whole run: its history includes the epochs before the crash
     * @throws IllegalStateException when this trainer has no checkpoints configured
     * @throws IOException           when there is no checkpoint or it cannot be read
     */
    public TrainingResult resume(MultiDataSetIterator train) throws IOException {
        if (checkpoints == null) {
            throw new IllegalStateException("resume needs checkpoints: configure Trainer.builder().checkpoints(...)");
        }
        Optional<Path> latest = checkpoints.latest();
        if (latest.isEmpty()) {
            throw new IOException("no checkpoint to resume in " + checkpoints.directory());
        }
        File file = latest.get().toFile();
        MultiTaskNetwork network = ModelFile.load(file);
        TrainerRun run = TrainerRun.fromJson(network, ModelFile.readExtra(file, STATE_ENTRY), file);
        if (!Double.isNaN(run.bestScore) && Files.isRegularFile(checkpoints.bestFile())) {
            run.bestFile = checkpoints.bestFile();
        }
        log.info("resuming from {} at epoch {} of {}", file, network.epochCount(), run.lastEpoch);
        return run(run, train);
    }

    /**
     * {@link #resume} when the checkpoint folder holds a checkpoint, otherwise {@link #fit}: the one call for
     * a program that may be restarted after a crash.
     *
     * @param network the network to train when there is no checkpoint to resume (ignored otherwise)
     * @param train   the training minibatches
     * @return the result of the run, fitted or resumed
     * @throws UncheckedIOException when a checkpoint cannot be read or written
     */
    public TrainingResult fitOrResume(MultiTaskNetwork network, MultiDataSetIterator train) {
        if (checkpoints != null && checkpoints.latest().isPresent()) {
            try {
                return resume(train);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return fit(network, train);
    }

    private TrainingResult run(TrainerRun run, MultiDataSetIterator train) {
        MultiTaskNetwork network = run.network;
        Objects.requireNonNull(train, "train");
        int remaining = run.lastEpoch - network.epochCount();
        if (remaining > 1 && !train.resetSupported()) {
            throw new IllegalArgumentException("training for " + remaining + " epochs needs an iterator that can reset, "
                    + "but " + train.getClass().getSimpleName() + ".resetSupported() is false");
        }
        if (earlyStopping != null) {
            earlyStopping.check(network);
        }
        List<TrainingListener> all = new ArrayList<>(network.listeners());
        all.addAll(listeners);
        all.forEach(l -> l.onFitStart(network, Math.max(remaining, 0)));
        if (divergence.active() && earlyStopping == null && run.lowest == null) {
            run.lowest = NetworkState.of(network);   // the best so far, should the first epoch diverge
        }
        while (!run.stopped && network.epochCount() < run.lastEpoch) {
            EpochRecord record = epoch(network, train, all, run.firstLoss);
            run.history.add(record);
            run.divergence = divergence.check(run.firstLoss, record);
            if (run.divergence != null) {
                run.stopped = true;
                log.warn(run.divergence);
            } else if (earlyStopping != null) {
                watch(run, record);
            } else if (divergence.active()) {
                keepLowest(run, record);
            }
            for (TrainingListener l : all) {
                l.onEpochEnd(network, record);
            }
            if (checkpoints != null && (run.stopped || checkpoints.due(record.epoch(), run.lastEpoch))) {
                save(run);
            }
        }
        all.forEach(l -> l.onFitEnd(network, run.history));
        if (run.divergence != null && earlyStopping == null && run.lowest != null) {
            return new TrainingResult(network, run.history, copyAt(network, run.lowest), run.lowest.epoch(), true,
                    run.divergence);
        }
        return new TrainingResult(network, run.history, best(run), run.bestEpoch(), run.stopped, run.divergence);
    }

    private EpochRecord epoch(MultiTaskNetwork network, MultiDataSetIterator train, List<TrainingListener> all,
                              Map<String, double[]> firstLoss) {
        int epoch = network.epochCount();
        if (checkpoints != null) {
            Nd4j.getRandom().setSeed(epochSeed(network, epoch));
        }
        for (TrainingListener l : all) {
            l.onEpochStart(network, epoch);
        }
        long start = System.nanoTime();
        if (train.resetSupported()) {
            train.reset();
        }
        EpochTotals totals = new EpochTotals(network.tasks().size());
        int minibatch = 0;
        while (train.hasNext()) {
            StepResult step = fit(network, train.next(), epoch, minibatch++);
            for (TrainingListener l : listeners) {
                l.onStep(network, step);
            }
            totals.add(step);
            divergence.recordFirst(firstLoss, step);
        }
        if (totals.steps() == 0) {
            log.warn("epoch {}: the training iterator gave no minibatch", epoch);
        }
        network.graph().incrementEpochCount();
        TaskEvaluations validated = validation == null ? null : network.evaluate(validation);
        return totals.record(network, (System.nanoTime() - start) / 1e9, validated);
    }

    /**
     * One step of the epoch loop; a refused minibatch is reported with where it sits in the epoch (the
     * minibatches before it stay applied), as an {@code IllegalArgumentException} with the original as cause.
     */
    private static StepResult fit(MultiTaskNetwork network, MultiDataSet data, int epoch, int minibatch) {
        try {
            return network.fit(data);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("epoch " + epoch + ", minibatch " + minibatch + " (both counted from 0): "
                    + e.getMessage(), e);
        }
    }

    /** A separate network (a saved and loaded copy of {@code network}) in {@code state}. */
    private static MultiTaskNetwork copyAt(MultiTaskNetwork network, NetworkState state) {
        File file = null;
        try {
            file = Files.createTempFile("mtl4j-best", ".mtl4j").toFile();
            network.save(file);
            MultiTaskNetwork copy = ModelFile.load(file);
            state.applyTo(copy, true);
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the network through a temporary model file", e);
        } finally {
            if (file != null) {
                file.delete();
            }
        }
    }

    /** Keeps a snapshot of the epoch with the lowest training loss summed over the tasks, for the divergence guard. */
    private static void keepLowest(TrainerRun run, EpochRecord record) {
        double total = 0;
        for (double loss : record.trainLoss().values()) {
            total += Double.isNaN(loss) ? 0 : loss;
        }
        if (total < run.lowestLoss) {
            run.lowestLoss = total;
            run.lowest = NetworkState.of(run.network);
        }
    }

    private void watch(TrainerRun run, EpochRecord record) {
        double score = earlyStopping.score(record, run.network.tasks(), run.reference);
        if (earlyStopping.improves(score, run.bestScore)) {
            run.bestScore = score;
            run.bestEpoch = record.epoch();
            run.sinceBest = 0;
            saveBest(run);
        } else if (++run.sinceBest >= earlyStopping.patience()) {
            run.stopped = true;
            log.info("early stopping after epoch {}: no improvement of {} for {} epochs; best epoch {}", record.epoch(),
                    earlyStopping, run.sinceBest, run.bestEpoch);
        }
    }

    private void saveBest(TrainerRun run) {
        try {
            if (run.bestFile == null) {
                if (checkpoints != null) {
                    run.bestFile = checkpoints.bestFile();
                } else {
                    run.bestFile = Files.createTempFile("mtl4j-best", ".mtl");
                    run.bestFile.toFile().deleteOnExit();
                }
            }
            run.network.save(run.bestFile.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the best network to " + run.bestFile, e);
        }
    }

    private MultiTaskNetwork best(TrainerRun run) {
        if (earlyStopping == null || run.bestEpoch == run.network.epochCount() || run.bestFile == null) {
            return run.network;
        }
        try {
            return ModelFile.load(run.bestFile.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the best network from " + run.bestFile, e);
        } finally {
            if (checkpoints == null) {
                run.bestFile.toFile().delete();
            }
        }
    }

    private void save(TrainerRun run) {
        int epoch = run.network.epochCount();
        Path file = checkpoints.file(epoch);
        try {
            ModelFile.save(run.network, file.toFile(), Map.of(STATE_ENTRY, run.toJson()));
            checkpoints.prune();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + file, e);
        }
        log.debug("checkpoint {} written", file);
    }

    /** The seed of ND4J's generator for epoch {@code epoch}: the network's configured seed, mixed with the epoch. */
    static long epochSeed(MultiTaskNetwork network, int epoch) {
        long seed = network.graph().getConfiguration().getDefaultConfiguration().getSeed();
        return seed * 0x9E3779B97F4A7C15L + epoch;
    }

    /** Configures a {@link Trainer}. */
    public static final class Builder {
        private int epochs = -1;
        private MultiDataSetIterator validation;
        private EarlyStopping earlyStopping;
        private Checkpoints checkpoints;
        private final List<TrainingListener> listeners = new ArrayList<>();
        private double divergenceFactor = DEFAULT_DIVERGENCE_FACTOR;

        private Builder() {
        }

        /**
         * The divergence guard: after every epoch, a task whose training loss exceeds its loss at the run's first
         * step with a label for it by more than {@code factor} stops the run, with a warning naming the task, the
         * epoch and both losses ({@link TrainingResult#divergence()}). The result's best network is then the
         * early-stopping best, or without early stopping the network of the epoch with the lowest training loss
         * summed over the tasks, or the network the run started from when no epoch came before the divergence
         * (kept in memory, from the start of this run or of its resumption).
         *
         * @param factor more than 1; {@link #DEFAULT_DIVERGENCE_FACTOR} by default, {@code Double.POSITIVE_INFINITY}
         *               switches the guard off
         * @return this builder
         * @throws IllegalArgumentException when {@code factor} is NaN or not above 1
         */
        public Builder divergenceFactor(double factor) {
            if (!(factor > 1)) {
                throw new IllegalArgumentException("the divergence factor must be > 1 (Double.POSITIVE_INFINITY switches"
                        + " the guard off), got " + factor);
            }
            this.divergenceFactor = factor;
            return this;
        }

        /**
         * The number of epochs a run trains at most (required, &gt;= 1).
         *
         * @param epochs the epochs a run adds to the network's epoch count, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code epochs < 1}
         */
        public Builder epochs(int epochs) {
            if (epochs < 1) {
                throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            }
            this.epochs = epochs;
            return this;
        }

        /**
         * Data evaluated after every epoch (main tasks; loss and each metric of the task's kind).
         *
         * @param validation the validation minibatches, reset before each evaluation
         * @return this builder
         */
        public Builder validation(MultiDataSetIterator validation) {
            this.validation = Objects.requireNonNull(validation, "validation");
            return this;
        }

        /**
         * Stops when the validation score stops improving, and keeps the best network; needs validation data.
         *
         * @param earlyStopping the task, metric and patience to watch
         * @return this builder
         */
        public Builder earlyStopping(EarlyStopping earlyStopping) {
            this.earlyStopping = Objects.requireNonNull(earlyStopping, "earlyStopping");
            return this;
        }

        /**
         * Saves checkpoints from which {@link Trainer#resume} continues a crashed run.
         *
         * @param checkpoints the folder, interval and number of checkpoints kept
         * @return this builder
         */
        public Builder checkpoints(Checkpoints checkpoints) {
            this.checkpoints = Objects.requireNonNull(checkpoints, "checkpoints");
            return this;
        }

        /**
         * Listeners of this trainer's runs, besides the network's own.
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
         * Builds the trainer.
         *
         * @return the immutable, reusable trainer
         * @throws IllegalStateException when the epochs are not set, or early stopping has no validation data
         */
        public Trainer build() {
            if (epochs < 1) {
                throw new IllegalStateException("set the number of epochs: Trainer.builder().epochs(n)");
            }
            if (earlyStopping != null && validation == null) {
                throw new IllegalStateException("early stopping (" + earlyStopping + ") needs validation data: "
                        + "Trainer.builder().validation(iterator)");
            }
            return new Trainer(this);
        }
    }
}
