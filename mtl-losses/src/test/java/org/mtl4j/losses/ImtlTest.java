package org.mtl4j.losses;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.testing.ContractChecks;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.inverse.InvertMatrix;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;
import static org.mtl4j.core.testing.SplitGradients.alone;
import static org.mtl4j.core.testing.SplitGradients.network;
import static org.mtl4j.core.testing.SplitGradients.select;

/**
 * IMTL (Liu et al. 2021) in its three modes. Expected alphas come from hand values or from an independent
 * solver in this test: the full {@code T x T} system "equal projections onto every unit gradient, alphas sum
 * to 1" written on the explicit gradient vectors, not IMTL's reduced Gram-matrix form. The network tests take
 * each task's gradient from whole-graph passes with one-hot fixed weights.
 */
class ImtlTest {

    private static List<Task> tasks(int n) {
        return IntStream.range(0, n).mapToObj(i -> Task.regression("t" + i)).toList();
    }

    private static Imtl initialised(Imtl imtl, int tasks) {
        imtl.init(tasks(tasks), new Sgd(0.3));
        return imtl;
    }

    private static double dot(double[] a, double[] b) {
        return IntStream.range(0, a.length).mapToDouble(k -> a[k] * b[k]).sum();
    }

    /** Losses (0 unless given) with the explicit gradients {@code g} attached and their Gram matrix. */
    private static TaskLosses withGradients(double[][] g, double... losses) {
        int n = g.length;
        double[][] gram = Arrays.stream(g).map(a -> Arrays.stream(g).mapToDouble(b -> dot(a, b)).toArray())
                .toArray(double[][]::new);
        return new TaskLosses(tasks(n).stream().map(Task::name).toList(), losses.length == n ? losses : new double[n],
                IntStream.generate(() -> 4).limit(n).toArray(), 0, 0, Arrays.stream(g).map(Nd4j::create).toList(), gram);
    }

    /** The projection of {@code sum_t c_t g_t} onto each unit gradient. */
    private static double[] projections(double[][] g, double[] c) {
        double[] sum = IntStream.range(0, g[0].length)
                .mapToDouble(k -> IntStream.range(0, g.length).mapToDouble(t -> c[t] * g[t][k]).sum()).toArray();
        return Arrays.stream(g).mapToDouble(gt -> dot(sum, gt) / Math.sqrt(dot(gt, gt))).toArray();
    }

    /**
     * Independent IMTL-G on explicit vectors: the {@code T x T} system {@code (sum_k a_k v_k) . (u_0 - u_j) = 0}
     * for {@code j >= 1} and {@code sum_k a_k = 1}, solved by ND4J's matrix inverse.
     */
    private static double[] independentAlphas(double[][] v) {
        int n = v.length;
        double[][] m = new double[n][n];
        for (int j = 1; j < n; j++) {
            for (int k = 0; k < n; k++) {
                m[j - 1][k] = dot(v[k], v[0]) / Math.sqrt(dot(v[0], v[0])) - dot(v[k], v[j]) / Math.sqrt(dot(v[j], v[j]));
            }
        }
        Arrays.fill(m[n - 1], 1.0);
        return InvertMatrix.invert(Nd4j.create(m), false).getColumn(n - 1).toDoubleVector();
    }

    private static void assertEqualProjections(double[][] g, double[] c, double relative) {
        double[] p = projections(g, c);
        for (int t = 1; t < p.length; t++) {
            assertEquals(p[0], p[t], relative * Math.abs(p[0]), "projections " + Arrays.toString(p));
        }
    }

    @Test
    void twoOrthogonalGradientsGetAlphaTwoThirdsAndOneThirdWithEqualProjections() {
        double[][] g = {{1, 0}, {0, 2}};
        // (a, 2b) . u_1 = a, . u_2 = 2b, a + b = 1  ->  a = 2/3, b = 1/3, both projections 2/3
        TaskWeights w = initialised(new Imtl(Imtl.Mode.GRADIENT), 2).combine(withGradients(g));
        assertArrayEquals(new double[]{2.0 / 3, 1.0 / 3}, w.weights(), 1e-15);
        assertArrayEquals(new double[]{1, 1}, w.headWeights(), 0.0, "heads train on their plain gradients");
        assertArrayEquals(new double[]{2.0 / 3, 2.0 / 3}, projections(g, w.weights()), 1e-15);
    }

    @ParameterizedTest(name = "{0} tasks")
    @ValueSource(ints = {3, 4})
    void randomGradientsInFiveDimensionsProjectEquallyOntoEveryUnitGradient(int tasks) {
        Random r = new Random(tasks);
        double[][] g = IntStream.range(0, tasks).mapToObj(t -> IntStream.range(0, 5).mapToDouble(k -> r.nextGaussian()).toArray())
                .toArray(double[][]::new);
        Imtl imtl = initialised(new Imtl(Imtl.Mode.GRADIENT), tasks);
        assertEquals(SharedGradients.REPRESENTATION, imtl.gradients());
        TaskWeights w = imtl.combine(withGradients(g));
        assertEquals(1.0, Arrays.stream(w.weights()).sum(), 1e-12);
        assertEqualProjections(g, w.weights(), 1e-10);
        assertArrayEquals(independentAlphas(g), w.weights(), 1e-10);
        assertTrue(Arrays.stream(w.headWeights()).allMatch(h -> h == 1.0), "heads train on their plain gradients");
    }

    @Test
    void alphaCanBeNegativeAndTaskWeightsAcceptIt() {
        // three directions in 2-D: only g = 0 projects equally; a(1,0) + b(-0.9,0.1) + c(0,1) = 0, a + b + c = 1
        double[][] flat = {{1, 0}, {-0.9, 0.1}, {0, 1}};
        TaskWeights w = initialised(new Imtl(Imtl.Mode.GRADIENT), 3).combine(withGradients(flat));
        assertArrayEquals(new double[]{0.5, 5.0 / 9, -1.0 / 18}, w.weights(), 1e-12);
        assertArrayEquals(new double[]{0, 0, 0}, projections(flat, w.weights()), 1e-12);
        // lifted to 3-D the combination is not zero, and projects equally and positively
        double[][] lifted = {{1, 0, 0.5}, {-0.9, 0.1, 0.5}, {0, 1, 0.5}};
        double[] alpha = initialised(new Imtl(Imtl.Mode.GRADIENT), 3).combine(withGradients(lifted)).weights();
        assertTrue(alpha[2] < -0.04, Arrays.toString(alpha));
        assertArrayEquals(independentAlphas(lifted), alpha, 1e-12);
        assertEqualProjections(lifted, alpha, 1e-12);
        assertTrue(projections(lifted, alpha)[0] > 0.2);
    }

    @Test
    void zeroGradientsGetAlphaZeroAndASingularSystemSplitsEquallyWithoutNaN() {
        Imtl imtl = initialised(new Imtl(Imtl.Mode.GRADIENT), 3);
        double[][] g = {{1, 0, 0}, {0, 0, 0}, {0, 2, 0}};
        double[] alpha = imtl.combine(withGradients(g)).weights();
        assertArrayEquals(new double[]{2.0 / 3, 0, 1.0 / 3}, alpha, 1e-15);
        assertEquals(projections(g, alpha)[0], projections(g, alpha)[2], 1e-15);
        assertArrayEquals(new double[]{0, 1, 0}, imtl.combine(withGradients(new double[][]{{0, 0}, {0, 3}, {0, 0}}))
                .weights(), 0.0, "a single task with a gradient takes it all");
        assertArrayEquals(new double[]{1.0 / 3, 1.0 / 3, 1.0 / 3},
                imtl.combine(withGradients(new double[3][2])).weights(), 0.0);
        assertArrayEquals(new double[]{0.5, 0.5, 0}, imtl.combine(withGradients(new double[][]{{1, 0}, {2, 0}, {0, 0}}))
                .weights(), 0.0, "two tasks along one direction");
    }

    /**
     * Parallel gradients whose singular system {@code D U^T} comes out as rounding noise rather than exact zeros:
     * the documented fallback (alpha split equally) must still apply, and above all the combination must point
     * along the gradients, not against them.
     */
    @Test
    void parallelGradientsWithRoundingNoiseStillSplitAlphaEquallyAndDescend() {
        Imtl imtl = initialised(new Imtl(Imtl.Mode.GRADIENT), 2);
        // 3 * 0.1 is 0.30000000000000004: the second gradient is parallel to the first up to rounding
        double[][][] cases = {{{3, 3}, {3 * 0.1, 3 * 0.1}}, {{1, 1}, {3, 3}}, {{1, 2, 3}, {0.1, 0.2, 0.3}}};
        List<String> failures = new ArrayList<>();
        for (double[][] g : cases) {
            double[] alpha = imtl.combine(withGradients(g)).weights();
            double along = projections(g, alpha)[0];
            if (Math.abs(alpha[0] - 0.5) > 1e-9 || Math.abs(alpha[1] - 0.5) > 1e-9 || !(along > 0)) {
                failures.add(Arrays.deepToString(g) + " -> alpha " + Arrays.toString(alpha) + ", projection " + along);
            }
        }
        assertEquals(List.of(), failures, "expected alpha (0.5, 0.5) and a positive projection");
    }

    @Test
    void scaleGradientIsTheDerivativeOfTheScaledLossesAndZeroWithoutLabels() {
        Imtl imtl = initialised(new Imtl(Imtl.Mode.LOSS), 2);
        TaskLosses l = new TaskLosses(List.of("t0", "t1"), new double[]{2.5, 0.4}, new int[]{3, 1}, 0, 0);
        imtl.update(l, imtl.combine(l));
        imtl.update(l, imtl.combine(l));
        double[] s = imtl.logScales();
        double[] analytic = imtl.scaleGradient(l);
        for (int t = 0; t < 2; t++) {
            double[] plus = s.clone();
            double[] minus = s.clone();
            plus[t] += 1e-6;
            minus[t] -= 1e-6;
            double numeric = (scaled(plus, l.losses()) - scaled(minus, l.losses())) / 2e-6;
            assertEquals(numeric, analytic[t], 1e-8, "task " + t);
            assertEquals(Math.exp(s[t]) * l.loss(t) - 1, analytic[t], 1e-15);
        }
        TaskLosses unlabelled = new TaskLosses(List.of("t0", "t1"), new double[]{2.5, 0}, new int[]{3, 0}, 0, 0);
        assertEquals(0.0, imtl.scaleGradient(unlabelled)[1], 0.0);
        imtl.update(unlabelled, imtl.combine(unlabelled));
        assertArrayEquals(new double[]{s[0] - 0.3 * (Math.exp(s[0]) * 2.5 - 1), s[1]}, imtl.logScales(), 1e-15,
                "a task with no labelled example keeps its s");
    }

    /** IMTL-L's objective {@code sum_t (e^{s_t} L_t - s_t)}. */
    private static double scaled(double[] s, double[] losses) {
        return IntStream.range(0, s.length).mapToDouble(t -> Math.exp(s[t]) * losses[t] - s[t]).sum();
    }

    @Test
    void lossModeWeighsEverythingByExpSAndSgdDrivesEachScaledLossToOne() {
        Imtl imtl = Imtl.builder().mode(Imtl.Mode.LOSS).updater(new Sgd(0.2)).build();
        imtl.init(tasks(2));
        assertEquals(SharedGradients.NONE, imtl.gradients());
        TaskLosses l = new TaskLosses(List.of("t0", "t1"), new double[]{4, 0.25}, new int[]{2, 2}, 0, 0);
        assertEquals(new TaskWeights(new double[]{1, 1}), imtl.combine(l));
        imtl.update(l, imtl.combine(l));
        assertArrayEquals(new double[]{-0.2 * 3, 0.2 * 0.75}, imtl.logScales(), 1e-15, "s -= 0.2 (e^0 L - 1)");
        TaskWeights w = imtl.combine(l);
        assertTrue(w.uniform(), "heads weighted like the shared parts");
        assertArrayEquals(new double[]{Math.exp(-0.6), Math.exp(0.15)}, w.weights(), 1e-15);
        for (int i = 1; i < 200; i++) {
            imtl.update(l, imtl.combine(l));
        }
        assertArrayEquals(new double[]{-Math.log(4), Math.log(4)}, imtl.logScales(), 1e-9);
        assertArrayEquals(new double[]{0.25, 4}, imtl.combine(l).weights(), 1e-8);
    }

    @Test
    void hybridSharesAlphaOfTheScaledGradientsTimesExpSAndWeighsHeadsByExpS() {
        Imtl imtl = initialised(new Imtl(), 3);
        TaskLosses plain = new TaskLosses(List.of("t0", "t1", "t2"), new double[]{3, 0.5, 1.2}, new int[]{2, 2, 2}, 0, 0);
        for (int i = 0; i < 4; i++) {
            imtl.update(plain, new TaskWeights(new double[]{1, 1, 1}));
        }
        double[] s = imtl.logScales();
        double[][] g = {{0.3, -1.2, 0.8, 0.1}, {1.5, 0.4, -0.2, 0.6}, {-0.7, 0.9, 0.5, -1.1}};
        double[] heads = Arrays.stream(s).map(Math::exp).toArray();
        assertTrue(Arrays.stream(s).allMatch(v -> Math.abs(v) > 0.05), Arrays.toString(s));
        double[] alpha = independentAlphas(IntStream.range(0, 3)
                .mapToObj(t -> Arrays.stream(g[t]).map(v -> heads[t] * v).toArray()).toArray(double[][]::new));
        TaskWeights w = imtl.combine(withGradients(g, 3, 0.5, 1.2));
        for (int t = 0; t < 3; t++) {
            assertEquals(alpha[t] * heads[t], w.weight(t), 1e-12 * Math.abs(alpha[t] * heads[t]), "task " + t);
        }
        assertArrayEquals(heads, w.headWeights(), 1e-15);
        assertEqualProjections(g, w.weights(), 1e-10);
    }

    @Test
    void networkTrainsTheEncoderOnAlphaOfTheRepresentationGradientsAndHeadsOnTheirOwn() {
        RandomData d = new RandomData(12, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(6, 4), new INDArray[]{d.oneHot(6, 3), d.gaussian(6, 2),
                d.gaussian(6, 1)}, new INDArray[]{null, d.mask(1, 1, 0, 1, 0, 1), null});
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.REPRESENTATION, 1, 1, 1);
        network(recording, new NoOp(), 3).gradient(batch);
        double[] alpha = independentAlphas(IntStream.range(0, 3)
                .mapToObj(t -> recording.lastGradient(t).dup('c').reshape(-1).toDoubleVector()).toArray(double[][]::new));
        MultiTaskNetwork net = network(new Imtl(Imtl.Mode.GRADIENT), new NoOp(), 3);
        INDArray gradient = net.gradient(batch).gradient();
        double[] encoder = new double[select(net, gradient, k -> k.startsWith("trunk_")).length];
        for (int t = 0; t < 3; t++) {
            INDArray alone = alone(t, batch);
            double[] part = select(net, alone, k -> k.startsWith("trunk_"));
            for (int k = 0; k < part.length; k++) {
                encoder[k] += alpha[t] * part[k];
            }
            String head = "head_" + List.of("c", "r", "s").get(t) + "_";
            assertArrayEquals(select(net, alone, k -> k.startsWith(head)), select(net, gradient, k -> k.startsWith(head)),
                    1e-13, head + " trains on its plain gradient");
        }
        double scale = Arrays.stream(encoder).map(Math::abs).max().orElseThrow();
        assertTrue(scale > 1e-3);
        assertArrayEquals(encoder, select(net, gradient, k -> k.startsWith("trunk_")), 1e-12 * scale);
    }

    @Test
    void thePapersDefaults() {
        assertEquals(Imtl.builder().build(), new Imtl(Imtl.Mode.HYBRID));
        assertEquals("Imtl(mode=GRADIENT, gradients=auto)", new Imtl(Imtl.Mode.GRADIENT).toString());
    }

    @Test
    void badConfigurationAndUseFailWithClearMessages() {
        assertEquals("IMTL needs a gradient kind for its gradient balance: REPRESENTATION (the paper), SHARED_PARAMETERS"
                        + " or LAST_SHARED_LAYER, not NONE", assertThrows(IllegalArgumentException.class,
                () -> Imtl.builder().gradients(SharedGradients.NONE).build()).getMessage());
        assertEquals("IMTL-L without its own updater needs the network's: it is initialised by MultiTaskNetwork, or give"
                + " one with builder().updater(...)", assertThrows(IllegalStateException.class,
                () -> new Imtl(Imtl.Mode.LOSS).init(tasks(2))).getMessage());
        Imtl hybrid = initialised(new Imtl(), 2);
        assertEquals("IMTL (HYBRID) keeps 2 values, got 3",
                assertThrows(IllegalArgumentException.class, () -> hybrid.restoreState(new double[3])).getMessage());
        assertEquals("IMTL was set up for 2 tasks, got 3 losses", assertThrows(IllegalArgumentException.class,
                () -> hybrid.combine(withGradients(new double[3][2]))).getMessage());
        Imtl gradient = initialised(new Imtl(Imtl.Mode.GRADIENT), 2);
        assertEquals("IMTL (GRADIENT) keeps 0 values, got 1",
                assertThrows(IllegalArgumentException.class, () -> gradient.restoreState(new double[1])).getMessage());
    }

    @Test
    void restoreStateBeforeInitIsReportedAsMisuseOrder() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new Imtl().restoreState(new double[2]));
        assertEquals("IMTL is not initialised: build the network with it", e.getMessage());
    }

    @Test
    void representationGradientsCannotServeATaskHierarchy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(Imtl.builder().mode(Imtl.Mode.GRADIENT).gradients(SharedGradients.REPRESENTATION).build())
                .build());
        assertEquals("Imtl(mode=GRADIENT, gradients=REPRESENTATION) reads gradients of kind REPRESENTATION, which needs"
                + " one representation read by every task, but task \"low\" reads \"trunk_0_0\" and task \"high\" reads"
                + " \"trunk_1_0\" (HardSharing); use SharedGradients.SHARED_PARAMETERS", e.getMessage());
        MultiTaskNetwork served = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(Imtl.builder().gradients(SharedGradients.SHARED_PARAMETERS).build()).build();
        assertEquals(2, served.tasks().size());
        MultiTaskNetwork byDefault = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0)).task(Task.regression("high"))
                .losses(new Imtl(Imtl.Mode.GRADIENT)).build();
        assertEquals(2, byDefault.tasks().size(), "the default falls back to the shared parameters on a hierarchy");
    }

    @Test
    void theDefaultGradientKindIsLeftUnsetInJsonAndAnExplicitOneStaysExplicit() throws IOException {
        ContractChecks.assertDefaultGradientKindFollowsTheNetwork(new Imtl(),
                Imtl.builder().gradients(SharedGradients.REPRESENTATION).build(), SharedGradients.REPRESENTATION);
    }
}
