package org.mtl4j.losses;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.testing.DoublePrecision;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Geometric loss strategy (Chennupati et al. 2019): weights {@code G / (T L_t)}, zero losses, and a numeric
 * gradient check of the whole network's objective G in double precision (tanh, epsilon 1e-6, max relative
 * error 1e-3, absolute errors below 1e-9 ignored, every parameter).
 */
@ExtendWith(DoublePrecision.class)
class GeometricLossStrategyTest {

    private static final GeometricLossStrategy GLS = new GeometricLossStrategy();


    private static TaskLosses losses(double[] values, int... labelled) {
        List<String> names = new ArrayList<>();
        for (int t = 0; t < values.length; t++) {
            names.add("t" + t);
        }
        return new TaskLosses(names, values, labelled, 0, 0);
    }

    @Test
    void weightsAreTheGeometricMeanOverTaskCountTimesEachLoss() {
        TaskLosses l = losses(new double[]{1, 4, 2}, 5, 5, 5);
        // G = 8^(1/3) = 2; w_t = G / (3 L_t)
        assertArrayEquals(new double[]{2 / 3.0, 1 / 6.0, 1 / 3.0}, GLS.combine(l).weights(), 1e-15);
        assertEquals(2.0, GLS.objective(l), 1e-15);
        TaskLosses odd = losses(new double[]{0.37, 12.5, 3e-4, 2.2}, 1, 2, 3, 4);
        double[] w = GLS.combine(odd).weights();
        double weighted = 0;
        for (int t = 0; t < 4; t++) {
            weighted += w[t] * odd.loss(t);
        }
        assertEquals(Math.pow(0.37 * 12.5 * 3e-4 * 2.2, 0.25), GLS.objective(odd), 1e-15);
        assertEquals(GLS.objective(odd), weighted, 1e-15, "sum_t w_t L_t = G");
    }

    @Test
    void zeroLossesAndUnlabelledTasksAreLeftOutOfTheMean() {
        // G over tasks 1 and 2 = sqrt(4 * 1) = 2; w = G / (2 L_t)
        assertArrayEquals(new double[]{0, 0.25, 1}, GLS.combine(losses(new double[]{0, 4, 1}, 3, 3, 3)).weights(), 1e-15);
        assertArrayEquals(new double[]{0.25, 1, 0}, GLS.combine(losses(new double[]{4, 1, 0}, 3, 3, 0)).weights(), 1e-15);
        assertArrayEquals(new double[]{1, 0}, GLS.combine(losses(new double[]{7, 0}, 3, 0)).weights(), 0.0,
                "one task: weight 1");
        assertArrayEquals(new double[]{0, 0}, GLS.combine(losses(new double[]{0, 0}, 3, 0)).weights(), 0.0);
        assertEquals(0.0, GLS.objective(losses(new double[]{0, 0}, 3, 0)), 0.0);
        assertEquals(1e-300, GLS.objective(losses(new double[]{1e-300, 1e-300}, 1, 1)), 1e-310, "no underflow");
    }

    @ParameterizedTest(name = "minibatch {0}, task b labelled: {1}")
    @CsvSource({"1, true", "3, true", "3, false"})
    void networkGradientIsTheGradientOfTheGeometricMean(int mb, boolean bLabelled) {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("a", 3).withHead(Head.of(
                        new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build())))
                .task(Task.regression("b", 2))
                .task(Task.regression("c"))
                .losses(GLS).updater(new NoOp()).dataType(DataType.DOUBLE).seed(11).build();
        RandomData data = new RandomData(20 + mb, DataType.DOUBLE);
        INDArray bMask = bLabelled ? null : Nd4j.zeros(DataType.DOUBLE, mb, 1);
        MultiDataSet batch = RandomData.dataSet(data.gaussian(mb, 4),
                new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 2), data.gaussian(mb, 1)},
                new INDArray[]{null, bMask, null});

        INDArray analytic = net.gradient(batch).gradient();
        TaskWeights w = net.gradient(batch).weights();
        assertEquals(bLabelled, w.weight(1) > 0, "task b's weight " + w.weight(1));
        INDArray params = net.params();
        double eps = 1e-6;
        int failed = 0;
        String worst = "";
        double worstRel = 0;
        for (long i = 0; i < params.length(); i++) {
            double original = params.getDouble(i);
            params.putScalar(i, original + eps);
            double plus = GLS.objective(net.losses(batch));
            params.putScalar(i, original - eps);
            double minus = GLS.objective(net.losses(batch));
            params.putScalar(i, original);
            double numeric = (plus - minus) / (2 * eps);
            double a = analytic.getDouble(i);
            double abs = Math.abs(a - numeric);
            double rel = abs == 0 ? 0 : abs / Math.max(Math.abs(a), Math.abs(numeric));
            if (abs > 1e-9 && rel > 1e-3) {
                failed++;
            }
            if (abs > 1e-9 && rel > worstRel) {
                worstRel = rel;
                worst = "parameter " + i + ": analytic " + a + " vs numeric " + numeric;
            }
        }
        String message = worst + " (relative error " + worstRel + ")";
        assertEquals(0, failed, message);
        assertEquals(net.graph().numParams(), params.length());
    }

    @Test
    void jsonIsAnEmptyObject() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        String json = mapper.writeValueAsString(GLS);
        assertEquals(mapper.createObjectNode(), mapper.readTree(json), "no configuration fields: " + json);
        assertEquals(GLS.hashCode(), new GeometricLossStrategy().hashCode());
        assertEquals("GeometricLossStrategy", GLS.toString());
    }

    @Test
    void negativeOrNonFiniteLossesFailWithClearMessages() {
        assertEquals("geometric loss strategy: task \"t1\" has loss -0.5, but the geometric mean needs finite losses >= 0",
                assertThrows(IllegalArgumentException.class,
                        () -> GLS.combine(losses(new double[]{1, -0.5}, 1, 1))).getMessage());
        assertEquals("geometric loss strategy: task \"t0\" has loss NaN, but the geometric mean needs finite losses >= 0",
                assertThrows(IllegalArgumentException.class,
                        () -> GLS.combine(losses(new double[]{Double.NaN, 1}, 1, 1))).getMessage());
    }

    private static MultiTaskNetwork network() {
        return MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(3, Activation.TANH, 6))
                .tasks(Task.regression("r"), Task.classification("c", 2))
                .losses(new GeometricLossStrategy()).updater(new Adam(0.05)).dataType(DataType.DOUBLE).seed(3).build();
    }
}
