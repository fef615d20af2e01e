package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.DoublePrecision;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Numeric gradient checks of sluice networks in double precision (every parameter, epsilon 1e-6, max
 * relative error 1e-3, absolute errors below 1e-9 ignored): alpha over 2 subspaces, the orthogonality
 * penalty (lambda 0.5, so that it matters), every layer-stitching mode, on dense, recurrent and
 * convolutional trunks. Alpha and beta are randomised so that no term vanishes.
 */
@ExtendWith(DoublePrecision.class)
class SluiceGradientCheckTest {

    private static void check(MultiTaskNetwork net, MultiDataSet batch, double[] weights) {
        Random r = new Random(4);
        net.graph().paramTable().forEach((key, value) -> {
            if (key.startsWith("sluice_")) {
                for (long i = 0; i < value.length(); i++) {
                    value.putScalar(i, 0.2 + r.nextDouble());
                }
            }
        });
        net.losses(batch);
        assertTrue(net.penalty() > 1e-3, "the penalty takes part: " + net.penalty());
        NumericGradient.Report report = NumericGradient.check(net, batch, weights, 1e-6, 1e-3, 1e-9);
        assertEquals(net.params().length(), report.checked());
        assertEquals(0, report.failed(), report::toString);
    }

    @ParameterizedTest(name = "beta {0}")
    @EnumSource(Sluice.Beta.class)
    void denseTrunkEveryBetaMode(Sluice.Beta beta) {
        double[] weights = {1, 0.6, 1.4};
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4))
                .task(Task.classification("c", 2))
                .task(Task.regression("r"))
                .task(Task.regression("low").withStage(0))
                .sharing(Sluice.builder().subspaces(2).lambda(0.5).beta(beta).build())
                .losses(FixedWeights.of(weights))
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(6).build();
        RandomData d = new RandomData(3, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(3, 3),
                new INDArray[]{d.oneHot(3, 2), d.gaussian(3, 1), d.gaussian(3, 1)},
                new INDArray[]{null, d.mask(1, 1, 0), null});
        check(net, batch, weights);
    }

    @Test
    void recurrentTrunk() {
        SharedTrunk trunk = SharedTrunk.builder(InputType.recurrent(2))
                .layer(new LSTM.Builder().nOut(4).activation(Activation.TANH).build()).build();
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .sharing(Sluice.builder().lambda(0.5).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(12).build();
        RandomData d = new RandomData(13, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(2, 2, 3),
                new INDArray[]{d.oneHotSequence(2, 2, 3), d.gaussian(2, 1)}, null);
        check(net, batch, new double[]{1, 1});
    }

    @Test
    void weightOrthogonalityOnDenseAndRecurrentTrunks() {
        MultiTaskNetwork dense = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4))
                .task(Task.classification("c", 2)).task(Task.regression("r"))
                .sharing(Sluice.builder().lambda(0.5).orthogonality(Sluice.Orthogonality.WEIGHTS).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(16).build();
        RandomData d = new RandomData(17, DataType.DOUBLE);
        check(dense, RandomData.dataSet(d.gaussian(3, 3), new INDArray[]{d.oneHot(3, 2), d.gaussian(3, 1)}, null),
                new double[]{1, 1});
        MultiTaskNetwork recurrent = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(2))
                        .layer(new LSTM.Builder().nOut(4).activation(Activation.TANH).build()).build())
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .sharing(Sluice.builder().lambda(0.5).orthogonality(Sluice.Orthogonality.WEIGHTS).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(18).build();
        check(recurrent, RandomData.dataSet(d.gaussian(2, 2, 3),
                new INDArray[]{d.oneHotSequence(2, 2, 3), d.gaussian(2, 1)}, null), new double[]{1, 1});
    }

    /**
     * Three stages of one width with two subspaces (the permuted layout, whose forward product shares memory with
     * the shared backward arrays) and learned beta: stages that mix the same columns share their backward arrays.
     * With a task at stage 0 the first stage mixes a column more than the others and has its own.
     */
    @ParameterizedTest(name = "task at stage 0 {0}")
    @ValueSource(booleans = {false, true})
    void equalWidthStagesThatShareBackwardArrays(boolean hierarchy) {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4, 4))
                .task(Task.classification("c", 2))
                .task(Task.regression("r"))
                .task(hierarchy ? Task.regression("low").withStage(0) : Task.regression("low"))
                .sharing(Sluice.builder().lambda(0.5).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(23).build();
        RandomData d = new RandomData(24, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(3, 3),
                new INDArray[]{d.oneHot(3, 2), d.gaussian(3, 1), d.gaussian(3, 1)}, null);
        check(net, batch, new double[]{1, 1, 1});
    }

    @Test
    void convolutionalTrunk() {
        SharedTrunk trunk = SharedTrunk.builder(InputType.convolutional(3, 3, 1))
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build()).build();
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.classification("a", 2)).task(Task.regression("b"))
                .sharing(Sluice.builder().lambda(0.5).beta(Sluice.Beta.LAST).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(14).build();
        RandomData d = new RandomData(15, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(2, 1, 3, 3),
                new INDArray[]{d.oneHot(2, 2), d.gaussian(2, 1)}, null);
        check(net, batch, new double[]{1, 1});
    }
}
