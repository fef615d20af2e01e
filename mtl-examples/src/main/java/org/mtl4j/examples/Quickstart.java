package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The quickstart: two tasks driven by one shared latent factor, trained with hard parameter sharing and
 * compared with single-task networks trained on the same data.
 *
 * <p>Data (made here, seeded): a 2-d latent factor {@code u ~ N(0, I)} is mixed linearly into 20
 * features with Gaussian noise of standard deviation 2. Task "segment" is the 3-way class of {@code u}'s angle (three 120-degree sectors); task
 * "spend" is the regression target {@code 2 u_0 - u_1 + |u| + noise}. Each task alone sees only a few
 * hundred examples; sharing the trunk lets each task's labels teach the other the latent factor.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java} (or {@code main} from the IDE).
 */
public final class Quickstart {

    /** What the run measured on the test set. */
    public record Result(double mtlAccuracy, double singleAccuracy, double mtlMse, double singleMse) {
    }

    private static final int FEATURES = 20;

    private Quickstart() {
    }

    /** Trains on 300 examples (or {@code args[0]}) for 40 epochs (or {@code args[1]}) and prints the comparison. */
    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        run(examples, epochs, 42, System.out);
    }

    /**
     * Makes the data, trains the multi-task network and the two single-task baselines, prints per-task
     * test metrics and returns them.
     */
    public static Result run(int trainExamples, int epochs, long seed, PrintStream out) {
        Random random = new Random(seed);
        double[][] mixing = new double[2][FEATURES];
        for (double[] row : mixing) {
            for (int j = 0; j < FEATURES; j++) {
                row[j] = random.nextGaussian();
            }
        }
        MultiDataSetIterator train = batches(trainExamples, 32, mixing, random);
        MultiDataSetIterator test = batches(2000, 500, mixing, random);

        // README:begin
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(20))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .build();

        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(trunk)
                .task(Task.classification("segment", 3))   // reads labels[0]
                .task(Task.regression("spend"))             // reads labels[1]
                .updater(new Adam(5e-3))
                .seed(seed)
                .build();

        net.fit(train, epochs);
        TaskEvaluations eval = net.evaluate(test);
        // README:end

        MultiTaskNetwork segmentOnly = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.classification("segment", 3).withLabelsIndex(0))
                .updater(new Adam(5e-3)).seed(seed).build();
        MultiTaskNetwork spendOnly = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.regression("spend").withLabelsIndex(1))
                .updater(new Adam(5e-3)).seed(seed).build();
        segmentOnly.fit(train, epochs);
        spendOnly.fit(train, epochs);
        TaskEvaluations segmentEval = segmentOnly.evaluate(test);
        TaskEvaluations spendEval = spendOnly.evaluate(test);

        Result result = new Result(eval.classification("segment").accuracy(),
                segmentEval.classification("segment").accuracy(),
                eval.regression("spend").averageMeanSquaredError(),
                spendEval.regression("spend").averageMeanSquaredError());
        out.printf("mtl4j quickstart: %d training examples, %d epochs, test set 2000%n", trainExamples, epochs);
        out.printf("%-22s %14s %14s%n", "task (metric)", "hard sharing", "single-task");
        out.printf("%-22s %14.4f %14.4f%n", "segment (accuracy)", result.mtlAccuracy(), result.singleAccuracy());
        out.printf("%-22s %14.4f %14.4f%n", "spend (MSE)", result.mtlMse(), result.singleMse());
        return result;
    }

    /** {@code n} examples in minibatches of {@code batch}: features, then labels[0] = segment, labels[1] = spend. */
    static MultiDataSetIterator batches(int n, int batch, double[][] mixing, Random random) {
        List<MultiDataSet> list = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            INDArray x = Nd4j.create(DataType.FLOAT, mb, FEATURES);
            INDArray segment = Nd4j.create(DataType.FLOAT, mb, 3);
            INDArray spend = Nd4j.create(DataType.FLOAT, mb, 1);
            for (int i = 0; i < mb; i++) {
                double u0 = random.nextGaussian();
                double u1 = random.nextGaussian();
                for (int j = 0; j < FEATURES; j++) {
                    x.putScalar(i, j, u0 * mixing[0][j] + u1 * mixing[1][j] + 2.0 * random.nextGaussian());
                }
                double angle = Math.atan2(u1, u0) + Math.PI;
                segment.putScalar(i, Math.min(2, (int) (angle / (2 * Math.PI / 3))), 1.0);
                spend.putScalar(i, 0, 2 * u0 - u1 + Math.hypot(u0, u1) + 0.1 * random.nextGaussian());
            }
            list.add(new MultiDataSet(new INDArray[]{x}, new INDArray[]{segment, spend}));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }
}
