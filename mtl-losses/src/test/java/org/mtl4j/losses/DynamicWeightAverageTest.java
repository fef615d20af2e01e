package org.mtl4j.losses;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dynamic weight average (Liu et al. 2019, eq. 7): epoch means, the weights, both averagings, persistence. */
class DynamicWeightAverageTest {

    private static final List<Task> THREE = List.of(Task.regression("a"), Task.regression("b"), Task.regression("c"));


    private static TaskLosses step(int epoch, double[] losses, int[] labelled) {
        return new TaskLosses(List.of("a", "b", "c"), losses, labelled, 0, epoch);
    }

    /** Feeds one step to the combinator as the training step does: combine, then update. */
    private static TaskWeights feed(DynamicWeightAverage dwa, int epoch, double[] losses, int... labelled) {
        TaskLosses l = step(epoch, losses, labelled);
        TaskWeights w = dwa.combine(l);
        dwa.update(l, w);
        return w;
    }

    /** Eq. 7 by hand: K exp(r_k / T) / sum_i exp(r_i / T). */
    private static double[] eq7(double temperature, double... ratios) {
        double sum = 0;
        for (double r : ratios) {
            sum += Math.exp(r / temperature);
        }
        double[] w = new double[ratios.length];
        for (int k = 0; k < w.length; k++) {
            w[k] = ratios.length * Math.exp(ratios[k] / temperature) / sum;
        }
        return w;
    }

    @Test
    void weightsAreOneForTwoEpochsThenFollowEquation7FromEpochMeansOfLabelledSteps() {
        DynamicWeightAverage dwa = new DynamicWeightAverage();
        dwa.init(THREE);
        double[] ones = {1, 1, 1};
        // epoch 0: means a = 2, b = 4, c = 1 (c's second step has no labelled example and must not count)
        assertArrayEquals(ones, feed(dwa, 0, new double[]{1, 3, 1}, 4, 4, 4).weights(), 0.0);
        assertArrayEquals(ones, feed(dwa, 0, new double[]{3, 5, 99}, 4, 4, 0).weights(), 0.0);
        // epoch 1: means a = 1, b = 3, c = 0.5
        assertArrayEquals(ones, feed(dwa, 1, new double[]{1, 2, 0.5}, 4, 4, 4).weights(), 0.0);
        assertArrayEquals(ones, feed(dwa, 1, new double[]{1, 4, 0.5}, 4, 4, 4).weights(), 0.0);
        assertArrayEquals(new double[]{2, 4, 1}, dwa.lastEpochMeans(), 0.0, "epoch 1 is still open");
        double[] epoch2 = eq7(2, 1 / 2.0, 3 / 4.0, 0.5 / 1.0);
        assertArrayEquals(epoch2, feed(dwa, 2, new double[]{0.9, 2, 0.25}, 4, 4, 4).weights(), 1e-15);
        assertArrayEquals(new double[]{1, 3, 0.5}, dwa.lastEpochMeans(), 0.0, "epoch 1 is closed by epoch 2's first step");
        assertArrayEquals(epoch2, feed(dwa, 2, new double[]{0.7, 2, 0.75}, 4, 4, 4).weights(), 1e-15,
                "constant over the epoch");
        assertEquals(3.0, sum(epoch2), 1e-15);
        assertTrue(epoch2[1] > epoch2[0] && epoch2[0] == epoch2[2], "the slowest-falling loss gets the most weight");
        // epoch 3 from epochs 2 (0.8, 2, 0.5) and 1 (1, 3, 0.5)
        assertArrayEquals(eq7(2, 0.8, 2 / 3.0, 1), feed(dwa, 3, new double[]{1, 1, 1}, 4, 4, 4).weights(), 1e-15);
    }

    @Test
    void perExampleAveragingWeighsEachStepByItsLabelledCountAsLibMtlDoes() {
        DynamicWeightAverage dwa = new DynamicWeightAverage(1.5, DynamicWeightAverage.Averaging.PER_EXAMPLE);
        dwa.init(THREE);
        feed(dwa, 0, new double[]{1, 2, 2}, 1, 2, 2);
        feed(dwa, 0, new double[]{4, 2, 2}, 3, 2, 2);     // a: (1*1 + 4*3) / 4 = 3.25
        feed(dwa, 1, new double[]{2, 1, 1}, 2, 2, 2);
        feed(dwa, 1, new double[]{1, 1, 3}, 6, 2, 6);     // a: (2*2 + 1*6) / 8 = 1.25, c: (2 + 18) / 8 = 2.5
        assertArrayEquals(eq7(1.5, 1.25 / 3.25, 0.5, 2.5 / 2), feed(dwa, 2, new double[]{1, 1, 1}, 1, 1, 1).weights(),
                1e-15);
        DynamicWeightAverage perStep = new DynamicWeightAverage(1.5);
        perStep.init(THREE);
        feed(perStep, 0, new double[]{1, 2, 2}, 1, 2, 2);
        feed(perStep, 0, new double[]{4, 2, 2}, 3, 2, 2);  // a: 2.5
        feed(perStep, 1, new double[]{2, 1, 1}, 2, 2, 2);
        feed(perStep, 1, new double[]{1, 1, 3}, 6, 2, 6);  // a: 1.5, c: 2
        assertArrayEquals(eq7(1.5, 1.5 / 2.5, 0.5, 1), feed(perStep, 2, new double[]{1, 1, 1}, 1, 1, 1).weights(), 1e-15);
    }

    @Test
    void aRatioThatCannotBeFormedCountsAsOne() {
        DynamicWeightAverage dwa = new DynamicWeightAverage();
        dwa.init(THREE);
        feed(dwa, 0, new double[]{2, 0, 1}, 4, 4, 0);     // c unlabelled all epoch; b's mean is 0
        feed(dwa, 1, new double[]{1, 1, 1}, 4, 4, 4);
        assertArrayEquals(eq7(2, 0.5, 1, 1), feed(dwa, 2, new double[]{1, 1, 1}, 4, 4, 4).weights(), 1e-15);
        // an epoch without steps (epoch 3 skipped): epoch 4 has epoch 3's means undefined, so all ratios are 1
        assertArrayEquals(new double[]{1, 1, 1}, feed(dwa, 4, new double[]{1, 1, 1}, 4, 4, 4).weights(), 1e-15);
    }

    @Test
    void trainingThroughFitUsesTheMeansOfTheStepLosses() {
        List<MultiDataSet> data = data(3);
        MultiTaskNetwork net = network(new DynamicWeightAverage(0.5));
        List<StepResult> steps = new ArrayList<>();
        net.addListeners(new org.mtl4j.core.TrainingListener() {
            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                steps.add(step);
            }
        });
        net.fit(new TestMultiDataSetIterator(1, data.toArray(new MultiDataSet[0])), 4);
        assertEquals(12, steps.size());
        double[][] means = new double[4][2];
        for (StepResult s : steps) {
            for (int t = 0; t < 2; t++) {
                means[s.epoch()][t] += s.losses().loss(t) / 3;
            }
        }
        for (int e = 0; e < 4; e++) {
            double[] expected = e < 2 ? new double[]{1, 1}
                    : eq7(0.5, means[e - 1][0] / means[e - 2][0], means[e - 1][1] / means[e - 2][1]);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(expected, steps.get(3 * e + i).weights().weights(), 1e-12, "epoch " + e);
            }
        }
    }

    @Test
    void thePapersDefaultsAndValueSemantics() {
        DynamicWeightAverage dwa = new DynamicWeightAverage(0.75, DynamicWeightAverage.Averaging.PER_EXAMPLE);
        DynamicWeightAverage defaults = new DynamicWeightAverage();
        assertEquals(new DynamicWeightAverage(2.0, DynamicWeightAverage.Averaging.PER_STEP), defaults);
        assertEquals(defaults.hashCode(), new DynamicWeightAverage(2.0).hashCode());
        assertTrue(!defaults.equals(dwa));
        assertEquals("DynamicWeightAverage(T=2.0, averaging=PER_STEP)", defaults.toString());
    }

    @Test
    void badConfigurationAndUseFailWithClearMessages() {
        for (double t : new double[]{0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertEquals("dynamic weight average: the temperature must be finite and > 0, got " + t,
                    assertThrows(IllegalArgumentException.class, () -> new DynamicWeightAverage(t)).getMessage());
        }
        DynamicWeightAverage dwa = new DynamicWeightAverage();
        assertEquals("dynamic weight average is not initialised: build the network with it",
                assertThrows(IllegalStateException.class, dwa::state).getMessage());
        dwa.init(THREE);
        assertEquals("dynamic weight average keeps 19 values (the epoch, then loss sums and counts of 3 epochs for 3"
                        + " tasks), got 2",
                assertThrows(IllegalArgumentException.class, () -> dwa.restoreState(new double[2])).getMessage());
        feed(dwa, 3, new double[]{1, 1, 1}, 1, 1, 1);
        assertEquals("dynamic weight average: the network's epoch count went back from 3 to 2; build a new network (or"
                        + " reload one) to restart training",
                assertThrows(IllegalStateException.class, () -> feed(dwa, 2, new double[]{1, 1, 1}, 1, 1, 1))
                        .getMessage());
    }

    private static MultiTaskNetwork network(DynamicWeightAverage dwa) {
        return MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(3, Activation.TANH, 6))
                .tasks(Task.regression("r"), Task.classification("c", 2))
                .losses(dwa).updater(new Adam(0.05)).dataType(DataType.DOUBLE).seed(3).build();
    }

    private static List<MultiDataSet> data(int batches) {
        RandomData d = new RandomData(9, DataType.DOUBLE);
        List<MultiDataSet> data = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            INDArray mask = i == 1 ? d.mask(1, 0, 1, 0, 1, 0, 1, 0) : null;
            data.add(RandomData.dataSet(d.gaussian(8, 3), new INDArray[]{d.gaussian(8, 1), d.oneHot(8, 2)},
                    new INDArray[]{mask, null}));
        }
        return data;
    }

    private static double sum(double[] values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }
}
