package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * An auxiliary task that predicts a withheld input feature (Ruder 2017, "An Overview of Multi-Task Learning
 * in Deep Neural Networks", sec. 7.6, after Caruana and de Sa 1997): a feature that is known for the
 * training examples but not at prediction time becomes a label instead of an input, and the network learns to
 * predict it from the inputs it does get. The auxiliary task is trained but not reported: only the main task
 * is evaluated.
 *
 * <p>Data (made here, seeded): visible features {@code x ~ N(0, I_10)}; the withheld feature is
 * {@code z = sin(2 x_0) + 1.5 |x_1| + 0.5 x_2 - 1.2} (a nonlinear function of three of them, centred near 0,
 * {@link #withheld}); the main label is the class {@code 1[z + 0.5 x_3 + 0.3 eps > 0]}, {@code eps ~ N(0, 1)}.
 * The model's input is x only; z appears only as the auxiliary task's label, for the same training examples
 * as the main label. From the main labels alone a network learns z's shape at one bit per example; the
 * auxiliary labels give its value, which matters when there are few training examples. Six of the ten
 * inputs are irrelevant, which a small training set does not reveal on its own.
 *
 * <p>For each training-set size and seed, a main-only network and a main + auxiliary network (equal weights,
 * hard sharing of a 16-16 tanh trunk, Adam 1e-2, L2 1e-3) are built with the same seed, see the same
 * minibatches and take the same number of steps; the table gives the main task's test accuracy of both,
 * per seed and as the mean over seeds. The last column, the auxiliary task's own test R^2
 * ({@code evaluate(test, true)}), shows how well the network learned the withheld feature; it is a diagnostic,
 * not a result.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.AuxiliaryTask}
 */
public final class AuxiliaryTask {

    /** The number of visible input features. */
    static final int VISIBLE = 10;

    private static final int BATCH = 50;
    /** The main task: the class in labels[0] (the main-only network ignores labels[1], the withheld feature). */
    private static final Task MAIN = Task.classification("main", 2).withLabelsIndex(0);
    private static final int TEST_EXAMPLES = 4000;
    private static final long TEST_SEED = 0;

    /**
     * The main task's test accuracy at one training-set size and seed, without and with the auxiliary task, and
     * the auxiliary task's test R^2 in the second network.
     */
    public record Row(int trainExamples, long seed, double mainOnly, double withAuxiliary, double auxiliaryR2) {
    }

    /**
     * Every size's and seed's row, and the task names that {@code evaluate(test)} of a main + auxiliary
     * network reported.
     */
    public record Result(List<Row> rows, List<String> reportedTasks) {
        /** Copies of the lists, immutable. */
        public Result {
            rows = List.copyOf(rows);
            reportedTasks = List.copyOf(reportedTasks);
        }

        /** The mean main-only accuracy over the seeds at {@code trainExamples} examples. */
        public double meanMainOnly(int trainExamples) {
            return rows.stream().filter(r -> r.trainExamples() == trainExamples).mapToDouble(Row::mainOnly)
                    .average().orElseThrow();
        }

        /** The mean main + auxiliary accuracy over the seeds at {@code trainExamples} examples. */
        public double meanWithAuxiliary(int trainExamples) {
            return rows.stream().filter(r -> r.trainExamples() == trainExamples).mapToDouble(Row::withAuxiliary)
                    .average().orElseThrow();
        }
    }

    private AuxiliaryTask() {
    }

    /**
     * Training sets of 150, 300 and 600 examples, 3 seeds (or {@code args[1]}) each, 300 steps (or
     * {@code args[0]}) per network.
     */
    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        run(new int[]{150, 300, 600}, seeds, steps, 1, System.out, ExampleTraining.outputFolder("AuxiliaryTask"));
    }

    /**
     * Trains a main-only and a main + auxiliary network for every training-set size and each of {@code seeds}
     * seeds ({@code firstSeed}, {@code firstSeed + 1}, ...), prints the main task's test accuracies and returns them.
     *
     * @param steps       parameter updates per network, the same at every size (rounded up to whole epochs)
     * @param historyRoot null, or the folder where each network's training history and charts are written
     */
    public static Result run(int[] trainSizes, int seeds, int steps, long firstSeed, PrintStream out,
                             Path historyRoot) {
        if (trainSizes.length == 0 || Arrays.stream(trainSizes).anyMatch(n -> n < 1) || seeds < 1
                || steps < 1) {
            throw new IllegalArgumentException("auxiliary task example: needs at least one training-set size, every"
                    + " size >= 1, seeds >= 1 and steps >= 1; got sizes " + Arrays.toString(trainSizes)
                    + ", seeds " + seeds + ", steps " + steps);
        }
        MultiDataSetIterator test = batches(TEST_EXAMPLES, 1000, new Random(TEST_SEED));
        out.printf("mtl4j auxiliary task (predicting a withheld input feature): main-task test accuracy,"
                + " %d steps per network, test set %d%n", steps, TEST_EXAMPLES);
        out.printf("%-8s %-6s %10s %12s %8s %8s%n", "examples", "seed", "main only", "main + aux", "change",
                "aux R^2");
        List<Row> rows = new ArrayList<>();
        List<String> reported = List.of();
        for (int n : trainSizes) {
            int epochs = Math.max(1, (int) Math.ceil(steps / Math.ceil((double) n / BATCH)));
            for (int s = 0; s < seeds; s++) {
                long seed = firstSeed + s;
                MultiDataSetIterator train = batches(n, BATCH, new Random(seed * 1_000_003L + n));
                MultiTaskNetwork mainOnly = network(seed, MAIN);
                MultiTaskNetwork withAux = network(seed, MAIN, Task.regression("withheld").withLabelsIndex(1)
                        .asAuxiliary());
                String run = "n" + n + " seed " + seed;
                ExampleTraining.train(mainOnly, train, null, epochs, historyRoot, run + " main only");
                ExampleTraining.train(withAux, train, null, epochs, historyRoot, run + " main and aux");
                TaskEvaluations withAuxEval = withAux.evaluate(test);
                reported = withAuxEval.taskNames();
                Row row = new Row(n, seed, mainOnly.evaluate(test).classification("main").accuracy(),
                        withAuxEval.classification("main").accuracy(),
                        withAux.evaluate(test, true).regression("withheld").averageRSquared());
                rows.add(row);
                out.printf("%-8d %-6d %10.4f %12.4f %+8.4f %8.3f%n", n, seed, row.mainOnly(), row.withAuxiliary(),
                        row.withAuxiliary() - row.mainOnly(), row.auxiliaryR2());
            }
        }
        Result result = new Result(rows, reported);
        for (int n : trainSizes) {
            double a = result.meanMainOnly(n);
            double b = result.meanWithAuxiliary(n);
            out.printf("%-8d %-6s %10.4f %12.4f %+8.4f%n", n, "mean", a, b, b - a);
        }
        out.printf("evaluate(test) of the main + aux network reports %s; the auxiliary task is trained, not reported%n",
                reported);
        if (historyRoot != null) {
            out.println("Training history (CSV) and charts of each network: " + historyRoot);
        }
        return result;
    }

    private static MultiTaskNetwork network(long seed, Task... tasks) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(VISIBLE))
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                .build();
        return MultiTaskNetwork.builder().trunk(trunk).tasks(tasks).updater(new Adam(1e-2)).l2(1e-3)
                .seed(seed).build();
    }

    /** The withheld feature {@code z = sin(2 x_0) + 1.5 |x_1| + 0.5 x_2 - 1.2} of visible features x. */
    static double withheld(double[] x) {
        return Math.sin(2 * x[0]) + 1.5 * Math.abs(x[1]) + 0.5 * x[2] - 1.2;
    }

    /** The main class, before label noise: whether {@code z + 0.5 x_3} is positive. */
    static double score(double z, double[] x) {
        return z + 0.5 * x[3];
    }

    /**
     * {@code n} examples in minibatches of {@code batch}: features (the visible x only), then labels[0] = the
     * main class (one-hot, 2 columns) and labels[1] = the withheld feature z.
     */
    static MultiDataSetIterator batches(int n, int batch, Random random) {
        List<MultiDataSet> list = new ArrayList<>();
        double[] x = new double[VISIBLE];
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            float[][] features = new float[mb][VISIBLE];
            float[][] main = new float[mb][2];
            float[][] aux = new float[mb][1];
            for (int i = 0; i < mb; i++) {
                for (int j = 0; j < VISIBLE; j++) {
                    x[j] = random.nextGaussian();
                    features[i][j] = (float) x[j];
                }
                double z = withheld(x);
                main[i][score(z, x) + 0.3 * random.nextGaussian() > 0 ? 1 : 0] = 1;
                aux[i][0] = (float) z;
            }
            list.add(new MultiDataSet(new INDArray[]{Nd4j.create(features)},
                    new INDArray[]{Nd4j.create(main), Nd4j.create(aux)}));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }
}
