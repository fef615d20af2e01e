package org.mtl4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.IUpdater;

import java.util.ArrayList;
import java.util.List;

/**
 * One local Spark context for all test classes of the module (started once, stopped by Spark's shutdown
 * hook), and the small models and data the tests train. Master {@code local[2,2]}: two threads, and a failed
 * task attempt is re-run once.
 */
final class LocalSpark {

    private static JavaSparkContext context;

    private LocalSpark() {
    }

    static synchronized JavaSparkContext context() {
        if (context == null) {
            SparkConf conf = new SparkConf()
                    .setMaster("local[2,2]")
                    .setAppName("mtl4j-spark-tests")
                    .set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1")
                    .set("spark.default.parallelism", "2")
                    .set("spark.sql.shuffle.partitions", "2");
            context = new JavaSparkContext(conf);
        }
        return context;
    }

    /** A network of two tasks (3-class "c", regression "r") on a dense 4 -> 6 -> 5 trunk. */
    static MultiTaskNetwork network(SharingStrategy sharing, LossCombinator losses, IUpdater updater) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .sharing(sharing)
                .losses(losses)
                .updater(updater)
                .seed(7)
                .build();
    }

    /** {@code n} minibatches of {@code mb} examples, every example labelled for both tasks. */
    static List<MultiDataSet> batches(long seed, int n, int mb) {
        RandomData random = new RandomData(seed, DataType.FLOAT);
        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batches.add(RandomData.dataSet(random.gaussian(mb, 4),
                    new INDArray[]{random.oneHot(mb, 3), random.gaussian(mb, 1)}, null));
        }
        return batches;
    }
}
