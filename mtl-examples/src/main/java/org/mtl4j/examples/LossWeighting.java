package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TrainingHistory;
import org.mtl4j.losses.CaGrad;
import org.mtl4j.losses.DynamicWeightAverage;
import org.mtl4j.losses.GradNorm;
import org.mtl4j.losses.Imtl;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.losses.UncertaintyWeighting;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Loss combinators on two tasks whose losses differ by more than two orders of magnitude: a "price" regression
 * with a noisy target of standard deviation about 30 (its MSE is several hundred before training) and a
 * three-way "tier" classification (cross-entropy about 1.1), both driven by one latent factor. With equal
 * weights the price's gradient swamps the tier's in the shared trunk; the combinators rebalance them, each in
 * its own way. Every network starts from the same parameters (same seed) and sees the same minibatches.
 *
 * <p>Data (made here, seeded): a 2-d latent {@code u ~ N(0, I)} mixed linearly into 16 features with noise
 * of standard deviation 1.5; "tier" is the 120-degree sector of {@code u}'s angle; "price" is
 * {@code 10 (2 u_0 - u_1 + |u|) + noise} with noise of standard deviation 5.
 *
 * <p>Prints per-task test metrics (tier accuracy, price RMSE) and each combinator's mean task weights (the
 * weights on the shared parameters) in the first, middle and last epoch.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.LossWeighting}
 */
public final class LossWeighting {

    /** One combinator's result: test metrics and the mean weights per epoch ({@code [epoch][task]}). */
    public record Row(String combinator, double tierAccuracy, double priceRmse, double[][] weightsPerEpoch) {
    }

    private static final int FEATURES = 16;

    private LossWeighting() {
    }

    /** Trains on 600 examples (or {@code args[0]}) for 30 epochs (or {@code args[1]}) and prints the table. */
    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 600;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        run(examples, epochs, 7, System.out, ExampleTraining.outputFolder("LossWeighting"));
    }

    /** The combinators compared, by the name printed. */
    static Map<String, Supplier<LossCombinator>> combinators() {
        Map<String, Supplier<LossCombinator>> m = new LinkedHashMap<>();
        m.put("equal weights", FixedWeights::equal);
        m.put("uncertainty", UncertaintyWeighting::new);
        m.put("DWA", DynamicWeightAverage::new);
        m.put("GradNorm", GradNorm::new);
        m.put("MGDA-UB", Mgda::new);
        m.put("PCGrad", PcGrad::new);
        m.put("CAGrad", CaGrad::new);
        m.put("IMTL", Imtl::new);
        return m;
    }

    /**
     * Makes the data, trains one network per combinator, prints the table and returns the rows.
     *
     * @param historyRoot null, or the folder where each network's training history and charts are written
     */
    public static List<Row> run(int trainExamples, int epochs, long seed, PrintStream out, Path historyRoot) {
        Random random = new Random(seed);
        double[][] mixing = new double[2][FEATURES];
        for (double[] row : mixing) {
            for (int j = 0; j < FEATURES; j++) {
                row[j] = random.nextGaussian();
            }
        }
        MultiDataSetIterator train = batches(trainExamples, 32, mixing, random);
        MultiDataSetIterator test = batches(2000, 500, mixing, random);
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(FEATURES))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                .build();

        out.printf("mtl4j loss weighting: %d training examples, %d epochs, test set 2000%n", trainExamples, epochs);
        int middle = Math.max(1, (epochs + 1) / 2);
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, Supplier<LossCombinator>> c : combinators().entrySet()) {
            MultiTaskNetwork net = MultiTaskNetwork.builder()
                    .trunk(trunk)
                    .task(Task.classification("tier", 3))
                    .task(Task.regression("price"))
                    .losses(c.getValue().get())
                    .updater(new Adam(5e-3))
                    .seed(seed)
                    .build();
            if (rows.isEmpty()) {
                train.reset();
                double[] initial = net.losses(train.next()).losses();
                out.printf("losses before training (first minibatch): tier %.3g, price %.3g%n", initial[0], initial[1]);
                out.printf("%-14s %9s %11s   mean weights (tier, price) in epochs 1 / %d / %d%n", "combinator",
                        "tier acc", "price RMSE", middle, epochs);
            }
            TrainingHistory history = ExampleTraining.train(net, train, null, epochs, historyRoot, c.getKey()).history();
            TaskEvaluations eval = net.evaluate(test);
            Row row = new Row(c.getKey(), eval.classification("tier").accuracy(),
                    Math.sqrt(eval.regression("price").averageMeanSquaredError()), weightsPerEpoch(history));
            rows.add(row);
            double[][] w = row.weightsPerEpoch();
            out.printf("%-14s %9.4f %11.1f   %s / %s / %s%n", row.combinator(), row.tierAccuracy(), row.priceRmse(),
                    pair(w[0]), pair(w[middle - 1]), pair(w[epochs - 1]));
        }
        if (historyRoot != null) {
            out.println("Training history (CSV) and charts of each network (losses, weights, sigmas): " + historyRoot);
        }
        return rows;
    }

    /** Each epoch's mean weight of each task over its steps, {@code [epoch][task]}. */
    private static double[][] weightsPerEpoch(TrainingHistory history) {
        return history.records().stream()
                .map(r -> r.weights().values().stream().mapToDouble(Double::doubleValue).toArray())
                .toArray(double[][]::new);
    }

    private static String pair(double[] w) {
        return String.format("%.3g %.3g", w[0], w[1]);
    }

    /** {@code n} examples in minibatches of {@code batch}: features, then labels[0] = tier, labels[1] = price. */
    static MultiDataSetIterator batches(int n, int batch, double[][] mixing, Random random) {
        List<MultiDataSet> list = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            INDArray x = Nd4j.create(DataType.FLOAT, mb, FEATURES);
            INDArray tier = Nd4j.create(DataType.FLOAT, mb, 3);
            INDArray price = Nd4j.create(DataType.FLOAT, mb, 1);
            for (int i = 0; i < mb; i++) {
                double u0 = random.nextGaussian();
                double u1 = random.nextGaussian();
                for (int j = 0; j < FEATURES; j++) {
                    x.putScalar(i, j, u0 * mixing[0][j] + u1 * mixing[1][j] + 1.5 * random.nextGaussian());
                }
                double angle = Math.atan2(u1, u0) + Math.PI;
                tier.putScalar(i, Math.min(2, (int) (angle / (2 * Math.PI / 3))), 1.0);
                price.putScalar(i, 0, 10 * (2 * u0 - u1 + Math.hypot(u0, u1)) + 5 * random.nextGaussian());
            }
            list.add(new MultiDataSet(new INDArray[]{x}, new INDArray[]{tier, price}));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }
}
