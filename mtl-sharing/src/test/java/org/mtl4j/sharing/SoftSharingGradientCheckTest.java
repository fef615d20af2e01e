package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.DoublePrecision;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Numeric gradient check of whole soft-sharing models in double precision: dense tanh trunk 4 -> 5 -> 4 in
 * every column, a classification task with a tanh hidden head, a masked regression task (and a third task),
 * fixed weights, lambda 0.3 so that the penalty's gradient is of the order of the losses'. Every parameter,
 * epsilon 1e-6, max relative error 1e-3, absolute errors below 1e-9 ignored.
 */
@ExtendWith(DoublePrecision.class)
class SoftSharingGradientCheckTest {

    private static MultiTaskNetwork network(SoftSharing sharing, int tasks, LossCombinator losses) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("c", 3).withHead(Head.of(
                        new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build())))
                .task(Task.regression("r", 2))
                .sharing(sharing)
                .losses(losses)
                .updater(new NoOp())
                .dataType(DataType.DOUBLE)
                .seed(11);
        if (tasks == 3) {
            b.task(Task.regression("low").withStage(0));
        }
        return b.build();
    }

    private static MultiDataSet batch(int tasks, int mb) {
        RandomData data = new RandomData(5 + mb, DataType.DOUBLE);
        double[] maskValues = new double[mb];
        for (int i = 0; i < mb; i++) {
            maskValues[i] = i % 2 == 0 ? 1 : 0;
        }
        INDArray[] labels = tasks == 3
                ? new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 2), data.gaussian(mb, 1)}
                : new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 2)};
        INDArray[] masks = tasks == 3 ? new INDArray[]{null, data.mask(maskValues), null}
                : new INDArray[]{null, data.mask(maskValues)};
        return RandomData.dataSet(data.gaussian(mb, 4), labels, masks);
    }

    @ParameterizedTest(name = "{0} tasks, pairwise {1}, biases {2}, minibatch {3}")
    @CsvSource({
            "2, false, false, 3",
            "2, true, true, 3",
            "2, false, true, 1",
            "3, true, false, 3"})
    void analyticGradientWithPenaltyMatchesFiniteDifferences(int tasks, boolean pairwise, boolean biases, int mb) {
        double[] weights = tasks == 3 ? new double[]{1.5, 0.5, 0.8} : new double[]{1.5, 0.5};
        SoftSharing sharing = SoftSharing.builder().lambda(0.3).pairwise(pairwise).includeBiases(biases).build();
        MultiTaskNetwork net = network(sharing, tasks, FixedWeights.of(weights));
        MultiDataSet batch = batch(tasks, mb);
        double penalty = net.penalty();
        double losses = Arrays.stream(net.losses(batch).losses()).sum();
        assertTrue(penalty > 0.05 * losses, "the penalty (" + penalty + ") must matter next to the losses (" + losses + ")");

        NumericGradient.Report report = NumericGradient.check(net, batch, weights, 1e-6, 1e-3, 1e-9);

        assertEquals(net.graph().numParams(), report.checked());
        assertEquals(0, report.failed(), () -> report.failed() + " parameters failed; worst " + report.worstIndex()
                + ": analytic " + report.analytic() + " vs numeric " + report.numeric() + " (relative error "
                + report.worstRelativeError() + ")");
    }

    @ParameterizedTest(name = "pairwise {0}")
    @CsvSource({"false", "true"})
    void splitBackwardAddsThePenaltyGradientToo(boolean pairwise) {
        // a combinator asking for per-task gradients on the shared parameters makes the step split the backward
        // pass (one encoder pass per column); the penalty's gradient must land in the same place as on the
        // whole-graph pass
        SoftSharing sharing = SoftSharing.builder().lambda(0.3).pairwise(pairwise).includeBiases(true).build();
        MultiTaskNetwork whole = network(sharing, 2, FixedWeights.of(1.5, 0.5));
        MultiTaskNetwork split = network(sharing, 2, new RecordingCombinator(SharedGradients.SHARED_PARAMETERS, 1.5, 0.5));
        MultiDataSet batch = batch(2, 3);
        assertArrayEquals(whole.params().toDoubleVector(), split.params().toDoubleVector(), 0.0);
        INDArray a = whole.gradient(batch).gradient();
        INDArray b = split.gradient(batch).gradient();
        assertArrayEquals(a.toDoubleVector(), b.toDoubleVector(), 1e-12);
    }
}
