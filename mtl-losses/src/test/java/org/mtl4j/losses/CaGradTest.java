package org.mtl4j.losses;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mtl4j.core.testing.GradientVectors.combination;
import static org.mtl4j.core.testing.GradientVectors.dot;
import static org.mtl4j.core.testing.GradientVectors.losses;
import static org.mtl4j.core.testing.GradientVectors.randomGradients;
import static org.mtl4j.core.testing.SplitGradients.assertSplitGradient;
import static org.mtl4j.core.testing.SplitGradients.batch;
import static org.mtl4j.core.testing.SplitGradients.encoderGradients;
import static org.mtl4j.core.testing.SplitGradients.network;

/**
 * CAGrad (Liu et al. 2021): the average gradient at c = 0, an independent one-dimensional solve of the dual for
 * two tasks, the primal property (best worst-task improvement in the ball) for three, the rescaling options,
 * equal and zero gradients, the network's split backward, persistence of every option and configuration
 * errors. Vector fixtures come from {@link org.mtl4j.core.testing.GradientVectors}, network ones from
 * {@link org.mtl4j.core.testing.SplitGradients}.
 */
class CaGradTest {

    /**
     * The two-task coefficients solved here in one dimension: with {@code g_w = x g1 + (1 - x) g2} the dual
     * {@code F(x) = g_w . g0 + c ||g0|| ||g_w||} is convex, so its minimiser on [0, 1] is a root of
     * {@code F'(x) = (g1 - g2) . g0 + c ||g0|| (g_w . (g1 - g2)) / ||g_w||} (found by bisection) or an end; then
     * {@code d = g0 + (c ||g0|| / ||g_w||) g_w}.
     */
    private static double[] twoTaskCoefficients(double c, double[] g1, double[] g2) {
        double[] g0 = combination(new double[]{0.5, 0.5}, g1, g2);
        double[] diff = combination(new double[]{1, -1}, g1, g2);
        double radius = c * Math.sqrt(dot(g0, g0));
        java.util.function.DoubleUnaryOperator slope = x -> {
            double[] gw = combination(new double[]{x, 1 - x}, g1, g2);
            return dot(diff, g0) + radius * dot(gw, diff) / Math.sqrt(dot(gw, gw));
        };
        double lo = 0;
        double hi = 1;
        if (slope.applyAsDouble(0) >= 0) {
            hi = 0;
        } else if (slope.applyAsDouble(1) <= 0) {
            lo = 1;
        } else {
            for (int i = 0; i < 200; i++) {
                double mid = (lo + hi) / 2;
                if (slope.applyAsDouble(mid) < 0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        double x = (lo + hi) / 2;
        double[] gw = combination(new double[]{x, 1 - x}, g1, g2);
        double lambda = radius / Math.sqrt(dot(gw, gw));
        return new double[]{0.5 + lambda * x, 0.5 + lambda * (1 - x)};
    }

    /** The worst task's improvement {@code min_t g_t . d}. */
    private static double worst(double[][] g, double[] d) {
        return Arrays.stream(g).mapToDouble(gt -> dot(gt, d)).min().orElseThrow();
    }

    @Test
    void zeroCGivesTheAverageGradient() {
        double[][] g = randomGradients(new Random(1), 3, 4);
        TaskWeights w = new CaGrad(0).combine(losses(g));
        assertArrayEquals(new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}, w.weights(), 0.0);
        assertArrayEquals(new double[]{1, 1, 1}, w.headWeights(), 0.0);
    }

    /**
     * The coefficients agree to 1e-8: the class's backtracking accepts steps on dual values, which near the
     * minimum differ by less than rounding, so its w stops up to ~3e-9 from the root of F' (worst seen: 2.5e-9
     * in a coefficient, at equal F to the last bit).
     */
    @Test
    void twoTasksMatchAOneDimensionalSolveOfTheDual() {
        // pairs (cases[2i], cases[2i+1]): random, and a hand-picked conflicting one
        double[][] cases = new double[22][];
        Random r = new Random(2);
        for (int i = 0; i < 20; i++) {
            cases[i] = randomGradients(r, 1, 3)[0];
        }
        cases[20] = new double[]{1, 0, 0};
        cases[21] = new double[]{-0.5, 1, 0};
        for (double c : new double[]{0.2, 0.5, 0.9}) {
            CaGrad caGrad = new CaGrad(c);
            for (int i = 0; i < cases.length; i += 2) {
                double[] expected = twoTaskCoefficients(c, cases[i], cases[i + 1]);
                assertArrayEquals(expected, caGrad.combine(losses(cases[i], cases[i + 1])).weights(), 1e-8,
                        "c = " + c + ", pair " + i / 2);
            }
        }
    }

    @Test
    void theDirectionMaximisesTheWorstImprovementWithinTheBall() {
        Random r = new Random(3);
        for (int trial = 0; trial < 10; trial++) {
            double[][] g = randomGradients(r, 3 + trial % 2, 4);
            double c = 0.3 + 0.06 * trial;
            double[] d = combination(new CaGrad(c).combine(losses(g)).weights(), g);
            double[] ones = new double[g.length];
            Arrays.fill(ones, 1.0 / g.length);
            double[] g0 = combination(ones, g);
            double radius = c * Math.sqrt(dot(g0, g0));
            double[] offset = combination(new double[]{1, -1}, d, g0);
            assertTrue(Math.sqrt(dot(offset, offset)) <= radius * (1 + 1e-9), "in the ball, trial " + trial);
            double best = worst(g, d);
            double tol = 1e-9 * Arrays.stream(g).mapToDouble(v -> dot(v, v)).max().orElseThrow();
            assertTrue(best >= worst(g, g0) - tol, "no worse than the average gradient, trial " + trial);
            for (int sample = 0; sample < 2000; sample++) {
                double[] u = new double[g0.length];
                for (int k = 0; k < u.length; k++) {
                    u[k] = r.nextGaussian();
                }
                double scale = radius / Math.sqrt(dot(u, u)) * (sample % 2 == 0 ? 1 : Math.pow(r.nextDouble(), 0.25));
                double[] other = combination(new double[]{1, scale}, g0, u);
                assertTrue(best >= worst(g, other) - tol, "trial " + trial + ": " + best + " < " + worst(g, other));
            }
        }
    }

    @Test
    void rescalingAndSumScaleMultiplyTheCoefficients() {
        double[][] g = randomGradients(new Random(4), 3, 5);
        double c = 0.4;
        double[] base = new CaGrad(c).combine(losses(g)).weights();
        double[] squared = CaGrad.builder().c(c).rescale(CaGrad.Rescale.ONE_PLUS_C_SQUARED).build().combine(losses(g))
                .weights();
        double[] plain = CaGrad.builder().c(c).rescale(CaGrad.Rescale.ONE_PLUS_C).build().combine(losses(g)).weights();
        double[] sum = CaGrad.builder().c(c).sumScale(true).build().combine(losses(g)).weights();
        double[] both = CaGrad.builder().c(c).rescale(CaGrad.Rescale.ONE_PLUS_C).sumScale(true).build()
                .combine(losses(g)).weights();
        for (int t = 0; t < 3; t++) {
            assertEquals(base[t] / (1 + c * c), squared[t], 1e-15 * base[t]);
            assertEquals(base[t] / (1 + c), plain[t], 1e-15 * base[t]);
            assertEquals(3 * base[t], sum[t], 1e-15 * base[t]);
            assertEquals(3 * base[t] / (1 + c), both[t], 1e-15 * base[t]);
        }
    }

    @Test
    void equalGradientsGiveOnePlusCTimesTheGradient() {
        double[] g = {1, 2, -1};
        double[] d = combination(new CaGrad(0.5).combine(losses(g, g, g)).weights(), g, g, g);
        assertArrayEquals(new double[]{1.5, 3, -1.5}, d, 1e-12);
        CaGrad onePlusC = CaGrad.builder().c(0.5).rescale(CaGrad.Rescale.ONE_PLUS_C).build();
        assertArrayEquals(g, combination(onePlusC.combine(losses(g, g, g)).weights(), g, g, g), 1e-12);
    }

    @Test
    void aTaskWithoutLabelsIsLeftOutAndTheOthersAverage() {
        double[][] g = {{3, 1}, {1, 0}, {0, 2}};
        TaskLosses all = losses(g);
        TaskLosses unlabelled = new TaskLosses(all.taskNames(), all.losses(), new int[]{0, 4, 4}, 0, 0,
                all.gradients(), all.gram());
        double[] w = new CaGrad(0).combine(unlabelled).weights();
        assertArrayEquals(new double[]{0, 0.5, 0.5}, w, 0.0, "c = 0: the average of the two labelled tasks");
        double[] twoTasks = new CaGrad(0.5).combine(losses(g[1], g[2])).weights();
        double[] withUnlabelled = new CaGrad(0.5).combine(unlabelled).weights();
        assertArrayEquals(new double[]{0, twoTasks[0], twoTasks[1]}, withUnlabelled, 0.0);
    }

    @Test
    void zeroGradientsGiveEqualWeightsWithoutNaN() {
        double[] zero = {0, 0};
        assertArrayEquals(new double[]{0.5, 0.5}, new CaGrad(0.5).combine(losses(zero, zero)).weights(), 0.0);
        double[][] g = {zero, {1, 2}, {-1, 0.5}};
        double[] w = new CaGrad(0.5).combine(losses(g)).weights();
        assertTrue(Arrays.stream(w).allMatch(Double::isFinite), Arrays.toString(w));
        double[] g0 = combination(new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}, g);
        double[] offset = combination(new double[]{1, -1}, combination(w, g), g0);
        assertTrue(dot(offset, offset) <= 0.25 * dot(g0, g0) * (1 + 1e-9), "one task without gradient: d in the ball");
    }

    @Test
    void theEncoderTrainsOnTheDirectionAndEachHeadOnItsPlainGradient() {
        MultiDataSet batch = batch(4, 6, 2);
        MultiTaskNetwork net = network(new CaGrad(), new Sgd(0.1), 2);
        double[][] g = encoderGradients(net, batch);
        var result = net.gradient(batch);
        assertArrayEquals(twoTaskCoefficients(0.5, g[0], g[1]), result.weights().weights(), 1e-8);
        assertArrayEquals(new double[]{1, 1}, result.weights().headWeights(), 0.0);
        assertSplitGradient(net, result.gradient(), batch, result.weights().weights(), new double[]{1, 1});
    }

    @Test
    void badConfigurationFailsWithClearMessages() {
        for (double c : new double[]{1, -0.1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertEquals("CAGrad: c must be in [0, 1), got " + c,
                    assertThrows(IllegalArgumentException.class, () -> CaGrad.builder().c(c).build()).getMessage());
        }
        assertEquals("CAGrad: c must be in [0, 1), got 1.0",
                assertThrows(IllegalArgumentException.class, () -> new CaGrad(1)).getMessage());
        assertEquals("CAGrad needs task gradients: SHARED_PARAMETERS (the paper), REPRESENTATION or LAST_SHARED_LAYER,"
                        + " not NONE",
                assertThrows(IllegalArgumentException.class,
                        () -> CaGrad.builder().gradients(SharedGradients.NONE).build()).getMessage());
    }
}
