package org.mtl4j.losses;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.testing.ContractChecks;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mtl4j.core.testing.GradientVectors.combination;
import static org.mtl4j.core.testing.GradientVectors.dot;
import static org.mtl4j.core.testing.GradientVectors.losses;
import static org.mtl4j.core.testing.SplitGradients.assertSplitGradient;
import static org.mtl4j.core.testing.SplitGradients.batch;
import static org.mtl4j.core.testing.SplitGradients.encoderGradients;
import static org.mtl4j.core.testing.SplitGradients.network;

/**
 * MGDA-UB (Sener and Koltun 2018): the two-gradient closed form, Frank-Wolfe against an exact min-norm point
 * found by enumerating faces, the gradient normalisations, the network's split backward on representation and
 * shared-parameter gradients, persistence of every option, and configuration errors. Vector fixtures come
 * from {@link org.mtl4j.core.testing.GradientVectors}, network ones from
 * {@link org.mtl4j.core.testing.SplitGradients}.
 */
class MgdaTest {

    /** The closed form for two vectors: the weight on g1 is clamp(((g2 - g1) . g2) / ||g1 - g2||^2, 0, 1). */
    private static double[] twoVectorMinNorm(double[] g1, double[] g2) {
        double[] diff = combination(new double[]{1, -1}, g1, g2);
        double gamma = Math.max(0, Math.min(1, -dot(diff, g2) / dot(diff, diff)));
        return new double[]{gamma, 1 - gamma};
    }

    /**
     * The exact min-norm point of the hull: for every subset S of the vectors, the minimiser of a^T G a with
     * sum a = 1 on S solves the linear system [G_S 1; 1^T 0] [a; -mu] = [0; 1]; the feasible (a >= 0) solution
     * with the least norm wins. Returns ||sum a g||^2 (a singular system's garbage, when feasible, is still a
     * point of the hull, so it can only lose).
     */
    private static double exactMinNormSquared(double[]... g) {
        int n = g.length;
        double best = Double.POSITIVE_INFINITY;
        for (int subset = 1; subset < 1 << n; subset++) {
            int mask = subset;
            int[] s = java.util.stream.IntStream.range(0, n).filter(t -> (mask >> t & 1) == 1).toArray();
            int k = s.length;
            double[][] a = new double[k + 1][k + 2];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    a[i][j] = dot(g[s[i]], g[s[j]]);
                }
                a[i][k] = 1;
                a[k][i] = 1;
            }
            a[k][k + 1] = 1;
            double[] x = solve(a);
            if (x == null) {
                continue;
            }
            double[] weights = new double[n];
            double sum = 0;
            boolean feasible = true;
            for (int i = 0; i < k; i++) {
                feasible &= x[i] >= -1e-12;
                weights[s[i]] = Math.max(x[i], 0);
                sum += x[i];
            }
            if (feasible && Math.abs(sum - 1) < 1e-9) {
                double[] d = combination(weights, g);
                best = Math.min(best, dot(d, d));
            }
        }
        return best;
    }

    /** Gaussian elimination with partial pivoting on an augmented matrix; null when singular. */
    private static double[] solve(double[][] a) {
        int n = a.length;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(a[pivot][col]) < 1e-12) {
                return null;
            }
            double[] swap = a[col];
            a[col] = a[pivot];
            a[pivot] = swap;
            for (int r = 0; r < n; r++) {
                if (r != col) {
                    double f = a[r][col] / a[col][col];
                    for (int c = col; c <= n; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = a[i][n] / a[i][i];
        }
        return x;
    }

    @Test
    void twoGradientsGiveTheClosedFormWeightAndHeadsTrainOnTheirPlainGradients() {
        // g1 = (1,0), g2 = (0,2): gamma = ((-1,2).(0,2)) / 5 = 4/5, d = (0.8, 0.4) with d.g1 = d.g2 = 0.8
        TaskWeights interior = new Mgda().combine(losses(new double[]{1, 0}, new double[]{0, 2}));
        assertArrayEquals(new double[]{0.8, 0.2}, interior.weights(), 1e-15);
        assertArrayEquals(new double[]{1, 1}, interior.headWeights(), 0.0);
        // g1 . g2 = 2 >= ||g1||^2 = 1: g1 itself is the min-norm point, whichever comes first
        assertArrayEquals(new double[]{1, 0}, new Mgda().combine(losses(new double[]{1, 0}, new double[]{2, 1}))
                .weights(), 1e-15);
        assertArrayEquals(new double[]{0, 1}, new Mgda().combine(losses(new double[]{2, 1}, new double[]{1, 0}))
                .weights(), 1e-15);
        Random r = new Random(3);
        Mgda weighted = Mgda.builder().weightHeads(true).build();
        for (int i = 0; i < 20; i++) {
            double[] g1 = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            double[] g2 = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            TaskWeights w = weighted.combine(losses(g1, g2));
            assertArrayEquals(twoVectorMinNorm(g1, g2), w.weights(), 1e-12, "pair " + i);
            assertArrayEquals(w.weights(), w.headWeights(), 0.0, "weightHeads(true): heads weighted as the encoder");
        }
    }

    /**
     * Frank-Wolfe alone converges sublinearly (zig-zagging when the min-norm point lies inside an edge: 4.1% off in
     * squared norm after 250 iterations on the worst of these cases); made exact on its support, the result is the
     * min-norm point to rounding, so the squared norm matches the exact one to 1e-10 relative and the
     * common-descent inequality {@code d . g_t >= ||d||^2} holds to 1e-10 of the largest {@code ||g_t||^2}.
     */
    @Test
    void frankWolfeFindsTheExactMinNormPointOfThreeAndFourGradients() {
        List<double[][]> cases = new ArrayList<>(List.of(
                new double[][]{{1, 0}, {0, 1}, {1, 1}},
                new double[][]{{2, 0.5}, {-1, 2}, {1.5, 3}},
                new double[][]{{1, 0, 0.5}, {0, 1, 0.5}, {-0.5, 0.2, 1}, {0.3, -0.4, 0.8}}));
        Random r = new Random(11);
        for (int i = 0; i < 30; i++) {
            int n = 3 + i % 2;
            double[][] g = new double[n][2 + i % 2];
            for (double[] v : g) {
                for (int k = 0; k < v.length; k++) {
                    v[k] = r.nextGaussian() + (k == 0 ? 1.5 : 0);   // shifted: the hull mostly misses the origin
                }
            }
            cases.add(g);
        }
        for (double[][] g : cases) {
            double exact = exactMinNormSquared(g);
            double[] a = new Mgda().combine(losses(g)).weights();
            double sum = 0;
            double scale = 0;
            for (int t = 0; t < g.length; t++) {
                assertTrue(a[t] >= 0, "weights on the simplex");
                sum += a[t];
                scale = Math.max(scale, dot(g[t], g[t]));
            }
            assertEquals(1.0, sum, 1e-12);
            double[] d = combination(a, g);
            double norm2 = dot(d, d);
            String where = java.util.Arrays.deepToString(g);
            assertTrue(norm2 >= exact - 1e-12 * scale, "shorter than the exact min-norm point: " + where);
            assertEquals(exact, norm2, 1e-10 * Math.max(exact, 1e-3 * scale), where);
            for (double[] gt : g) {
                assertTrue(dot(d, gt) >= norm2 - 1e-10 * scale, "common descent direction for " + where);
            }
        }
    }

    @Test
    void aTaskWithoutLabelsIsLeftOutInsteadOfStoppingTheSharedParameters() {
        // kept in, the unlabelled task's zero gradient is the min-norm point: weights (1, 0, 0), no update
        double[][] g = {{0, 0}, {1, 0}, {0, 2}};
        TaskLosses all = losses(g);
        TaskLosses unlabelled = new TaskLosses(all.taskNames(), all.losses(), new int[]{0, 4, 4}, 0, 0,
                all.gradients(), all.gram());
        double[] w = new Mgda().combine(unlabelled).weights();
        assertArrayEquals(new double[]{0, 0.8, 0.2}, w, 1e-15);
        assertArrayEquals(new double[]{0, 0, 0}, new Mgda().combine(new TaskLosses(all.taskNames(), all.losses(),
                new int[]{0, 0, 0}, 0, 0, all.gradients(), all.gram())).weights(), 0.0);
    }

    @Test
    void normalisationsDivideTheWeightsByEachTasksNormaliser() {
        double[] g1 = {3, 0};
        double[] g2 = {0, 4};
        // L2: normalised (1,0) and (0,1), a = (1/2, 1/2)
        Mgda l2 = Mgda.builder().normalization(Mgda.Normalization.L2).build();
        assertArrayEquals(new double[]{0.5 / 3, 0.5 / 4}, l2.combine(losses(g1, g2)).weights(), 1e-15);
        Mgda l2Raw = Mgda.builder().normalization(Mgda.Normalization.L2).rawGradients(true).build();
        assertArrayEquals(new double[]{0.5, 0.5}, l2Raw.combine(losses(g1, g2)).weights(), 1e-15);
        // LOSS with losses (2, 0.5) on (2,0), (0,0.5): normalised (1,0), (0,1)
        Mgda loss = Mgda.builder().normalization(Mgda.Normalization.LOSS).build();
        assertArrayEquals(new double[]{0.25, 1}, loss.combine(losses(0, new double[]{2, 0.5},
                new double[][]{{2, 0}, {0, 0.5}})).weights(), 1e-15);
        // LOSS_L2 with losses (2, 0.5) on (3,0), (0,4): n = (6, 2), normalised (0.5,0), (0,2): a = (16/17, 1/17)
        Mgda lossL2 = Mgda.builder().normalization(Mgda.Normalization.LOSS_L2).build();
        assertArrayEquals(new double[]{16 / 17.0 / 6, 1 / 17.0 / 2},
                lossL2.combine(losses(0, new double[]{2, 0.5}, new double[][]{g1, g2})).weights(), 1e-15);
        Mgda lossL2Raw = Mgda.builder().normalization(Mgda.Normalization.LOSS_L2).rawGradients(true).build();
        assertArrayEquals(new double[]{16 / 17.0, 1 / 17.0},
                lossL2Raw.combine(losses(0, new double[]{2, 0.5}, new double[][]{g1, g2})).weights(), 1e-15);
        // a zero gradient keeps n = 1 and is itself the min-norm point; a zero loss keeps n = 1
        assertArrayEquals(new double[]{1, 0}, l2.combine(losses(new double[]{0, 0}, new double[]{1, 1})).weights(),
                0.0);
        assertArrayEquals(new double[]{0.5, 0.25}, loss.combine(losses(0, new double[]{0, 2},
                new double[][]{{1, 0}, {0, 2}})).weights(), 1e-15);
        assertArrayEquals(new double[]{0.2, 0.2}, lossL2.combine(losses(0, new double[]{0, 2},
                new double[][]{{1, 0}, {0, 2}})).weights(), 1e-15);
    }

    @Test
    void representationGradientsGiveTheMinNormWeightsAndTheEncoderTrainsOnTheirCombination() {
        MultiDataSet batch = batch(2, 6, 2);
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.REPRESENTATION, 1, 1);
        network(recording, new Sgd(0.1), 2).gradient(batch);
        INDArray z0 = recording.lastGradient(0);
        INDArray z1 = recording.lastGradient(1);
        assertEquals(6 * 5, z0.length(), "dL/dZ: one value per example and feature");
        double[] expected = twoVectorMinNorm(z0.dup('c').reshape(z0.length()).toDoubleVector(),
                z1.dup('c').reshape(z1.length()).toDoubleVector());
        assertTrue(expected[0] > 0 && expected[0] < 1, "an interior case: " + expected[0]);

        MultiTaskNetwork net = network(new Mgda(), new Sgd(0.1), 2);
        INDArray before = net.params().dup();
        var g = net.gradient(batch);
        assertArrayEquals(expected, g.weights().weights(), 1e-12);
        assertSplitGradient(net, g.gradient(), batch, expected, new double[]{1, 1});
        StepResult step = net.fit(batch);
        assertEquals(g.weights(), step.weights(), "a step combines as gradient() does");
        assertArrayEquals(before.sub(g.gradient().mul(0.1)).toDoubleVector(), net.params().toDoubleVector(), 1e-14,
                "SGD moves along the reported gradient");
    }

    @Test
    void sharedParameterGradientsGiveTheMinNormWeightsAndWeightHeadsScalesTheHeads() {
        MultiDataSet batch = batch(7, 5, 2);
        MultiTaskNetwork net = network(Mgda.builder().gradients(SharedGradients.SHARED_PARAMETERS).weightHeads(true)
                .build(), new Sgd(0.1), 2);
        double[][] encoder = encoderGradients(net, batch);
        double[] expected = twoVectorMinNorm(encoder[0], encoder[1]);
        assertTrue(expected[0] > 0 && expected[0] < 1, "an interior case: " + expected[0]);
        var g = net.gradient(batch);
        assertArrayEquals(expected, g.weights().weights(), 1e-12);
        assertArrayEquals(g.weights().weights(), g.weights().headWeights(), 0.0);
        assertSplitGradient(net, g.gradient(), batch, expected, expected);
    }

    @Test
    void badConfigurationFailsWithClearMessages() {
        assertEquals("MGDA needs task gradients: REPRESENTATION, LAST_SHARED_LAYER or SHARED_PARAMETERS, not NONE",
                assertThrows(IllegalArgumentException.class,
                        () -> Mgda.builder().gradients(SharedGradients.NONE).build()).getMessage());
        assertEquals("MGDA: maxIterations must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> Mgda.builder().maxIterations(0).build()).getMessage());
        String message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(Mgda.builder().gradients(SharedGradients.REPRESENTATION).build()).build()).getMessage();
        for (String part : List.of("reads gradients of kind REPRESENTATION", "one representation read by every task",
                "task \"low\" reads \"trunk_0_0\"", "task \"high\" reads \"trunk_1_0\"",
                "use SharedGradients.SHARED_PARAMETERS")) {
            assertTrue(message.contains(part), part + " in: " + message);
        }
        MultiTaskNetwork served = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(Mgda.builder().gradients(SharedGradients.SHARED_PARAMETERS).build()).build();
        assertEquals(2, served.tasks().size(), "the shared parameters serve a task hierarchy");
        MultiTaskNetwork byDefault = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(new Mgda()).build();
        assertEquals(2, byDefault.tasks().size(), "the default falls back to the shared parameters on a hierarchy");
    }

    @Test
    void theDefaultGradientKindIsLeftUnsetInJsonAndAnExplicitOneStaysExplicit() throws IOException {
        ContractChecks.assertDefaultGradientKindFollowsTheNetwork(new Mgda(),
                Mgda.builder().gradients(SharedGradients.REPRESENTATION).build(), SharedGradients.REPRESENTATION);
    }
}
