package org.mtl4j.core;

import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.testing.DoublePrecision;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Numeric gradient check of a whole hard-sharing model in double precision: dense tanh trunk, a
 * classification head, a masked multi-output regression head, fixed weights (1.5, 0.5). Every
 * parameter, epsilon 1e-6, max relative error 1e-3, absolute errors below 1e-9 ignored.
 */
@ExtendWith(DoublePrecision.class)
class HardSharingGradientCheckTest {

    @ParameterizedTest(name = "minibatch {0}")
    @ValueSource(ints = {1, 3, 6})
    void analyticGradientMatchesFiniteDifferences(int mb) {
        double[] weights = {1.5, 0.5};
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("c", 3).withHead(Head.of(
                        new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nOut(3)
                                .activation(Activation.TANH).build())))
                .task(Task.regression("r", 2))
                .losses(FixedWeights.of(weights))
                .updater(new NoOp())
                .dataType(DataType.DOUBLE)
                .seed(11)
                .build();
        RandomData data = new RandomData(5 + mb, DataType.DOUBLE);
        double[] maskValues = new double[mb];
        for (int i = 0; i < mb; i++) {
            maskValues[i] = i % 2 == 0 ? 1 : 0;
        }
        MultiDataSet batch = RandomData.dataSet(data.gaussian(mb, 4),
                new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 2)},
                new INDArray[]{null, data.mask(maskValues)});

        NumericGradient.Report report = NumericGradient.check(net, batch, weights, 1e-6, 1e-3, 1e-9);

        assertEquals(net.graph().numParams(), report.checked());
        assertEquals(0, report.failed(), () -> "worst parameter " + report.worstIndex() + ": analytic "
                + report.analytic() + " vs numeric " + report.numeric() + " (relative error "
                + report.worstRelativeError() + ")");
    }
}
