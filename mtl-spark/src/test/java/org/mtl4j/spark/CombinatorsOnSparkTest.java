package org.mtl4j.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.losses.DynamicWeightAverage;
import org.mtl4j.losses.GradNorm;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.losses.UncertaintyWeighting;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Stateful and gradient-level combinators train on Spark unchanged: one worker equals local training. */
class CombinatorsOnSparkTest {

    @ParameterizedTest
    @ValueSource(strings = {"uncertainty", "dwa", "gradnorm", "pcgrad"})
    void oneWorkerOverTwoEpochsEqualsLocalTraining(String kind) {
        List<MultiDataSet> data = LocalSpark.batches(12, 3, 6);
        MultiTaskNetwork local = LocalSpark.network(sharing(kind), combinator(kind), new Adam(0.01));
        local.fit(new TestMultiDataSetIterator(1, data.toArray(new org.nd4j.linalg.dataset.MultiDataSet[0])), 2);

        MultiTaskNetwork spark = LocalSpark.network(sharing(kind), combinator(kind), new Adam(0.01));
        SparkTrainer.builder().epochs(2).workers(1).averagingFrequency(1).shuffle(false).build()
                .fit(spark, LocalSpark.context().parallelize(data, 1));

        Exact.assertSameValues(local.params(), spark.params(), kind + " parameters");
        assertArrayEquals(local.losses().state(), spark.losses().state(), kind + " combinator state");
        assertEquals(local.iterationCount(), spark.iterationCount());
        assertEquals(2, spark.epochCount());
    }

    @Test
    void gradNormKeepsTheInitialLossOfTheWorkersThatSawATaskInTheFirstRound() {
        List<MultiDataSet> data = LocalSpark.batches(21, 4, 5);
        INDArray none = Nd4j.zeros(DataType.FLOAT, 5, 1);
        INDArray all = Nd4j.ones(DataType.FLOAT, 5, 1);
        MultiDataSet unlabelled = new org.nd4j.linalg.dataset.MultiDataSet(data.get(0).getFeatures(),
                data.get(0).getLabels(), null, new INDArray[]{all, none});
        data.set(0, unlabelled);
        MultiTaskNetwork spark = LocalSpark.network(new HardSharing(), new GradNorm(), new Adam(0.01));
        // minibatch i goes to worker i mod 2: in the first round worker 0 sees no label of "r", worker 1 does
        SparkTrainer.builder().epochs(1).workers(2).averagingFrequency(1).shuffle(false).build()
                .fit(spark, LocalSpark.context().parallelize(data, 2));

        MultiTaskNetwork start = LocalSpark.network(new HardSharing(), new GradNorm(), new Adam(0.01));
        double c = (start.losses(data.get(0)).loss(0) + start.losses(data.get(1)).loss(0)) / 2;
        double r = start.losses(data.get(1)).loss(1);
        double[] initial = ((GradNorm) spark.losses()).initialLosses();
        assertEquals(c, initial[0], 1e-5 * c, "c: the mean of both workers' first losses");
        assertEquals(r, initial[1], 1e-5 * r, "r: worker 1's first loss alone, not its mean with worker 0's 0");
    }

    @Test
    void theDefaultMergeIsTheMeanAndRefusesStatesOfOtherLengths() {
        double[] merged = new UncertaintyWeighting().mergeStates(new double[]{9, 9},
                List.of(new double[]{1, 4}, new double[]{2, 8}));
        assertArrayEquals(new double[]{1.5, 6}, merged, 0.0);
        assertEquals("worker 1's state has 1 values, but worker 0's has 2", assertThrows(IllegalArgumentException.class,
                () -> LossCombinator.meanState(List.of(new double[2], new double[1]))).getMessage());
    }

    /** Cross-stitch, except for GradNorm, whose default reads the one last shared layer hard sharing has. */
    private static SharingStrategy sharing(String kind) {
        return kind.equals("gradnorm") ? new HardSharing() : new CrossStitch();
    }

    private static LossCombinator combinator(String kind) {
        return switch (kind) {
            case "uncertainty" -> new UncertaintyWeighting();
            case "dwa" -> new DynamicWeightAverage();
            case "gradnorm" -> new GradNorm();
            case "pcgrad" -> new PcGrad();
            default -> throw new IllegalArgumentException(kind);
        };
    }
}
