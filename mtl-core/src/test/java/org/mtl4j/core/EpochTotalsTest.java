package org.mtl4j.core;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An epoch's sums and the record made of them. */
class EpochTotalsTest {

    private static StepResult step(double lossA, int labelledA, double lossB, int labelledB, double penalty) {
        TaskLosses losses = new TaskLosses(List.of("a", "b"), new double[]{lossA, lossB}, new int[]{labelledA, labelledB},
                0, 0);
        return new StepResult(0, 0, losses, new TaskWeights(new double[]{1, 0.5}), penalty, 8);
    }

    @Test
    void stepsAndSumsGiveTheSameRecordByHand() {
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(2, Activation.TANH, 3))
                .task(Task.regression("a")).task(Task.regression("b")).build();
        net.graph().incrementEpochCount();   // the record is read after the epoch count advanced
        EpochTotals steps = new EpochTotals(2);
        steps.add(step(2.0, 8, 1.0, 4, 0.25));
        steps.add(step(4.0, 2, 3.0, 0, 0.75));
        EpochTotals sums = new EpochTotals(2);
        sums.add(new double[]{2.0 * 8 + 4.0 * 2, 1.0 * 4}, new long[]{10, 4}, new double[]{2, 1}, 1.0, 2);

        EpochRecord a = steps.record(net, 1.5, null);
        EpochRecord b = sums.record(net, 1.5, null);
        assertEquals(a, b);
        // a: (2*8 + 4*2) / 10 labelled examples; b: only the first step labelled it
        assertEquals(Map.of("a", 2.4, "b", 1.0), a.trainLoss());
        assertEquals(Map.of("a", 1.0, "b", 0.5), a.weights());
        assertEquals(0.5, a.penalty());
        assertEquals(2, a.steps());
        assertTrue(a.valid().isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sums.add(new double[3], new long[3], new double[3], 0, 1));
        assertEquals("sums for 3, 3 and 3 tasks added to the totals of 2", e.getMessage());
    }
}
