package org.mtl4j.core;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hard sharing with equal weights trains exactly like a hand-wired multi-output DL4J graph. */
class PlainGraphEquivalenceTest {

    enum Precision {
        FLOAT(DataType.FLOAT, 1e-6), DOUBLE(DataType.DOUBLE, 1e-12);
        final DataType type;
        final double tolerance;

        Precision(DataType type, double tolerance) {
            this.type = type;
            this.tolerance = tolerance;
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void equalWeightsHardSharingMatchesPlainGraphAfterTenSteps(Precision precision) {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 16, 12))
                .task(Task.classification("c", 4))
                .task(Task.regression("r", 2))
                .updater(new Adam(0.01))
                .dataType(precision.type)
                .seed(7)
                .build();

        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .updater(new Adam(0.01)).weightInit(WeightInit.XAVIER).dataType(precision.type).seed(7)
                .graphBuilder()
                .addInputs("input").setInputTypes(InputType.feedForward(6))
                .addLayer("trunk_0_0", new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build(), "input")
                .addLayer("trunk_1_0", new DenseLayer.Builder().nOut(12).activation(Activation.TANH).build(), "trunk_0_0")
                .addLayer("head_c_out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "trunk_1_0")
                .addLayer("head_r_out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2)
                        .activation(Activation.IDENTITY).build(), "trunk_1_0")
                .setOutputs("head_c_out", "head_r_out")
                .build();
        ComputationGraph plain = new ComputationGraph(conf);
        plain.init();
        assertEquals(plain.numParams(), net.graph().numParams());
        plain.setParams(net.params().dup());

        RandomData data = new RandomData(3, precision.type);
        for (int step = 0; step < 10; step++) {
            int mb = 5 + step % 3;
            MultiDataSet batch = RandomData.dataSet(data.gaussian(mb, 6),
                    new INDArray[]{data.oneHot(mb, 4), data.gaussian(mb, 2)}, null);
            StepResult result = net.fit(batch);
            plain.fit(batch);
            assertEquals(plain.score(), result.totalLoss(), precision.tolerance * 10, "score at step " + step);
        }
        INDArray diff = net.params().sub(plain.params());
        double maxAbs = diff.amaxNumber().doubleValue();
        assertTrue(maxAbs < precision.tolerance, "max parameter difference " + maxAbs + " >= " + precision.tolerance);
        assertEquals(10, net.iterationCount());
        assertEquals(plain.getIterationCount(), net.iterationCount());
    }
}
