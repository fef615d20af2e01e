package org.mtl4j.spark;

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
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
