package org.mtl4j.losses;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.testing.SplitGradients;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mtl4j.core.testing.GradientVectors.combination;
import static org.mtl4j.core.testing.GradientVectors.dot;
import static org.mtl4j.core.testing.GradientVectors.gram;
import static org.mtl4j.core.testing.GradientVectors.losses;
import static org.mtl4j.core.testing.GradientVectors.randomGradients;
import static org.mtl4j.core.testing.SplitGradients.assertSplitGradient;
import static org.mtl4j.core.testing.SplitGradients.batch;
import static org.mtl4j.core.testing.SplitGradients.encoderGradients;
import static org.mtl4j.core.testing.SplitGradients.network;
import static org.mtl4j.core.testing.SplitGradients.select;

/**
 * PCGrad (Yu et al. 2020, Algorithm 1): hand-computed projections of two gradients, an independent vector
 * implementation for several, orders fixed by the seed and iteration, the network's split backward and
 * configuration errors. Each task's own gradient on the network comes from {@link SplitGradients}.
 */
class PcGradTest {

    /** Each task's projected gradient and the order in which it visited the others. */
    private record Projection(double[][] projected, int[][] orders) {
        double[] sum() {
            double[] ones = new double[projected.length];
            Arrays.fill(ones, 1);
            return combination(ones, projected);
        }
    }

    /**
     * Algorithm 1 on explicit vectors: task i starts at g_i and, visiting the other tasks in its order, removes
     * the component along g_j whenever it conflicts with g_j. The orders are PcGrad's specification: one
     * generator {@code IterationRandom.of(seed, iteration)}, one shuffle of the other tasks per task, in task order.
     */
    private static Projection algorithm1(double[][] g, long seed, long iteration) {
        SplittableRandom random = IterationRandom.of(seed, iteration);
        double[][] projected = new double[g.length][];
        int[][] orders = new int[g.length][];
        for (int i = 0; i < g.length; i++) {
            int self = i;
            orders[i] = IterationRandom.shuffle(IntStream.range(0, g.length).filter(j -> j != self).toArray(), random);
            double[] p = g[i].clone();
            for (int j : orders[i]) {
                double conflict = dot(p, g[j]);
                if (conflict < 0) {
                    p = combination(new double[]{1, -conflict / dot(g[j], g[j])}, p, g[j]);
                }
            }
            projected[i] = p;
        }
        return new Projection(projected, orders);
    }

    @Test
    void gradientsWithoutConflictAreLeftAlone() {
        TaskWeights orthogonal = new PcGrad().combine(losses(new double[]{1, 0}, new double[]{0, 3}));
        assertArrayEquals(new double[]{1, 1}, orthogonal.weights(), 0.0);
        assertArrayEquals(new double[]{1, 1}, orthogonal.headWeights(), 0.0);
        assertArrayEquals(new double[]{1, 1, 1}, new PcGrad().combine(losses(new double[]{1, 1}, new double[]{1, 0},
                new double[]{0, 1})).weights(), 0.0, "acute angles only");
    }

    @Test
    void aConflictingPairIsProjectedOntoEachOthersNormalPlane() {
        double[] g1 = {1, 0};
        double[] g2 = {-1, 1};
        // g1' = g1 - (g1.g2 / ||g2||^2) g2 = g1 + g2/2 = (0.5, 0.5)
        // g2' = g2 - (g2.g1 / ||g1||^2) g1 = g2 + g1 = (0, 1)
        double[] c = new PcGrad().combine(losses(g1, g2)).weights();
        assertArrayEquals(new double[]{2, 1.5}, c, 1e-15);
        assertArrayEquals(new double[]{0.5, 1.5}, combination(c, g1, g2), 1e-15, "g1' + g2'");
        assertTrue(dot(combination(c, g1, g2), g1) >= 0 && dot(combination(c, g1, g2), g2) >= 0);
        assertArrayEquals(new double[]{1, 0.75}, PcGrad.builder().mean(true).build().combine(losses(g1, g2)).weights(),
                1e-15);
    }

    @Test
    void severalConflictingGradientsMatchAlgorithm1OnTheVectors() {
        Random r = new Random(5);
        int projectedSomething = 0;
        for (int trial = 0; trial < 40; trial++) {
            double[][] g = randomGradients(r, 3 + trial % 2, trial % 3 == 0 ? 5 : 3);
            long iteration = 1000L * trial;
            double[] c = PcGrad.builder().seed(7).build().combine(losses(iteration, new double[g.length], g)).weights();
            Projection expected = algorithm1(g, 7, iteration);
            double scale = Arrays.stream(gram(g)).mapToDouble(row -> Arrays.stream(row).map(Math::abs).max().orElse(0))
                    .max().orElse(0);
            assertArrayEquals(expected.sum(), combination(c, g), 1e-12 * scale, "trial " + trial);
            for (int j = 0; j < g.length; j++) {
                assertTrue(c[j] >= 1, "c_" + j + " = " + c[j]);
            }
            for (int i = 0; i < g.length; i++) {
                int last = expected.orders()[i][g.length - 2];
                assertTrue(dot(expected.projected()[i], g[last]) >= -1e-12 * scale,
                        "g_" + i + "^PC does not conflict with the last gradient it visited");
            }
            projectedSomething += Arrays.stream(c).anyMatch(v -> v > 1) ? 1 : 0;
            double[] mean = PcGrad.builder().seed(7).mean(true).build().coefficients(gram(g), iteration);
            for (int j = 0; j < g.length; j++) {
                assertEquals(c[j] / g.length, mean[j], 1e-15 * c[j]);
            }
        }
        assertTrue(projectedSomething > 30, projectedSomething + " of 40 trials had a conflict");
    }

    @Test
    void theOrdersAreAFunctionOfTheSeedAndTheIterationOnly() {
        double[][] g = {{1, 0, 0}, {-0.8, 1, 0.1}, {-0.2, -0.9, 0.5}, {0.3, 0.4, -1}};
        double[][] gram = gram(g);
        double[] reference = PcGrad.builder().seed(5).build().coefficients(gram, 3);
        assertArrayEquals(reference, PcGrad.builder().seed(5).build().coefficients(gram, 3), 0.0);
        assertArrayEquals(reference, PcGrad.builder().seed(5).build().combine(losses(3, new double[4], g)).weights(),
                0.0);
        long otherIteration = IntStream.range(0, 100).filter(it -> !Arrays.equals(reference,
                PcGrad.builder().seed(5).build().coefficients(gram, it))).findFirst().orElse(-1);
        assertTrue(otherIteration >= 0, "some iteration draws other orders that change the coefficients");
        assertArrayEquals(algorithm1(g, 5, otherIteration).sum(),
                combination(PcGrad.builder().seed(5).build().coefficients(gram, otherIteration), g), 1e-12);
        long otherSeed = IntStream.range(0, 100).filter(s -> !Arrays.equals(reference,
                PcGrad.builder().seed(s).build().coefficients(gram, 3))).findFirst().orElse(-1);
        assertTrue(otherSeed >= 0, "some seed draws other orders");
    }

    @Test
    void theEncoderTrainsOnTheProjectedSumAndEachHeadOnItsPlainGradient() {
        MultiDataSet batch = batch(3, 6, 3);
        MultiTaskNetwork net = network(new PcGrad(), new Sgd(0.1), 3);
        double[][] g = encoderGradients(net, batch);
        var result = net.gradient(batch);
        double[] c = result.weights().weights();
        assertTrue(Arrays.stream(c).anyMatch(v -> v > 1), "the tasks conflict: " + Arrays.toString(c));
        assertArrayEquals(new double[]{1, 1, 1}, result.weights().headWeights(), 0.0);
        assertArrayEquals(algorithm1(g, 0, 0).sum(), select(net, result.gradient(), k -> k.startsWith("trunk_")),
                1e-12, "seed 0, iteration 0");
        assertSplitGradient(net, result.gradient(), batch, c, new double[]{1, 1, 1});
        assertEquals(result.weights(), net.fit(batch).weights(), "the step draws the orders gradient() drew");
    }

    @Test
    void badConfigurationFailsWithClearMessages() {
        assertEquals("PCGrad needs task gradients: SHARED_PARAMETERS (the paper), REPRESENTATION or LAST_SHARED_LAYER,"
                        + " not NONE",
                assertThrows(IllegalArgumentException.class,
                        () -> PcGrad.builder().gradients(SharedGradients.NONE).build()).getMessage());
        String message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0))
                .task(Task.regression("high"))
                .losses(PcGrad.builder().gradients(SharedGradients.REPRESENTATION).build()).build()).getMessage();
        assertTrue(message.startsWith("PcGrad(gradients=REPRESENTATION, seed=0) reads gradients of kind"
                + " REPRESENTATION, which needs one representation read by every task"), message);
    }
}
