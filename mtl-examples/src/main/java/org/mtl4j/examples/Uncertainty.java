package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.losses.UncertaintyWeighting;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A toy version of the setting of Kendall, Gal and Cipolla (CVPR 2018): regression tasks that differ only in
 * how noisy their targets are. Uncertainty weighting learns each task's noise level, and the learned levels
 * should come out close to the true ones; the network then weighs each task by the inverse of its noise
 * variance, so the noisiest task no longer dominates the shared trunk's gradient.
 *
 * <p>Data (made here, seeded): features {@code x ~ N(0, I_8)}, shared by three tasks whose targets are
 * {@code y_t = f_t(x) + sigma_t eps}, {@code eps ~ N(0, 1)}, with the noise levels {@link #SIGMAS} (0.5, 2
 * and 5) and smooth signals of similar size ({@link #signal}): {@code f_1 = 2 sin(x_0 + 0.5 x_1) + x_2},
 * {@code f_2 = 2 cos(x_1 - x_3) + x_4}, {@code f_3 = 2 tanh(x_5 + x_0) + x_6}.
 *
 * <p>Reading the learned sigma. {@link UncertaintyWeighting} learns {@code s_t = log sigma_t^2}, and for a
 * regression task it minimises {@code 0.5 exp(-s_t) L_t + 0.5 s_t}, the paper's {@code L / (2 sigma^2) +
 * log sigma} (eq. 7) with the factor 1/2. Setting its derivative {@code -0.5 exp(-s_t) L_t + 0.5} to zero
 * gives {@code exp(s_t) = L_t}: with the MSE loss, {@code sigma_t^2} settles at the training MSE, which for a
 * well-fitted task is the noise variance. So the learned noise level is {@code sigma_t = exp(s_t / 2) =
 * sqrt(variances()[t])}, taken as is. (A task in the classification form, {@code exp(-s_t) L_t + 0.5 s_t},
 * the factor 1, settles at {@code exp(s_t) = 2 L_t} instead; that form would need the 2 divided out.)
 *
 * <p>The log variances get their own plain SGD (learning rate 0.1) instead of the network's Adam(5e-3). The
 * gradient w.r.t. {@code s_t} is {@code 0.5 (1 - L_t / sigma_t^2)}, of the same scale for every task, so SGD
 * settles within a few dozen steps; at the network's rate each {@code s_t} moves at most about 0.005 per
 * step, and Adam's memory of the large first gradients slows it further: in our runs the noisiest task's
 * {@code s} (target {@code log 25 = 3.2}) was still at 2.2 (sigma 3.0) after 900 steps.
 *
 * <p>Prints, per task, the true sigma, the learned sigma, the weight uncertainty weighting ends with
 * ({@code 0.5 / sigma_t^2}), and the test RMSE with uncertainty weighting and with equal weights; the best
 * possible test RMSE is the true sigma. Both networks start from the same parameters and see the same
 * minibatches.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.Uncertainty}
 */
public final class Uncertainty {

    /** The true noise standard deviation of each task's target, in task order. */
    static final double[] SIGMAS = {0.5, 2.0, 5.0};

    private static final int FEATURES = 8;
    private static final int TEST_EXAMPLES = 4000;

    /**
     * One task's row of the table: true and learned noise sigma, the final uncertainty weight
     * {@code 0.5 / learnedSigma^2}, and the test RMSE under both weightings.
     */
    public record TaskRow(String task, double trueSigma, double learnedSigma, double weight, double rmseUncertainty,
                          double rmseEqual) {
    }

    /** What the run measured: one row per task, in task order. */
    public record Result(List<TaskRow> rows) {
        /** A copy of the rows, immutable. */
        public Result {
            rows = List.copyOf(rows);
        }

        /** The learned sigmas in task order. */
        public double[] learnedSigmas() {
            return rows.stream().mapToDouble(TaskRow::learnedSigma).toArray();
        }
    }

    private Uncertainty() {
    }

    /** Trains on 2000 examples (or {@code args[0]}) for 25 epochs (or {@code args[1]}) and prints the table. */
    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 25;
        run(examples, epochs, 11, System.out, ExampleTraining.outputFolder("Uncertainty"));
    }

    /**
     * Makes the data, trains one network with uncertainty weighting and one with equal weights, prints the
     * table and returns it.
     *
     * @param historyRoot null, or the folder where each network's training history and charts are written (the
     *                    test set is evaluated after every epoch for their curves)
     */
    public static Result run(int trainExamples, int epochs, long seed, PrintStream out, Path historyRoot) {
        Random random = new Random(seed);
        MultiDataSetIterator train = batches(trainExamples, 100, random);
        MultiDataSetIterator test = batches(TEST_EXAMPLES, 1000, random);

        UncertaintyWeighting uncertainty = UncertaintyWeighting.builder().updater(new Sgd(0.1)).build();
        MultiTaskNetwork weighted = network(uncertainty, seed);
        MultiTaskNetwork equal = network(FixedWeights.equal(), seed);
        ExampleTraining.train(weighted, train, test, epochs, historyRoot, "uncertainty");
        ExampleTraining.train(equal, train, test, epochs, historyRoot, "equal weights");
        TaskEvaluations weightedEval = weighted.evaluate(test);
        TaskEvaluations equalEval = equal.evaluate(test);

        double[] variances = uncertainty.variances();
        List<TaskRow> rows = new ArrayList<>();
        out.printf("mtl4j uncertainty weighting (Kendall et al. 2018 toy): %d training examples, %d epochs,"
                + " test set %d%n", trainExamples, epochs, TEST_EXAMPLES);
        out.printf("%-6s %10s %13s %7s %8s %14s %14s%n", "task", "true sigma", "learned sigma", "ratio", "weight",
                "RMSE (uncert.)", "RMSE (equal)");
        for (int t = 0; t < SIGMAS.length; t++) {
            String name = taskName(t);
            TaskRow row = new TaskRow(name, SIGMAS[t], Math.sqrt(variances[t]), 0.5 / variances[t],
                    Math.sqrt(weightedEval.regression(name).averageMeanSquaredError()),
                    Math.sqrt(equalEval.regression(name).averageMeanSquaredError()));
            rows.add(row);
            out.printf("%-6s %10.3f %13.3f %7.3f %8.4f %14.3f %14.3f%n", row.task(), row.trueSigma(),
                    row.learnedSigma(), row.learnedSigma() / row.trueSigma(), row.weight(), row.rmseUncertainty(),
                    row.rmseEqual());
        }
        out.println("learned sigma = exp(s/2), s the learned log variance; weight = 0.5 / sigma^2 (equal weights: 1);"
                + " the best possible RMSE is the true sigma");
        if (historyRoot != null) {
            out.println("Training history (CSV) and charts (learned_sigma.png: the sigmas per epoch): " + historyRoot);
        }
        return new Result(rows);
    }

    private static MultiTaskNetwork network(LossCombinator losses, long seed) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(FEATURES))
                .layer(new DenseLayer.Builder().nOut(64).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.TANH).build())
                .build();
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder().trunk(trunk).losses(losses)
                .updater(new Adam(5e-3)).seed(seed);
        for (int t = 0; t < SIGMAS.length; t++) {
            b.task(Task.regression(taskName(t)));
        }
        return b.build();
    }

    static String taskName(int t) {
        return "y" + (t + 1);
    }

    /** The noise-free target {@code f_t(x)} of task {@code t}. */
    static double signal(int t, double[] x) {
        return switch (t) {
            case 0 -> 2 * Math.sin(x[0] + 0.5 * x[1]) + x[2];
            case 1 -> 2 * Math.cos(x[1] - x[3]) + x[4];
            case 2 -> 2 * Math.tanh(x[5] + x[0]) + x[6];
            default -> throw new IllegalArgumentException("task index " + t + " out of range [0, " + SIGMAS.length
                    + ")");
        };
    }

    /** {@code n} examples in minibatches of {@code batch}: features, then labels[t] = task t's noisy target. */
    static MultiDataSetIterator batches(int n, int batch, Random random) {
        List<MultiDataSet> list = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            float[][] x = new float[mb][FEATURES];
            float[][][] y = new float[SIGMAS.length][mb][1];
            double[] xi = new double[FEATURES];
            for (int i = 0; i < mb; i++) {
                for (int j = 0; j < FEATURES; j++) {
                    xi[j] = random.nextGaussian();
                    x[i][j] = (float) xi[j];
                }
                for (int t = 0; t < SIGMAS.length; t++) {
                    y[t][i][0] = (float) (signal(t, xi) + SIGMAS[t] * random.nextGaussian());
                }
            }
            INDArray[] labels = new INDArray[SIGMAS.length];
            for (int t = 0; t < labels.length; t++) {
                labels[t] = Nd4j.create(y[t]);
            }
            list.add(new MultiDataSet(new INDArray[]{Nd4j.create(x)}, labels));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }
}
