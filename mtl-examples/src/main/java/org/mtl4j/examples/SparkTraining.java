package org.mtl4j.examples;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TaskMetric;
import org.mtl4j.core.TrainingHistory;
import org.mtl4j.core.TrainingResult;
import org.mtl4j.spark.SparkTrainer;
import org.mtl4j.spark.SparkTrainingResult;
import org.mtl4j.ui.HistoryCharts;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The quickstart's two tasks trained on Apache Spark by synchronous parameter averaging
 * ({@link SparkTrainer}), beside the same network trained locally on the same minibatches.
 *
 * <p>From the IDE (or {@code exec:java}) Spark runs in local mode, {@code local[2]}: two worker threads in this
 * JVM; under {@code spark-submit} the master given there is used. The driver's network is trained in place;
 * each epoch the data is split into one share per worker, every worker trains {@code averagingFrequency}
 * minibatches from the driver's state, and the driver sets the mean of the workers' parameters, updater state
 * and combinator state into its network. Validation runs on the cluster after every epoch.
 *
 * <p>Data: the quickstart's (two tasks driven by one latent factor), minibatches of 32; 500 validation and
 * 2000 test examples.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.SparkTraining}
 */
public final class SparkTraining {

    /**
     * What the run measured on the test set, and both histories.
     *
     * @param localSeconds the wall time of local training's epochs, validation included
     * @param sparkSeconds the wall time of Spark training's epochs, validation included (without the context's
     *                     start and the one-off partitioning of the data)
     */
    public record Result(double localAccuracy, double sparkAccuracy, double localMse, double sparkMse,
                         TrainingHistory localHistory, TrainingHistory sparkHistory, double localSeconds,
                         double sparkSeconds) {
    }

    private SparkTraining() {
    }

    /** 3000 training examples (or {@code args[0]}), 10 epochs (or {@code args[1]}), 2 workers (or {@code args[2]}). */
    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int workers = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        run(examples, epochs, workers, 42, System.out, ExampleTraining.outputFolder("SparkTraining"));
    }

    /**
     * Makes the data, trains the network locally and on Spark (a local context that this method starts and
     * stops, unless a master is set, e.g. by {@code spark-submit}), prints per-task test metrics and the
     * per-epoch history of both, and returns them.
     *
     * @param historyRoot null, or the folder where both histories and charts are written ({@code local},
     *                    {@code spark})
     */
    public static Result run(int trainExamples, int epochs, int workers, long seed, PrintStream out,
                             Path historyRoot) {
        Random random = new Random(seed);
        double[][] mixing = new double[2][20];
        for (double[] row : mixing) {
            for (int j = 0; j < 20; j++) {
                row[j] = random.nextGaussian();
            }
        }
        List<MultiDataSet> trainBatches = list(Quickstart.batches(trainExamples, 32, mixing, random));
        List<MultiDataSet> validBatches = list(Quickstart.batches(500, 250, mixing, random));
        List<MultiDataSet> testBatches = list(Quickstart.batches(2000, 500, mixing, random));

        MultiTaskNetwork local = network(seed);
        TrainingResult localResult = ExampleTraining.train(local, iterator(trainBatches), iterator(validBatches),
                epochs, historyRoot, "local");
        TaskEvaluations localEval = local.evaluate(iterator(testBatches));

        SparkRun spark = onSpark(network(seed), trainBatches, validBatches, testBatches, epochs, workers, seed);
        if (historyRoot != null) {
            Path folder = historyRoot.resolve("spark");
            try {
                HistoryCharts.export(spark.result().history(), folder);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the Spark run's history under " + folder, e);
            }
        }

        TaskEvaluations eval = spark.evaluation();
        Result r = new Result(localEval.classification("segment").accuracy(), eval.classification("segment").accuracy(),
                localEval.regression("spend").averageMeanSquaredError(), eval.regression("spend").averageMeanSquaredError(),
                localResult.history(), spark.result().history(), seconds(localResult.history()),
                seconds(spark.result().history()));
        print(r, trainExamples, trainBatches.size(), epochs, workers, out);
        if (historyRoot != null) {
            out.println("history (CSV) and charts: " + historyRoot.resolve("local") + " and " + historyRoot.resolve("spark"));
        }
        return r;
    }

    private record SparkRun(SparkTrainingResult result, TaskEvaluations evaluation) {
    }

    /**
     * Trains {@code network} on Spark (a context this method starts and stops: {@code local[workers]}, unless
     * {@code spark-submit} set a master) and evaluates it on the test minibatches on the cluster.
     */
    private static SparkRun onSpark(MultiTaskNetwork network, List<MultiDataSet> trainBatches,
                                    List<MultiDataSet> validBatches, List<MultiDataSet> testBatches, int epochs,
                                    int workers, long seed) {
        // docs/spark.md:begin
        SparkConf conf = new SparkConf().setAppName("mtl4j-spark-training")
                .setIfMissing("spark.master", "local[" + workers + "]");   // spark-submit --master wins
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            JavaRDD<MultiDataSet> train = sc.parallelize(trainBatches);   // one element per minibatch
            SparkTrainer trainer = SparkTrainer.builder()
                    .epochs(epochs)
                    .workers(workers)                // partitions, each trained by one Spark task
                    .averagingFrequency(5)           // minibatches per worker between two averagings
                    .seed(seed)
                    .validation(sc.parallelize(validBatches))
                    .build();
            SparkTrainingResult result = trainer.fit(network, train);   // trains the driver's network in place
            TaskEvaluations eval = trainer.evaluate(network, sc.parallelize(testBatches));
            // docs/spark.md:end
            return new SparkRun(result, eval);
        }
    }

    /** The wall time of all epochs of a history, validation included. */
    private static double seconds(TrainingHistory history) {
        return history.records().stream().mapToDouble(EpochRecord::seconds).sum();
    }

    private static void print(Result r, int examples, int minibatches, int epochs, int workers, PrintStream out) {
        out.printf("mtl4j on Spark: %d training examples (%d minibatches of 32), %d epochs, %d workers averaging every"
                + " 5 minibatches, test set 2000%n", examples, minibatches, epochs, workers);
        out.printf("%-22s %12s %12s%n", "task (metric)", "local", "Spark");
        out.printf("%-22s %12.4f %12.4f%n", "segment (accuracy)", r.localAccuracy(), r.sparkAccuracy());
        out.printf("%-22s %12.4f %12.4f%n", "spend (MSE)", r.localMse(), r.sparkMse());
        out.printf("%-22s %12.1f %12.1f%n", "training seconds", r.localSeconds(), r.sparkSeconds());
        out.println("per epoch: training loss and validation metrics, local | Spark");
        out.printf("%5s  %8s %8s %8s %8s  |  %8s %8s %8s %8s%n", "epoch", "segment", "spend", "acc", "MSE",
                "segment", "spend", "acc", "MSE");
        List<EpochRecord> local = r.localHistory().records();
        List<EpochRecord> spark = r.sparkHistory().records();
        for (int e = 0; e < Math.min(local.size(), spark.size()); e++) {
            out.printf("%5d  %s  |  %s%n", e + 1, row(local.get(e)), row(spark.get(e)));
        }
    }

    private static String row(EpochRecord e) {
        return String.format("%8.4f %8.4f %8.4f %8.4f", e.trainLoss().get("segment"), e.trainLoss().get("spend"),
                e.valid("segment", TaskMetric.ACCURACY), e.valid("spend", TaskMetric.MSE));
    }

    /** The quickstart's network. */
    static MultiTaskNetwork network(long seed) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(20))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build())
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

    private static MultiDataSetIterator iterator(List<MultiDataSet> batches) {
        return new TestMultiDataSetIterator(1, batches.toArray(new MultiDataSet[0]));
    }

    private static List<MultiDataSet> list(MultiDataSetIterator it) {
        List<MultiDataSet> out = new ArrayList<>();
        it.reset();
        while (it.hasNext()) {
            out.add(it.next());
        }
        return out;
    }
}
