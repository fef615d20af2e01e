package org.mtl4j.core.testing;

import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.graph.ParamLayout;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Each task's own gradient on a small double-precision hard-sharing network, for testing what a gradient-level
 * combinator does to the network's gradient: the encoder should train on {@code sum_t a_t g_t} of the tasks'
 * own gradients {@code g_t} and head t on {@code h_t} times its own. A task's own gradient comes from a
 * whole-graph pass with one-hot fixed weights, independent of the split backward pass under test.
 */
public final class SplitGradients {

    private SplitGradients() {
    }

    /**
     * The first {@code tasks} (1 to 3) tasks c, r, s of {@link TrunkFixtures#dense} in double precision, on a
     * dense tanh trunk 4 -> 6 -> 5 (tests count representation gradients by that width of 5) with seed 13,
     * combining its losses with {@code losses} and updating with {@code updater}.
     */
    public static MultiTaskNetwork network(LossCombinator losses, IUpdater updater, int tasks) {
        return TrunkFixtures.dense(DataType.DOUBLE, tasks).trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .seed(13).losses(losses).updater(updater).build();
    }

    /** A random minibatch of {@code mb} examples for {@link #network} with {@code tasks} tasks, without masks. */
    public static MultiDataSet batch(long seed, int mb, int tasks) {
        RandomData d = new RandomData(seed, DataType.DOUBLE);
        INDArray[] labels = {d.oneHot(mb, 3), d.gaussian(mb, 2), d.gaussian(mb, 1)};
        return RandomData.dataSet(d.gaussian(mb, 4), Arrays.copyOf(labels, tasks), null);
    }

    /** The entries of a flat gradient that belong to parameters whose key passes {@code keep}, in flat order. */
    public static double[] select(MultiTaskNetwork net, INDArray flat, Predicate<String> keep) {
        List<String> keys = new ArrayList<>(net.graph().paramTable().keySet().stream().filter(keep).toList());
        keys.sort(Comparator.comparingLong(k -> ParamLayout.offset(net.graph(), k)));
        List<INDArray> parts = new ArrayList<>();
        for (String k : keys) {
            parts.add(ParamLayout.slice(net.graph(), flat, k).dup('f').reshape('f', 1, -1));
        }
        return Nd4j.hstack(parts.toArray(new INDArray[0])).toDoubleVector();
    }

    /**
     * The gradient of task {@code t}'s mean loss alone on an untrained {@link #network}: a whole-graph pass with
     * one-hot fixed weights, as many tasks as {@code batch} has labels.
     */
    public static INDArray alone(int t, MultiDataSet batch) {
        double[] w = new double[batch.getLabels().length];
        w[t] = 1;
        return network(FixedWeights.of(w), new Sgd(0.1), w.length).gradient(batch).gradient();
    }

    /** Each task's own gradient on every encoder parameter of an untrained {@link #network}, from {@link #alone}. */
    public static double[][] encoderGradients(MultiTaskNetwork net, MultiDataSet batch) {
        double[][] g = new double[batch.getLabels().length][];
        for (int t = 0; t < g.length; t++) {
            g[t] = select(net, alone(t, batch), k -> k.startsWith("trunk_"));
        }
        return g;
    }

    /**
     * Asserts that {@code gradient} of an untrained {@link #network} on {@code batch} is {@code sum_t a_t g_t} on
     * the encoder and {@code h_t} times task t's own gradient on head t, each to 1e-13.
     */
    public static void assertSplitGradient(MultiTaskNetwork net, INDArray gradient, MultiDataSet batch, double[] a,
                                           double[] h) {
        for (int t = 0; t < a.length; t++) {
            String head = "head_" + net.taskNames().get(t) + "_";
            assertArrayEquals(select(net, alone(t, batch).mul(h[t]), k -> k.startsWith(head)),
                    select(net, gradient, k -> k.startsWith(head)), 1e-13, head);
        }
        assertArrayEquals(GradientVectors.combination(a, encoderGradients(net, batch)),
                select(net, gradient, k -> k.startsWith("trunk_")), 1e-13, "encoder");
    }
}
