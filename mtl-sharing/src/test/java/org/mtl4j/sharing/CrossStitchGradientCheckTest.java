package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.DoublePrecision;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.sharing.graph.CrossStitchVertex;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Numeric gradient checks (double precision, every parameter, epsilon 1e-6, max relative error 1e-3,
 * absolute errors below 1e-9 ignored) of cross-stitch networks, scalar and per-channel units, on dense,
 * convolutional and recurrent trunks. The units' weights are randomised so that no term vanishes.
 */
@ExtendWith(DoublePrecision.class)
class CrossStitchGradientCheckTest {

    private static void randomiseUnits(MultiTaskNetwork net, long seed) {
        Random r = new Random(seed);
        net.graph().paramTable().forEach((key, value) -> {
            if (key.endsWith("_" + CrossStitchVertex.ALPHA)) {
                for (long i = 0; i < value.length(); i++) {
                    value.putScalar(i, 0.2 + r.nextDouble());
                }
            }
        });
    }

    private static void check(MultiTaskNetwork net, MultiDataSet batch, double[] weights) {
        randomiseUnits(net, 3);
        NumericGradient.Report report = NumericGradient.check(net, batch, weights, 1e-6, 1e-3, 1e-9);
        assertEquals(net.params().length(), report.checked());
        assertEquals(0, report.failed(), report::toString);
    }

    @ParameterizedTest(name = "per channel {0}")
    @ValueSource(booleans = {false, true})
    void denseTrunkThreeTasksOneMasked(boolean perChannel) {
        double[] weights = {1, 0.7, 1.3};
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 3))
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .task(Task.regression("low").withStage(0))
                .sharing(CrossStitch.builder().perChannel(perChannel).build())
                .losses(FixedWeights.of(weights))
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(5).build();
        RandomData d = new RandomData(7, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(3, 4),
                new INDArray[]{d.oneHot(3, 3), d.gaussian(3, 2), d.gaussian(3, 1)},
                new INDArray[]{null, d.mask(1, 0, 1), null});
        check(net, batch, weights);
    }

    /**
     * Three stages of one width mixed by matrix products (T = 3): stages that mix the same columns share their
     * backward arrays, so a stage that wrote them too early, or read them too late, shows here. With a task at
     * stage 0 the first stage mixes a column more than the others and has its own.
     */
    @ParameterizedTest(name = "task at stage 0 {0}")
    @ValueSource(booleans = {false, true})
    void equalWidthStagesThatShareBackwardArrays(boolean hierarchy) {
        double[] weights = {1, 0.7, 1.3};
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4, 4))
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .task(hierarchy ? Task.regression("low").withStage(0) : Task.regression("low"))
                .sharing(new CrossStitch())
                .losses(FixedWeights.of(weights))
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(21).build();
        RandomData d = new RandomData(22, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(3, 3),
                new INDArray[]{d.oneHot(3, 3), d.gaussian(3, 2), d.gaussian(3, 1)}, null);
        check(net, batch, weights);
    }

    @ParameterizedTest(name = "per channel {0}")
    @ValueSource(booleans = {false, true})
    void convolutionalTrunk(boolean perChannel) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.convolutional(5, 5, 1))
                .stage(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(2, 2).stride(1, 1)
                                .build())
                .layer(new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build())
                .build();
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.classification("a", 2)).task(Task.regression("b"))
                .sharing(CrossStitch.builder().perChannel(perChannel).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(8).build();
        RandomData d = new RandomData(9, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(2, 1, 5, 5),
                new INDArray[]{d.oneHot(2, 2), d.gaussian(2, 1)}, null);
        check(net, batch, new double[]{1, 1});
    }

    @ParameterizedTest(name = "per channel {0}")
    @ValueSource(booleans = {false, true})
    void recurrentTrunkPerStepAndLastStepHeads(boolean perChannel) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.recurrent(3))
                .layer(new LSTM.Builder().nOut(3).activation(Activation.TANH).build()).build();
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(org.mtl4j.core.Head.linear().lastTimeStep()))
                .sharing(CrossStitch.builder().perChannel(perChannel).build())
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(10).build();
        RandomData d = new RandomData(11, DataType.DOUBLE);
        INDArray featuresMask = Nd4j.create(new double[][]{{1, 1, 1}, {1, 1, 0}});
        MultiDataSet batch = new MultiDataSet(new INDArray[]{d.gaussian(2, 3, 3)},
                new INDArray[]{d.oneHotSequence(2, 2, 3), d.gaussian(2, 1)},
                new INDArray[]{featuresMask}, new INDArray[]{featuresMask, null});
        check(net, batch, new double[]{1, 1});
    }
}
