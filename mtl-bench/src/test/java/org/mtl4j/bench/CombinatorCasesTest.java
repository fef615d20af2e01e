package org.mtl4j.bench;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.MultiTaskNetwork;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The combinator cases compare a network with a loss combinator to the same network with fixed equal weights,
 * started from the same parameters: the combinator side really has its combinator, and the first step's losses
 * are the same on both sides.
 */
class CombinatorCasesTest {

    @ParameterizedTest
    @ValueSource(strings = {"uncertainty", "dwa", "gradnorm", "mgda-ub", "imtl", "pcgrad", "cagrad"})
    void bothSidesStartFromTheSameParametersAndOnlyTheCombinatorDiffers(String name) {
        BenchCase c = Cases.named(name);
        assertFalse(c.perTaskBaseline());
        MultiTaskNetwork net = c.buildMtl(5);
        assertFalse(net.losses() instanceof FixedWeights, net.losses().toString());
        Baseline baseline = c.buildBaseline(6);
        assertEquals(1, baseline.graphs().size());
        assertNotEquals(net.params(), baseline.params(), "different seeds give different parameters");
        baseline.copyParameters(name, net);
        c.checkSameParameters(net, baseline);

        List<MultiDataSet> batches = c.batches(2, 7);
        double[] mtlLosses = net.fit(batches.get(0)).losses().losses();
        baseline.fit(batches.get(0));
        assertEquals(mtlLosses[0] + mtlLosses[1], baseline.score(), 1e-6 * baseline.score(),
                "same parameters, same batch: same losses before the first update");
    }
}
