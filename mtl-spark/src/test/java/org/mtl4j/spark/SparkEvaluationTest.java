package org.mtl4j.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TaskMetric;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SparkEvaluationTest {

    private final JavaSparkContext sc = LocalSpark.context();

    @Test
    void clusterEvaluationEqualsLocalEvaluation() {
        MultiTaskNetwork network = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.05));
        SparkTrainer trainer = SparkTrainer.builder().epochs(2).workers(2).averagingFrequency(2).build();
        trainer.fit(network, sc.parallelize(LocalSpark.batches(6, 6, 8), 2));
        List<MultiDataSet> test = masked(7, 5, 7);

        TaskEvaluations local = network.evaluate(iterator(test));
        TaskEvaluations cluster = trainer.evaluate(network, sc.parallelize(test, 3));

        assertEquals(local.taskNames(), cluster.taskNames());
        Evaluation lc = local.classification("c");
        Evaluation cc = cluster.classification("c");
        assertEquals(lc.getConfusion().toCSV(), cc.getConfusion().toCSV());
        assertEquals(lc.accuracy(), cc.accuracy(), 0.0);
        RegressionEvaluation lr = local.regression("r");
        RegressionEvaluation cr = cluster.regression("r");
        assertEquals(lr.averageMeanSquaredError(), cr.averageMeanSquaredError(), 1e-6);
        assertEquals(lr.averageMeanAbsoluteError(), cr.averageMeanAbsoluteError(), 1e-6);
        assertEquals(lr.averagePearsonCorrelation(), cr.averagePearsonCorrelation(), 1e-6);
        // DL4J's R^2 sums squared deviations from a running label mean updated per minibatch, so it depends on how
        // the minibatches are grouped (here: into partitions) and equals the one-pass value only approximately
        assertEquals(lr.averageRSquared(), cr.averageRSquared(), 1e-3);
        for (String task : List.of("c", "r")) {
            assertEquals(local.loss(task), cluster.loss(task), 1e-9, task);
        }
    }

    @Test
    void validationDataIsEvaluatedOnTheClusterAfterEveryEpoch() {
        MultiTaskNetwork network = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.05));
        List<MultiDataSet> valid = masked(8, 3, 6);
        JavaRDD<MultiDataSet> validRdd = sc.parallelize(valid, 2).cache();
        SparkTrainer trainer = SparkTrainer.builder().epochs(2).workers(2).averagingFrequency(3).validation(validRdd)
                .build();
        SparkTrainingResult result = trainer.fit(network, sc.parallelize(LocalSpark.batches(9, 4, 8), 2));

        assertEquals(2, result.history().size());
        TaskEvaluations local = network.evaluate(iterator(valid));
        TaskEvaluations last = result.evaluation().orElseThrow();
        assertEquals(local.classification("c").accuracy(), last.classification("c").accuracy(), 0.0);
        assertEquals(local.metric("c", TaskMetric.ACCURACY), result.history().last().valid("c", TaskMetric.ACCURACY),
                0.0);
        assertEquals(local.loss("r"), result.history().last().valid("r", TaskMetric.LOSS), 1e-9);
        assertArrayEquals(new double[]{1, 2}, result.history().column("epoch"));
    }

    /** Minibatches where about a third of the examples lack a label for each task. */
    private static List<MultiDataSet> masked(long seed, int n, int mb) {
        RandomData random = new RandomData(seed, DataType.FLOAT);
        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] c = new double[mb];
            double[] r = new double[mb];
            for (int e = 0; e < mb; e++) {
                c[e] = random.random().nextInt(3) == 0 ? 0 : 1;
                r[e] = random.random().nextInt(3) == 0 ? 0 : 1;
            }
            batches.add(RandomData.dataSet(random.gaussian(mb, 4),
                    new INDArray[]{random.oneHot(mb, 3), random.gaussian(mb, 1)},
                    new INDArray[]{random.mask(c), random.mask(r)}));
        }
        return batches;
    }

    private static TestMultiDataSetIterator iterator(List<MultiDataSet> data) {
        return new TestMultiDataSetIterator(1, data.toArray(new org.nd4j.linalg.dataset.MultiDataSet[0]));
    }
}
