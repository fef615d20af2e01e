package org.mtl4j.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.graph.ParamLayout;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;

import java.io.File;
import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A task can be supervised at a lower trunk stage (low supervision, Sogaard and Goldberg 2016). */
class TaskHierarchyTest {

    @TempDir
    File dir;

    private static MultiTaskNetwork network(LossCombinator losses) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0))
                .task(Task.regression("high"))
                .losses(losses).updater(new NoOp()).dataType(DataType.DOUBLE).seed(2).build();
    }

    private static MultiDataSet batch() {
        RandomData d = new RandomData(1, DataType.DOUBLE);
        return RandomData.dataSet(d.gaussian(5, 4), new INDArray[]{d.oneHot(5, 3), d.gaussian(5, 1)}, null);
    }

    @Test
    void lowTaskReadsTheFirstStageAndSendsNoGradientAboveIt() {
        MultiTaskNetwork net = network(FixedWeights.of(1, 0));
        assertEquals(List.of("trunk_0_0", "trunk_1_0"), net.representationNames());
        INDArray g = net.gradient(batch()).gradient();
        for (String key : List.of("trunk_1_0_W", "trunk_1_0_b")) {
            assertEquals(0.0, ParamLayout.slice(net.graph(), g, key).amaxNumber().doubleValue(), 0.0,
                    key + ": stage 1 gets nothing");
        }
        assertTrue(ParamLayout.slice(net.graph(), g, "trunk_0_0_W").amaxNumber().doubleValue() > 0);
        assertTrue(g.amaxNumber().doubleValue() > 0);
    }

    @Test
    void hierarchyPassesTheNumericGradientCheck() {
        MultiTaskNetwork net = network(FixedWeights.of(0.7, 1.3));
        NumericGradient.Report r = NumericGradient.check(net, batch(), new double[]{0.7, 1.3}, 1e-6, 1e-3, 1e-9);
        assertEquals(0, r.failed(), r::toString);
    }

    @Test
    void stageSurvivesSaveAndLoad() throws IOException {
        MultiTaskNetwork net = network(FixedWeights.equal());
        File file = new File(dir, "h.mtl4j");
        net.save(file);
        MultiTaskNetwork loaded = MultiTaskNetwork.load(file);
        assertEquals(0, loaded.task("low").stage());
        assertEquals(-1, loaded.task("high").stage());
        assertEquals(net.representationNames(), loaded.representationNames());
    }

    @Test
    void aStageBeyondTheTrunkIsRejectedAtBuild() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.regression("r").withStage(2)).build());
        assertEquals("task \"r\" reads trunk stage 2, but the trunk has 2 stages (0..1)", e.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> Task.regression("r").withStage(-1));
        assertEquals("task \"r\": trunk stage must be >= 0, got -1", negative.getMessage());
    }
}
