package org.mtl4j.losses;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Uncertainty weighting (Kendall et al. 2018): weights, the gradient of s, recovery of noise, persistence. */
class UncertaintyWeightingTest {

    private static MultiTaskNetwork network(UncertaintyWeighting losses, Task... tasks) {
        return MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(3, Activation.IDENTITY, 8)).tasks(tasks)
                .losses(losses).updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(4).build();
    }

    private static TaskLosses losses(double... values) {
        List<String> names = new ArrayList<>();
        int[] labelled = new int[values.length];
        for (int t = 0; t < values.length; t++) {
            names.add("t" + t);
            labelled[t] = 5;
        }
        return new TaskLosses(names, values, labelled, 0, 0);
    }

    @Test
    void weightsFollowThePapersTwoFormsAndLibMtlsOption() {
        UncertaintyWeighting paper = UncertaintyWeighting.builder().initialLogVariance(Math.log(4)).build();
        network(paper, Task.regression("r"), Task.classification("c", 3), Task.multiLabel("m", 2));
        assertArrayEquals(new double[]{0.125, 0.25, 0.25}, paper.combine(losses(1, 1, 1)).weights(), 1e-15);
        UncertaintyWeighting libmtl = UncertaintyWeighting.builder().initialLogVariance(Math.log(4))
                .form(UncertaintyWeighting.Form.REGRESSION_FOR_ALL).build();
        network(libmtl, Task.regression("r"), Task.classification("c", 3));
        assertArrayEquals(new double[]{0.125, 0.125}, libmtl.combine(losses(1, 1)).weights(), 1e-15);
    }

    @Test
    void logVarianceGradientMatchesFiniteDifferences() {
        UncertaintyWeighting u = UncertaintyWeighting.builder().initialLogVariance(0.3).build();
        network(u, Task.regression("r"), Task.classification("c", 3));
        TaskLosses l = losses(2.5, 0.7);
        double[] s = u.logVariances();
        double[] analytic = u.logVarianceGradient(l);
        for (int t = 0; t < 2; t++) {
            double[] plus = s.clone();
            double[] minus = s.clone();
            plus[t] += 1e-6;
            minus[t] -= 1e-6;
            double numeric = (u.objective(plus, l) - u.objective(minus, l)) / 2e-6;
            assertEquals(numeric, analytic[t], 1e-8, "task " + t);
        }
        assertEquals(-0.5 * Math.exp(-0.3) * 2.5 + 0.5, analytic[0], 1e-15);
        assertEquals(-Math.exp(-0.3) * 0.7 + 0.5, analytic[1], 1e-15);
    }

    @Test
    void eachTrainingStepMovesSByTheUpdaterAndGradientDoesNot() {
        UncertaintyWeighting u = UncertaintyWeighting.builder().updater(new Sgd(0.1)).build();
        MultiTaskNetwork net = network(u, Task.regression("a"), Task.regression("b"));
        RandomData d = new RandomData(2, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(6, 3), new INDArray[]{d.gaussian(6, 1), d.gaussian(6, 1)},
                new INDArray[]{null, Nd4j.zeros(DataType.DOUBLE, 6, 1)});
        net.gradient(batch);
        assertArrayEquals(new double[]{0, 0}, u.logVariances(), 0.0, "gradient() leaves s alone");
        double loss = net.fit(batch).losses().loss(0);
        // s_a -= 0.1 * (-0.5 * exp(0) * L + 0.5); task b has no labelled example: unchanged
        assertArrayEquals(new double[]{-0.1 * (-0.5 * loss + 0.5), 0}, u.logVariances(), 1e-15);
    }

    @Test
    void learnsTheNoiseVarianceOfEachRegressionTask() {
        UncertaintyWeighting u = UncertaintyWeighting.builder().updater(new Adam(0.02)).build();
        MultiTaskNetwork net = network(u, Task.regression("quiet"), Task.regression("loud"));
        Random r = new Random(7);
        double[] w = {1.5, -2, 0.5};
        for (int step = 0; step < 1500; step++) {
            INDArray x = Nd4j.create(DataType.DOUBLE, 256, 3);
            INDArray quiet = Nd4j.create(DataType.DOUBLE, 256, 1);
            INDArray loud = Nd4j.create(DataType.DOUBLE, 256, 1);
            for (int i = 0; i < 256; i++) {
                double f = 0;
                for (int j = 0; j < 3; j++) {
                    double v = r.nextGaussian();
                    x.putScalar(i, j, v);
                    f += w[j] * v;
                }
                quiet.putScalar(i, 0, f + r.nextGaussian());          // noise variance 1
                loud.putScalar(i, 0, f + 4 * r.nextGaussian());       // noise variance 16
            }
            net.fit(RandomData.dataSet(x, new INDArray[]{quiet, loud}, null));
        }
        double[] variances = u.variances();
        org.slf4j.LoggerFactory.getLogger(UncertaintyWeightingTest.class).info(
                "learned sigma^2: quiet {} (true 1), loud {} (true 16)", variances[0], variances[1]);
        assertEquals(1.0, variances[0], 0.15, "sigma^2 of the quiet task");
        assertEquals(16.0, variances[1], 16 * 0.15, "sigma^2 of the loud task");
        assertEquals(16.0, variances[1] / variances[0], 16 * 0.25, "ratio");
    }

    @Test
    void badUseFailsWithClearMessages() {
        assertEquals("uncertainty weighting: the initial log variance must be finite, got NaN",
                assertThrows(IllegalArgumentException.class,
                        () -> UncertaintyWeighting.builder().initialLogVariance(Double.NaN).build()).getMessage());
        UncertaintyWeighting u = new UncertaintyWeighting();
        assertEquals("uncertainty weighting is not initialised: build the network with it",
                assertThrows(IllegalStateException.class, u::variances).getMessage());
        network(u, Task.regression("a"), Task.regression("b"));
        assertEquals("uncertainty weighting keeps 6 values (2 log variances and the updater's state), got 3",
                assertThrows(IllegalArgumentException.class, () -> u.restoreState(new double[3])).getMessage());
    }

    @Test
    void learnedValuesAreEachTasksSigma() {
        UncertaintyWeighting u = UncertaintyWeighting.builder().initialLogVariance(Math.log(4)).build();
        MultiTaskNetwork net = network(u, Task.regression("a"), Task.classification("b", 2));
        Map<String, Double> learned = net.losses().learnedValues(net.taskNames());
        assertEquals(List.of("sigma[a]", "sigma[b]"), List.copyOf(learned.keySet()));
        assertEquals(2.0, learned.get("sigma[a]"), 1e-15, "sigma = exp(s / 2) with s = log 4");
        assertEquals(2.0, learned.get("sigma[b]"), 1e-15);
    }
}
