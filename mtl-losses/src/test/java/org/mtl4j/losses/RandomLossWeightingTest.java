package org.mtl4j.losses;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.TaskLosses;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random loss weighting (Lin et al. 2022): softmax of normal draws, deterministic per iteration, persistence. */
class RandomLossWeightingTest {

    private static TaskLosses losses(long iteration, int tasks) {
        List<String> names = new ArrayList<>();
        int[] labelled = new int[tasks];
        for (int t = 0; t < tasks; t++) {
            names.add("t" + t);
            labelled[t] = 1;
        }
        return new TaskLosses(names, new double[tasks], labelled, iteration, 0);
    }

    @Test
    void weightsArePositiveSumToOneAndAreFixedByTheIteration() {
        RandomLossWeighting rlw = new RandomLossWeighting(42);
        for (long it = 0; it < 50; it++) {
            double[] w = rlw.combine(losses(it, 4)).weights();
            double sum = 0;
            for (double v : w) {
                assertTrue(v > 0 && v < 1, "weight " + v);
                sum += v;
            }
            assertEquals(1.0, sum, 1e-14);
            assertArrayEquals(w, new RandomLossWeighting(42).combine(losses(it, 4)).weights(), 0.0,
                    "the same seed and iteration give the same weights");
            assertFalse(java.util.Arrays.equals(w, rlw.combine(losses(it + 1, 4)).weights()), "iteration " + it);
            assertFalse(java.util.Arrays.equals(w, new RandomLossWeighting(43).combine(losses(it, 4)).weights()));
        }
    }

    @Test
    void weightsAreTheSoftmaxOfStandardNormalDrawsWithMeanOneOverTheTaskCount() {
        RandomLossWeighting rlw = new RandomLossWeighting();
        int steps = 20000;
        double[] mean = new double[3];
        double logRatioSum = 0;
        double logRatioSquares = 0;
        for (long it = 0; it < steps; it++) {
            double[] w = rlw.weights(it, 3);
            for (int t = 0; t < 3; t++) {
                mean[t] += w[t] / steps;
            }
            // log(w_0 / w_1) = z_0 - z_1 ~ N(0, 2)
            double d = Math.log(w[0] / w[1]);
            logRatioSum += d;
            logRatioSquares += d * d;
        }
        assertArrayEquals(new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}, mean, 0.005);
        assertEquals(0.0, logRatioSum / steps, 0.03, "mean of z_0 - z_1");
        assertEquals(2.0, logRatioSquares / steps, 0.06, "variance of z_0 - z_1");
        assertArrayEquals(new double[]{1.0}, rlw.weights(7, 1), 0.0, "one task always gets weight 1");
    }

    @Test
    void theSeedIsZeroByDefaultAlsoInJson() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        assertEquals(new RandomLossWeighting(), mapper.readValue("{}", RandomLossWeighting.class), "seed 0 by default");
        assertEquals(new RandomLossWeighting(0).hashCode(), new RandomLossWeighting().hashCode());
        assertEquals("RandomLossWeighting(seed=0)", new RandomLossWeighting().toString());
    }

    @Test
    void badUseFailsWithClearMessages() {
        assertEquals("random loss weighting needs at least 1 task, got 0",
                assertThrows(IllegalArgumentException.class, () -> new RandomLossWeighting().weights(0, 0)).getMessage());
        assertEquals("RandomLossWeighting keeps no state, but 1 values were given",
                assertThrows(IllegalArgumentException.class, () -> new RandomLossWeighting().restoreState(new double[1]))
                        .getMessage());
    }

}
