package org.mtl4j.losses;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.graph.ParamLayout;
import org.mtl4j.core.testing.ContractChecks;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.mtl4j.core.testing.SplitGradients.alone;
import static org.mtl4j.core.testing.SplitGradients.network;

/**
 * GradNorm (Chen et al. 2018, Algorithm 1): the weight gradient against hand values and finite differences of
 * the L1 objective, the initial losses of both kinds, clipping and renormalisation, the direction the weights
 * move, the gradient norms of the last shared layer in a network, and persistence. Task gradients are explicit
 * vectors here (norms {@code n_t} on the axes unless said); weights and initial losses are set through
 * {@link GradNorm#restoreState} with an Sgd updater, whose state is empty.
 */
class GradNormTest {

    private static List<Task> tasks(int n) {
        return IntStream.range(0, n).mapToObj(i -> Task.regression("t" + i)).toList();
    }

    /** GradNorm with its own Sgd updater, initialised for {@code n} tasks, with weights {@code w} and L(0) {@code l0}. */
    private static GradNorm gradNorm(double alpha, double lr, double[] w, double[] l0) {
        GradNorm g = GradNorm.builder().alpha(alpha).updater(new Sgd(lr)).build();
        g.init(tasks(w.length));
        double[] state = new double[4 * w.length];
        System.arraycopy(w, 0, state, 0, w.length);
        System.arraycopy(l0, 0, state, w.length, w.length);
        g.restoreState(state);
        return g;
    }

    /** Losses with explicit gradient vectors and their Gram matrix. */
    private static TaskLosses step(double[][] g, double[] losses, int[] labelled, int epoch) {
        double[][] gram = Arrays.stream(g).map(a -> Arrays.stream(g).mapToDouble(b -> dot(a, b)).toArray())
                .toArray(double[][]::new);
        return new TaskLosses(tasks(g.length).stream().map(Task::name).toList(), losses, labelled, 0, epoch,
                Arrays.stream(g).map(Nd4j::create).toList(), gram);
    }

    /** Gradients {@code n_t e_t}, every task labelled, epoch 0. */
    private static TaskLosses axes(double[] norms, double... losses) {
        double[][] g = new double[norms.length][norms.length];
        int[] labelled = new int[norms.length];
        for (int t = 0; t < norms.length; t++) {
            g[t][t] = norms[t];
            labelled[t] = 4;
        }
        return step(g, losses, labelled, 0);
    }

    private static double dot(double[] a, double[] b) {
        return IntStream.range(0, a.length).mapToDouble(k -> a[k] * b[k]).sum();
    }

    /** One training step as the network runs it: combine, then update. */
    private static TaskWeights feed(GradNorm g, TaskLosses l) {
        TaskWeights w = g.combine(l);
        g.update(l, w);
        return w;
    }

    /** Norms 1, 2, 4 (task 1's gradient (1.2, 1.6, 0) is not orthogonal to task 0's), weights 1.2, 0.9, 0.9. */
    private static final double[][] G3 = {{1, 0, 0}, {1.2, 1.6, 0}, {0, 0, 4}};
    private static final TaskLosses L3 = step(G3, new double[]{1, 0.8, 2}, new int[]{2, 2, 2}, 0);

    @Test
    void weightGradientIsTheSignOfGMinusTargetTimesTheNorm() {
        GradNorm g = gradNorm(1.5, 0.1, new double[]{1.2, 0.9, 0.9}, new double[]{2, 1, 4});
        // Ltilde = (0.5, 0.8, 0.5), mean 0.6: r = (5/6, 4/3, 5/6); G = (1.2, 1.8, 3.6), Gbar = 2.2
        double[] target = {2.2 * Math.pow(5.0 / 6, 1.5), 2.2 * Math.pow(4.0 / 3, 1.5), 2.2 * Math.pow(5.0 / 6, 1.5)};
        assertArrayEquals(new double[]{1.6736, 3.3871, 1.6736}, target, 1e-4);
        // G - target = (-0.47, -1.59, +1.93): tasks 0 and 1 should gain weight, task 2 lose it
        assertArrayEquals(new double[]{-1, -2, 4}, g.weightGradient(L3), 1e-15);
    }

    @Test
    void weightGradientIsTheFiniteDifferenceOfTheL1ObjectiveWithTargetsHeldConstant() {
        double[] w = {1.2, 0.9, 0.9};
        GradNorm g = gradNorm(1.5, 0.1, w, new double[]{2, 1, 4});
        double[] n = {1, 2, 4};
        double[] target = {2.2 * Math.pow(5.0 / 6, 1.5), 2.2 * Math.pow(4.0 / 3, 1.5), 2.2 * Math.pow(5.0 / 6, 1.5)};
        double[] analytic = g.weightGradient(L3);
        for (int t = 0; t < 3; t++) {
            double[] plus = w.clone();
            double[] minus = w.clone();
            plus[t] += 1e-6;
            minus[t] -= 1e-6;
            double numeric = (l1(plus, n, target) - l1(minus, n, target)) / 2e-6;
            assertEquals(numeric, analytic[t], 1e-8, "task " + t);
        }
    }

    /** {@code L_grad = sum_t |w_t n_t - target_t|}. */
    private static double l1(double[] w, double[] n, double[] target) {
        return IntStream.range(0, w.length).mapToDouble(t -> Math.abs(w[t] * n[t] - target[t])).sum();
    }

    @Test
    void firstStepTakesEachTasksInitialLossAtItsFirstLabelledStepAndLeavesItOutBefore() {
        GradNorm g = GradNorm.builder().updater(new Sgd(0.1)).build();
        g.init(tasks(3));
        double[][] axes = {{1, 0, 0}, {0, 2, 0}, {0, 0, 3}};
        feed(g, step(axes, new double[]{1, 2, 5}, new int[]{4, 4, 0}, 0));
        assertArrayEquals(new double[]{1, 2, 0}, g.initialLosses(), 0.0);
        // over tasks 0 and 1 only: r = 1, Gbar = (1 + 2) / 2; gradients (-1, +2, 0), then renormalised to sum 3
        // (with task 2 in the means Gbar would be 2 and the gradients (-1, 0, +3)); task 2 takes no step, but the
        // renormalisation rescales it with the others
        assertArrayEquals(new double[]{1.1 * 3 / 2.9, 0.8 * 3 / 2.9, 3 / 2.9}, g.weights(), 1e-15);
        TaskWeights applied = feed(g, step(axes, new double[]{0.5, 1, 4}, new int[]{4, 4, 4}, 0));
        assertArrayEquals(new double[]{1.1 * 3 / 2.9, 0.8 * 3 / 2.9, 3 / 2.9}, applied.weights(), 1e-15);
        assertArrayEquals(new double[]{1, 2, 4}, g.initialLosses(), 0.0);
    }

    @Test
    void firstEpochKeepsTheWeightsAtOneThenUsesEpochZeroMeansAsInitialLosses() {
        GradNorm g = GradNorm.builder().initialLoss(GradNorm.InitialLoss.FIRST_EPOCH).updater(new Sgd(0.1)).build();
        g.init(tasks(2));
        double[][] axes = {{1, 0}, {0, 2}};
        double[][] epoch0 = {{2, 1}, {4, 3}, {3, 99}};
        int[][] labelled = {{4, 4}, {4, 4}, {4, 0}};
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(new double[]{1, 1}, feed(g, step(axes, epoch0[i], labelled[i], 0)).weights(), 0.0);
            assertArrayEquals(new double[]{1, 1}, g.weights(), 0.0);
            assertArrayEquals(new double[]{0, 0}, g.initialLosses(), 0.0);
        }
        assertArrayEquals(new double[]{1, 1}, feed(g, step(axes, new double[]{1.5, 2}, new int[]{4, 4}, 1)).weights(), 0.0);
        // L(0) = (9 / 3, 4 / 2) (task 1's unlabelled step does not count); Ltilde = (0.5, 1): r = (2/3, 4/3)
        assertArrayEquals(new double[]{3, 2}, g.initialLosses(), 0.0);
        // G = (1, 2), Gbar = 1.5, targets 1.5 r^1.5 = (0.82, 2.31): gradients (+1, -2); w = (0.9, 1.2) * 2 / 2.1
        assertArrayEquals(new double[]{0.9 * 2 / 2.1, 1.2 * 2 / 2.1}, g.weights(), 1e-15);
    }

    @Test
    void firstEpochTakesAnInitialLossAtTheFirstLabelledStepOfATaskUnlabelledInEpochZero() {
        GradNorm g = GradNorm.builder().initialLoss(GradNorm.InitialLoss.FIRST_EPOCH).updater(new Sgd(0.1)).build();
        g.init(tasks(2));
        double[][] axes = {{1, 0}, {0, 2}};
        feed(g, step(axes, new double[]{2, 99}, new int[]{4, 0}, 0));
        feed(g, step(axes, new double[]{1, 99}, new int[]{4, 0}, 1));
        assertArrayEquals(new double[]{2, 0}, g.initialLosses(), 0.0, "task 1 has had no label yet");
        feed(g, step(axes, new double[]{1, 5}, new int[]{4, 4}, 1));
        assertArrayEquals(new double[]{2, 5}, g.initialLosses(), 0.0);
    }

    @Test
    void aTaskWithoutLabelsTakesNoAdamStepBeforeTheRenormalisation() {
        // with Adam, a zero gradient would still move a weight by its momentum; an unlabelled task must not move
        GradNorm g = GradNorm.builder().alpha(1.5).updater(new Adam(0.1)).build();
        g.init(tasks(2));
        feed(g, axes(new double[]{1, 3}, 1, 1));
        double[] after = g.weights();
        double[] state = g.state();
        feed(g, step(new double[][]{{1, 0}, {0, 3}}, new double[]{1, 1}, new int[]{4, 0}, 0));
        // task 0 alone is active: its target is its own G, so its gradient is 0; Adam's momentum moves it,
        // task 1 keeps its Adam state entries exactly, and both follow the renormalisation to sum 2
        double[] next = g.state();
        assertEquals(state[3], next[3], 0.0, "task 1's first moment");
        assertEquals(state[5], next[5], 0.0, "task 1's second moment");
        assertEquals(2.0, g.weights()[0] + g.weights()[1], 1e-15);
        assertTrue(after[0] != g.weights()[0], "task 0 moved by its momentum");
    }

    @Test
    void weightsStayNonNegativeAndSumToTheTaskCount() {
        GradNorm g = gradNorm(1.5, 0.1, new double[]{0.2, 0.2, 2.6}, new double[]{1, 1, 1});
        // G = (2, 0.02, 0.26), Gbar = r = target = 0.76: task 0 steps 0.2 - 0.1 * 10 < 0 and is clipped to 0
        feed(g, axes(new double[]{10, 0.1, 0.1}, 1, 1, 1));
        assertArrayEquals(new double[]{0, 0.21 * 3 / 2.82, 2.61 * 3 / 2.82}, g.weights(), 1e-15);
        assertEquals(3.0, Arrays.stream(g.weights()).sum(), 1e-15);
    }

    @Test
    void weightsAllClippedToZeroAreResetToOne() {
        GradNorm g = gradNorm(0.5, 2, new double[]{1.5, 0.5}, new double[]{1, 1});
        // r = (1.9, 0.1): targets (sqrt 1.9, sqrt 0.1) = (1.38, 0.32) both below G = (1.5, 0.5): both step by -2
        feed(g, axes(new double[]{1, 1}, 1.9, 0.1));
        assertArrayEquals(new double[]{1, 1}, g.weights(), 0.0);
    }

    @Test
    void theTaskWhoseLossFallsSlowerGainsWeightAndHeadsAreWeightedAlike() {
        GradNorm g = GradNorm.builder().updater(new Sgd(0.01)).build();
        g.init(tasks(2));
        feed(g, axes(new double[]{1, 1}, 1, 1));
        assertArrayEquals(new double[]{1, 1}, g.weights(), 0.0, "at L(0) every target is Gbar: no change");
        // A's loss falls to 0.8 of its start, B's to 0.4: r = (4/3, 2/3), targets (1.54, 0.54) with Gbar = 1
        TaskLosses l = axes(new double[]{1, 1}, 0.8, 0.4);
        for (int i = 1; i <= 30; i++) {
            feed(g, l);
            assertArrayEquals(new double[]{1 + 0.01 * i, 1 - 0.01 * i}, g.weights(), 1e-12, "update " + i);
        }
        for (int i = 0; i < 300; i++) {
            feed(g, l);
        }
        // B reaches its target at w_B = 0.544, A not at 1.456: the weights settle between
        double[] w = g.weights();
        assertTrue(w[0] > 1.44 && w[0] < 1.48 && w[0] / w[1] > 2.5, Arrays.toString(w));
        TaskWeights applied = g.combine(l);
        assertTrue(applied.uniform(), "heads are weighted like the shared part (the paper's sum_t w_t L_t)");
        assertArrayEquals(w, applied.weights(), 0.0);
    }

    @Test
    void withAlphaZeroAndEqualRatiosTheWeightsEqualiseTheWeightedGradientNorms() {
        GradNorm g = GradNorm.builder().alpha(0).updater(new Sgd(0.005)).build();
        g.init(tasks(2));
        TaskLosses l = axes(new double[]{1, 3}, 2, 2);
        for (int i = 0; i < 400; i++) {
            feed(g, l);
        }
        // w_0 * 1 = w_1 * 3 with w_0 + w_1 = 2; sign steps of 0.005 * n_t keep it oscillating within ~0.02
        double[] w = g.weights();
        assertArrayEquals(new double[]{1.5, 0.5}, w, 0.02);
        assertEquals(w[0] * 1, w[1] * 3, 0.05);
    }

    /** Hands every call to a GradNorm and keeps the Gram matrix of the last combine. */
    private static final class Spy implements LossCombinator {
        final GradNorm inner = new GradNorm();
        double[][] gram;

        @Override
        public void init(List<Task> tasks, IUpdater networkUpdater) {
            inner.init(tasks, networkUpdater);
        }

        @Override
        public SharedGradients gradients() {
            return inner.gradients();
        }

        @Override
        public TaskWeights combine(TaskLosses losses) {
            gram = losses.gram();
            return inner.combine(losses);
        }

        @Override
        public void update(TaskLosses losses, TaskWeights applied) {
            inner.update(losses, applied);
        }
    }

    @Test
    void networkTrainsAndGradNormSeesTheLastSharedLayersGradientNorms() {
        RandomData d = new RandomData(4, DataType.DOUBLE);
        List<MultiDataSet> data = IntStream.range(0, 4).mapToObj(i -> RandomData.dataSet(d.gaussian(6, 4),
                new INDArray[]{d.oneHot(6, 3), d.gaussian(6, 2)}, null)).toList();
        Spy spy = new Spy();
        MultiTaskNetwork net = network(spy, new Sgd(0.05), 2);
        assertEquals(SharedGradients.LAST_SHARED_LAYER, spy.inner.gradients());
        assertEquals(List.of("trunk_1_0_W", "trunk_1_0_b"), net.graph().paramTable().keySet().stream()
                .filter(k -> k.startsWith("trunk_1_0_")).sorted().toList(), "the last shared layer's parameters");
        INDArray before = net.params().dup();
        net.fit(data.get(0));
        double[] n = new double[2];
        for (int t = 0; t < 2; t++) {
            INDArray alone = alone(t, data.get(0));
            double sq = Stream.of("trunk_1_0_W", "trunk_1_0_b")
                    .mapToDouble(k -> ParamLayout.slice(net.graph(), alone, k).dup().norm2Number().doubleValue())
                    .map(v -> v * v).sum();
            assertTrue(sq > 0);
            assertEquals(sq, spy.gram[t][t], 1e-12 * sq, "||dL/dW||^2 of task " + t);
            n[t] = Math.sqrt(sq);
        }
        // first step: L(0) = L, so every target is Gbar = mean(n); w_t = 1 - 0.05 sign(n_t - Gbar) n_t, then sum 2
        double[] w = {1 - 0.05 * Math.signum(n[0] - n[1]) * n[0], 1 - 0.05 * Math.signum(n[1] - n[0]) * n[1]};
        assertArrayEquals(new double[]{2 * w[0] / (w[0] + w[1]), 2 * w[1] / (w[0] + w[1])}, spy.inner.weights(), 1e-12);
        for (MultiDataSet batch : data.subList(1, 4)) {
            double[] losses = net.fit(batch).losses().losses();
            assertTrue(Double.isFinite(losses[0]) && Double.isFinite(losses[1]));
        }
        assertEquals(2.0, Arrays.stream(spy.inner.weights()).sum(), 1e-12);
        assertTrue(Arrays.stream(spy.inner.weights()).allMatch(v -> v >= 0 && v != 1));
        assertNotEquals(before, net.params());
    }

    @Test
    void thePapersDefaults() {
        assertEquals(new GradNorm(1.5), GradNorm.builder().build());
        assertEquals("GradNorm(alpha=1.5, gradients=auto, initialLoss=FIRST_STEP)", new GradNorm().toString());
    }

    @Test
    void theDefaultGradientKindIsLeftUnsetInJsonAndAnExplicitOneStaysExplicit() throws IOException {
        ContractChecks.assertDefaultGradientKindFollowsTheNetwork(new GradNorm(),
                GradNorm.builder().gradients(SharedGradients.LAST_SHARED_LAYER).build(), SharedGradients.LAST_SHARED_LAYER);
    }

    @Test
    void workerStatesMergeByTheMeanButAnInitialLossOnlyOverTheWorkersThatRecordedOne() {
        GradNorm g = GradNorm.builder().updater(new Sgd(0.1)).build();
        g.init(tasks(2));
        double[] start = g.state();
        int at = start.length - 6;
        assertEquals(2, at, "weights, then L(0), first-epoch sums and counts (Sgd keeps no state)");
        double[] a = start.clone();
        double[] b = start.clone();
        a[0] = 1.2;
        a[1] = 0.8;
        b[0] = 1.0;
        b[1] = 1.0;
        a[at] = 2;     // worker a recorded L_0(0) = 2 but saw no label of task 1
        b[at] = 4;
        b[at + 1] = 3;
        a[at + 2] = 6; // first-epoch sums and counts
        b[at + 2] = 2;
        a[at + 4] = 3;
        b[at + 4] = 1;
        double[] merged = g.mergeStates(start, List.of(a, b));
        assertArrayEquals(new double[]{1.1, 0.9, 3, 3, 4, 0, 2, 0}, merged, 1e-15);

        double[] recorded = start.clone();
        recorded[at] = 5;
        a[at] = 5;
        b[at] = 5;
        assertEquals(5, g.mergeStates(recorded, List.of(a, b))[at], 0.0, "a recorded L(0) is kept as it is");
    }

    @Test
    void badConfigurationAndUseFailWithClearMessages() {
        for (double alpha : new double[]{-0.5, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertEquals("GradNorm: alpha must be finite and >= 0, got " + alpha,
                    assertThrows(IllegalArgumentException.class, () -> new GradNorm(alpha)).getMessage());
        }
        assertEquals("GradNorm needs task gradients: LAST_SHARED_LAYER (the paper), SHARED_PARAMETERS or REPRESENTATION,"
                + " not NONE", assertThrows(IllegalArgumentException.class,
                () -> GradNorm.builder().gradients(SharedGradients.NONE).build()).getMessage());
        GradNorm g = new GradNorm();
        assertEquals("GradNorm is not initialised: build the network with it",
                assertThrows(IllegalStateException.class, () -> g.restoreState(new double[8])).getMessage());
        assertEquals("GradNorm without its own updater needs the network's: it is initialised by MultiTaskNetwork, or"
                + " give one with builder().updater(...)", assertThrows(IllegalStateException.class,
                () -> g.init(tasks(2))).getMessage());
        g.init(tasks(2), new Sgd(0.1));
        assertEquals("GradNorm keeps 8 values (weights, their updater's state, initial losses, first-epoch sums and"
                + " counts), got 3", assertThrows(IllegalArgumentException.class,
                () -> g.restoreState(new double[3])).getMessage());
        assertEquals("GradNorm was set up for 2 tasks, got 3 losses", assertThrows(IllegalArgumentException.class,
                () -> g.combine(axes(new double[]{1, 1, 1}, 1, 1, 1))).getMessage());
    }
}
