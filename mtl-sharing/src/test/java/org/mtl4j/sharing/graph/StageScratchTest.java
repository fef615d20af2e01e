package org.mtl4j.sharing.graph;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.sharing.CrossStitch;
import org.mtl4j.sharing.Sluice;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which mixing stages share their backward arrays: those of one graph that mix the same columns into stage outputs
 * of one layout (the gradient checks of equal-width stages check that the sharing gives exact gradients).
 */
class StageScratchTest {

    private static MultiTaskNetwork network(SharingStrategy sharing, boolean hierarchy, int... widths) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, widths))
                .task(Task.classification("c", 2))
                .task(Task.regression("r"))
                .task(hierarchy ? Task.regression("low").withStage(0) : Task.regression("low"))
                .sharing(sharing).updater(new Sgd(0.01)).dataType(DataType.FLOAT).seed(3).build();
    }

    private static MultiDataSet batch(int size) {
        RandomData d = new RandomData(size, DataType.FLOAT);
        return RandomData.dataSet(d.gaussian(size, 3),
                new INDArray[]{d.oneHot(size, 2), d.gaussian(size, 1), d.gaussian(size, 1)}, null);
    }

    private static MixingStage stage(MultiTaskNetwork net, String name) {
        return (MixingStage) net.graph().getVertex(name);
    }

    @Test
    void equalWidthStagesShareOneScratchAndAWiderOneHasItsOwn() {
        MultiTaskNetwork net = network(new CrossStitch(), false, 4, 4, 6);
        net.fit(batch(5));
        Object first = stage(net, "stitch_0").backwardScratch();
        assertNotNull(first);
        assertSame(first, stage(net, "stitch_1").backwardScratch());
        assertNotSame(first, stage(net, "stitch_2").backwardScratch());
        assertEquals(2, stage(net, "stitch_0").keptScratches());
    }

    @Test
    void aStageThatMixesAnotherColumnHasItsOwnScratch() {
        MultiTaskNetwork net = network(new Sluice(), true, 4, 4, 4);
        net.fit(batch(5));
        Object lowest = stage(net, "sluice_0").backwardScratch();
        assertNotSame(lowest, stage(net, "sluice_1").backwardScratch());
        assertSame(stage(net, "sluice_1").backwardScratch(), stage(net, "sluice_2").backwardScratch());
    }

    @Test
    void scratchesOfAnEarlierMinibatchSizeAreDropped() {
        MultiTaskNetwork net = network(new Sluice(), false, 4, 4);
        net.fit(batch(5));
        Object before = stage(net, "sluice_0").backwardScratch();
        net.fit(batch(7));
        assertNotSame(before, stage(net, "sluice_0").backwardScratch());
        assertSame(stage(net, "sluice_0").backwardScratch(), stage(net, "sluice_1").backwardScratch());
        assertEquals(1, stage(net, "sluice_0").keptScratches());
    }

    @Test
    void aStageWithSeveralUnitsStacksItsInputsInTheScratchAndASoleUnitKeepsItsOwn() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4))
                .task(Task.classification("c", 2))
                .task(Task.regression("low").withStage(0))
                .sharing(new Sluice()).updater(new Sgd(0.01)).dataType(DataType.FLOAT).seed(3).build();
        RandomData d = new RandomData(5, DataType.FLOAT);
        net.fit(RandomData.dataSet(d.gaussian(5, 3), new INDArray[]{d.oneHot(5, 2), d.gaussian(5, 1)}, null));
        assertTrue(stage(net, "sluice_0").stacksInScratch());
        assertNotNull(stage(net, "sluice_1").backwardScratch());
        assertFalse(stage(net, "sluice_1").stacksInScratch());
        for (SharingStrategy sharing : new SharingStrategy[]{new CrossStitch(), new Sluice()}) {
            MultiTaskNetwork wide = network(sharing, false, 4, 4);
            wide.fit(batch(5));
            String prefix = sharing instanceof Sluice ? "sluice_" : "stitch_";
            assertTrue(stage(wide, prefix + "0").stacksInScratch());
            assertTrue(stage(wide, prefix + "1").stacksInScratch());
        }
    }

    @Test
    void inferenceMakesNoScratch() {
        MultiTaskNetwork net = network(new CrossStitch(), false, 4, 4);
        net.output(batch(5).getFeatures(0));
        assertEquals(null, stage(net, "stitch_0").backwardScratch());
        assertEquals(0, stage(net, "stitch_0").keptScratches());
    }
}
