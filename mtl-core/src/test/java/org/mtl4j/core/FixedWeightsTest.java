package org.mtl4j.core;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.graph.ParamLayout;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.core.train.TrainingStep;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fixed weights scale each task's gradient exactly, and masked losses are means over labelled examples. */
class FixedWeightsTest {

    private static MultiTaskNetwork network(LossCombinator losses) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .losses(losses)
                .updater(new NoOp())
                .dataType(DataType.DOUBLE)
                .seed(3)
                .build();
    }

    private static MultiDataSet batch() {
        RandomData data = new RandomData(9, DataType.DOUBLE);
        return RandomData.dataSet(data.gaussian(5, 4), new INDArray[]{data.oneHot(5, 3), data.gaussian(5, 1)}, null);
    }

    @Test
    void weightsTwoAndHalfScaleEachTasksGradientExactly() {
        MultiDataSet batch = batch();
        INDArray onlyC = network(FixedWeights.of(1, 0)).gradient(batch).gradient();
        INDArray onlyR = network(FixedWeights.of(0, 1)).gradient(batch).gradient();
        TrainingStep.GradientResult weighted = network(FixedWeights.of(2, 0.5)).gradient(batch);

        INDArray expected = onlyC.mul(2).addi(onlyR.mul(0.5));
        assertEquals(0.0, weighted.gradient().sub(expected).amaxNumber().doubleValue(), 1e-14);
        assertArrayEquals(new double[]{2, 0.5}, weighted.weights().weights());
        // the classification head's parameters get exactly twice the equal-weight gradient, the regression head's half
        MultiTaskNetwork equal = network(FixedWeights.equal());
        INDArray equalGradient = equal.gradient(batch).gradient();
        for (String param : List.of("head_c_out_W", "head_c_out_b", "head_r_out_W", "head_r_out_b")) {
            double factor = param.startsWith("head_c") ? 2 : 0.5;
            INDArray w = slice(equal, weighted.gradient(), param);
            INDArray e = slice(equal, equalGradient, param).mul(factor);
            assertEquals(0.0, w.sub(e).amaxNumber().doubleValue(), 1e-14, param);
            assertTrue(e.amaxNumber().doubleValue() > 0, param + " has a non-zero gradient");
        }
    }

    private static INDArray slice(MultiTaskNetwork net, INDArray flat, String key) {
        return ParamLayout.slice(net.graph(), flat, key);
    }

    @Test
    void maskedLossIsTheMeanOverLabelledExamples() {
        MultiTaskNetwork net = network(FixedWeights.equal());
        net.params().assign(0);   // all outputs 0: softmax gives 1/3 per class, regression predicts 0
        INDArray features = Nd4j.rand(DataType.DOUBLE, 4, 4);
        INDArray classes = Nd4j.create(new double[][]{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}});
        INDArray targets = Nd4j.create(new double[][]{{1}, {2}, {3}, {4}});
        INDArray maskR = Nd4j.create(new double[][]{{1}, {0}, {1}, {0}});
        TaskLosses losses = net.losses(RandomData.dataSet(features, new INDArray[]{classes, targets},
                new INDArray[]{null, maskR}));
        // squared errors of the labelled examples: 1^2 and 3^2, mean over the 2 labelled ones
        assertEquals(5.0, losses.loss(1), 1e-12);
        assertEquals(Math.log(3), losses.loss(0), 1e-12);
        assertArrayEquals(new int[]{4, 2}, losses.labelled());
    }

    @Test
    void perOutputMaskAveragesOverExamplesWithAnyLabel() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(2, Activation.TANH, 3))
                .task(Task.regression("r", 2))
                .updater(new NoOp()).dataType(DataType.DOUBLE).seed(1).build();
        net.params().assign(0);
        INDArray targets = Nd4j.create(new double[][]{{2, 4}, {6, 8}, {1, 1}});
        INDArray mask = Nd4j.create(new double[][]{{1, 0}, {1, 1}, {0, 0}});
        TaskLosses losses = net.losses(RandomData.dataSet(Nd4j.rand(DataType.DOUBLE, 3, 2), new INDArray[]{targets},
                new INDArray[]{mask}));
        // DL4J's MSE is the mean over the 2 outputs of each example; masked outputs count 0:
        // example 0: (4 + 0) / 2 = 2, example 1: (36 + 64) / 2 = 50, example 2 unlabelled; mean over 2 examples
        assertEquals(26.0, losses.loss(0), 1e-12);
        assertEquals(2, losses.labelled()[0]);
    }

    @Test
    void weightsByNameDefaultToOneForUnnamedTasks() {
        FixedWeights w = FixedWeights.of(Map.of("r", 0.25));
        w.init(List.of(Task.classification("c", 3), Task.regression("r")));
        TaskWeights applied = w.combine(new TaskLosses(List.of("c", "r"), new double[]{1, 1}, new int[]{1, 1}, 0, 0));
        assertArrayEquals(new double[]{1, 0.25}, applied.weights());
    }

    @Test
    void combineBeforeInitIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> FixedWeights.of(1, 2)
                .combine(new TaskLosses(List.of("a", "b"), new double[]{1, 1}, new int[]{1, 1}, 0, 0)));
        assertEquals("FixedWeights.init(tasks) must be called before combine", e.getMessage());
    }

    @Test
    void jsonHoldsTheWeightsInTaskOrderOrByName() throws Exception {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        assertEquals(mapper.readTree("{\"weights\":[2.0,0.5]}"), mapper.valueToTree(FixedWeights.of(2, 0.5)));
        assertEquals(mapper.readTree("{\"weightsByName\":{\"r\":3.0}}"), mapper.valueToTree(FixedWeights.of(Map.of("r", 3.0))));
    }
}
