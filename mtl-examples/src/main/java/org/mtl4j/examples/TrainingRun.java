package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.Checkpoints;
import org.mtl4j.core.EarlyStopping;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.Trainer;
import org.mtl4j.core.TrainingListener;
import org.mtl4j.core.TrainingResult;
import org.mtl4j.ui.HistoryCharts;
import org.mtl4j.ui.ProgressListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.Random;

/**
 * A long training run the way a production job runs it: validation after every epoch, early stopping that
 * keeps the best network, checkpoints, a progress bar, and the history as CSV and charts. Halfway through,
 * the run "crashes" (a listener throws, as an out-of-memory error or a killed machine would end it); the
 * same program then calls {@link Trainer#fitOrResume} again, which picks the run up from its newest
 * checkpoint. The example checks that the resumed run ends with exactly the parameters of an uninterrupted
 * run of the same configuration.
 *
 * <p>Data: the quickstart's (two tasks driven by one latent factor), 300 training, 500 validation and
 * 2000 test examples.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.TrainingRun}
 */
public final class TrainingRun {

    /** What the run did. */
    public record Result(int crashEpoch, int epochsTrained, int bestEpoch, boolean stoppedEarly, boolean resumedEqualsUninterrupted,
                         double segmentAccuracy, double spendMse) {
    }

    private TrainingRun() {
    }

    /** At most 200 epochs, a crash in epoch 12; writes into {@code target/mtl4j-examples/TrainingRun}. */
    public static void main(String[] args) throws IOException {
        int maxEpochs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int crashEpoch = args.length > 1 ? Integer.parseInt(args[1]) : 12;
        run(300, maxEpochs, crashEpoch, 42, System.out, ExampleTraining.outputFolder("TrainingRun"));
    }

    /**
     * Trains with a simulated crash in epoch {@code crashEpoch} (1-based) and a resume, then the same run
     * uninterrupted for comparison; prints what happened and the best network's test metrics.
     *
     * @param folder where the checkpoints, the history and the charts go (emptied of old checkpoints first)
     */
    public static Result run(int trainExamples, int maxEpochs, int crashEpoch, long seed, PrintStream out, Path folder)
            throws IOException {
        Random random = new Random(seed);
        double[][] mixing = new double[2][20];
        for (double[] row : mixing) {
            for (int j = 0; j < 20; j++) {
                row[j] = random.nextGaussian();
            }
        }
        MultiDataSetIterator train = Quickstart.batches(trainExamples, 32, mixing, random);
        MultiDataSetIterator valid = Quickstart.batches(500, 250, mixing, random);
        MultiDataSetIterator test = Quickstart.batches(2000, 500, mixing, random);
        ExampleFiles.deleteRecursively(folder);

        TrainingResult uninterrupted = trainer(maxEpochs, valid, folder.resolve("uninterrupted"))
                .fit(network(seed), train);

        out.printf("mtl4j training run: at most %d epochs, early stopping on the mean relative improvement "
                + "(patience 10), checkpoints every 5 epochs%n", maxEpochs);
        Trainer crashing = Trainer.builder().epochs(maxEpochs).validation(valid)
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10))
                .checkpoints(Checkpoints.in(folder.resolve("checkpoints")).every(5).keepLast(2))
                .listeners(new Crash(crashEpoch))
                .build();
        try {
            crashing.fit(network(seed), train);
            out.println("no crash: the run ended before epoch " + crashEpoch);
        } catch (IllegalStateException e) {
            out.println("crashed in epoch " + crashEpoch + " (" + e.getMessage() + ")");
        }

        OptionalInt checkpoint = Checkpoints.in(folder.resolve("checkpoints")).latestEpoch();

        // README:training:begin
        Trainer trainer = Trainer.builder()
                .epochs(maxEpochs)
                .validation(valid)
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10))
                .checkpoints(Checkpoints.in(folder.resolve("checkpoints")).every(5).keepLast(2))
                .listeners(ProgressListener.auto())
                .build();
        TrainingResult result = trainer.fitOrResume(network(seed), train);   // resumes after a crash
        MultiTaskNetwork best = result.best();
        HistoryCharts.export(result.history(), folder.resolve("history"));  // CSV and PNG charts
        // README:training:end

        boolean equal = sameValues(result.network().params(), uninterrupted.network().params())
                && sameValues(result.best().params(), uninterrupted.best().params())
                && result.bestEpoch() == uninterrupted.bestEpoch();
        TaskEvaluations eval = best.evaluate(test);
        Result r = new Result(crashEpoch, result.history().size(), result.bestEpoch(), result.stoppedEarly(), equal,
                eval.classification("segment").accuracy(), eval.regression("spend").averageMeanSquaredError());
        out.printf("%s; trained %d epochs, %s; best epoch %d%n", checkpoint.isPresent()
                        ? "resumed from the checkpoint of epoch " + checkpoint.getAsInt() : "no checkpoint yet: started again",
                r.epochsTrained(), r.stoppedEarly() ? "stopped early" : "ran to the end", r.bestEpoch());
        out.printf("resumed run equals the uninterrupted run (parameters and best network, bit for bit): %s%n", equal);
        out.printf("best network on the test set: segment accuracy %.4f, spend MSE %.4f%n", r.segmentAccuracy(),
                r.spendMse());
        out.println("checkpoints: " + folder.resolve("checkpoints"));
        out.println("history (CSV) and charts: " + folder.resolve("history"));
        return r;
    }

    private static boolean sameValues(INDArray a, INDArray b) {
        return Arrays.equals(a.toDoubleVector(), b.toDoubleVector());
    }

    private static Trainer trainer(int maxEpochs, MultiDataSetIterator valid, Path checkpoints) {
        return Trainer.builder().epochs(maxEpochs).validation(valid)
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10))
                .checkpoints(Checkpoints.in(checkpoints).every(5).keepLast(2))
                .build();
    }

    private static MultiTaskNetwork network(long seed) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(20))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).dropOut(0.9).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .build();
        return MultiTaskNetwork.builder()
                .trunk(trunk)
                .task(Task.classification("segment", 3))
                .task(Task.regression("spend"))
                .updater(new Adam(5e-3))
                .seed(seed)
                .build();
    }

    /** Ends the run with an exception at the second step of epoch {@code epoch} (1-based), in the middle of it. */
    private static final class Crash implements TrainingListener {
        private final int epoch;
        private int steps;

        Crash(int epoch) {
            this.epoch = epoch;
        }

        @Override
        public void onStep(MultiTaskNetwork network, StepResult step) {
            if (step.epoch() == epoch - 1 && ++steps == 2) {
                throw new IllegalStateException("simulated crash at iteration " + step.iteration());
            }
        }
    }
}
