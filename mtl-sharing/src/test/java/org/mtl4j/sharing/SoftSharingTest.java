package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.graph.ParamLayout;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Soft parameter sharing: hand-computed penalties and gradients, lambda 0 as independent single-task
 * networks, a large lambda pulling the columns together, initialisation, persistence, convolutional and
 * recurrent trunks, and bad options. Double precision throughout.
 */
class SoftSharingTest {

    private static DataType previousDefault;


    @BeforeAll
    static void doublePrecision() {
        previousDefault = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restorePrecision() {
        Nd4j.setDefaultDataTypes(previousDefault, previousDefault);
    }

    // ---------------------------------------------------------------- models, data, helpers

    /** Dense tanh trunk 4 -> 5 -> 4 per column (weights 20 + 20, biases 5 + 4); tasks c (3 classes) and r (2). */
    private static MultiTaskNetwork dense(SoftSharing sharing, IUpdater updater, long seed) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .sharing(sharing)
                .updater(updater)
                .dataType(DataType.DOUBLE)
                .seed(seed)
                .build();
    }

    /** A batch for tasks c and r; r is labelled on every other example only. */
    private static MultiDataSet denseBatch(RandomData data, int mb) {
        double[] mask = new double[mb];
        for (int i = 0; i < mb; i++) {
            mask[i] = i % 2;
        }
        return RandomData.dataSet(data.gaussian(mb, 4), new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 2)},
                new INDArray[]{null, data.mask(mask)});
    }

    /** Sets every parameter of every layer of column {@code column} to {@code value}. */
    private static void fill(ComputationGraph graph, int column, double value) {
        for (GraphVertex v : graph.getVertices()) {
            if (v.hasLayer() && v.getVertexName().startsWith("col" + column + "_")) {
                v.getLayer().paramTable().values().forEach(p -> p.assign(value));
            }
        }
    }

    /** {@code sqrt(sum ||W_0 - W_1||^2)} over the weights of the dense trunk's two layers. */
    private static double columnDistance(MultiTaskNetwork net) {
        double sum = 0;
        for (String layer : List.of("0_0", "1_0")) {
            INDArray d = net.graph().getParam("col0_" + layer + "_W").sub(net.graph().getParam("col1_" + layer + "_W"));
            sum += d.mul(d).sumNumber().doubleValue();
        }
        return Math.sqrt(sum);
    }

    private static double[] flat(INDArray a) {
        return Nd4j.toFlattened(a).toDoubleVector();
    }

    private static SoftSharing sharing(MultiTaskNetwork net) {
        return assertInstanceOf(SoftSharing.class, net.sharing());
    }

    // ---------------------------------------------------------------- values and gradients by hand

    @ParameterizedTest(name = "pairwise {0}, biases {1}")
    @CsvSource({
            // column 0 all 1, column 1 all 3: mean 2, every element 1 away from it; 40 weights, 9 biases
            "false, false, 40",   // 0.5 * (1 + 1) * 40
            "false, true, 49",    // 0.5 * (1 + 1) * 49
            "true, false, 80",    // 0.5 * (3 - 1)^2 * 40
            "true, true, 98"})    // 0.5 * (3 - 1)^2 * 49
    void penaltyAndItsGradientEqualHandValuesForTwoColumns(boolean pairwise, boolean biases, double expected) {
        MultiTaskNetwork net = dense(SoftSharing.builder().lambda(0.5).pairwise(pairwise).includeBiases(biases).build(),
                new Sgd(0.1), 1);
        fill(net.graph(), 0, 1.0);
        fill(net.graph(), 1, 3.0);

        assertEquals(expected, net.penalty(), 1e-12);

        // d/dW_0 = 2 lambda (1 - 2) = -1 (times T = 2 pairwise), d/dW_1 = +1 (+2), scaled by 3 (minibatch size)
        INDArray gradient = Nd4j.zeros(DataType.DOUBLE, 1, net.graph().numParams());
        assertEquals(expected, net.sharing().penalty(net.graph(), gradient, 3.0), 1e-12);
        double slope = (pairwise ? 2 : 1) * 3.0;
        for (String layer : List.of("0_0", "1_0")) {
            assertAll(net.graph(), gradient, "col0_" + layer + "_W", -slope);
            assertAll(net.graph(), gradient, "col1_" + layer + "_W", slope);
            assertAll(net.graph(), gradient, "col0_" + layer + "_b", biases ? -slope : 0);
            assertAll(net.graph(), gradient, "col1_" + layer + "_b", biases ? slope : 0);
        }
        for (String head : List.of("head_c_out_W", "head_c_out_b", "head_r_out_W", "head_r_out_b")) {
            assertAll(net.graph(), gradient, head, 0);
        }
    }

    private static void assertAll(ComputationGraph graph, INDArray gradient, String key, double value) {
        INDArray slice = ParamLayout.slice(graph, gradient, key);
        assertEquals(value, slice.minNumber().doubleValue(), 1e-12, key);
        assertEquals(value, slice.maxNumber().doubleValue(), 1e-12, key);
    }

    @ParameterizedTest(name = "pairwise {0}")
    @CsvSource({
            // stage 0 in columns 0, 1, 2 = 0, 1, 5 (mean 2): per element 4 + 1 + 9 = 14, pairwise 1 + 25 + 16 = 42;
            // stage 1 only in columns 0, 1 = 0, 1 (mean 0.5): 0.25 + 0.25 = 0.5, pairwise 1; 20 weights per stage
            "false, 145",   // 0.5 * (14 * 20 + 0.5 * 20)
            "true, 430"})   // 0.5 * (42 * 20 + 1 * 20)
    void threeColumnsWithATaskReadingAnEarlierStage(boolean pairwise, double expected) {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .task(Task.regression("low").withStage(0))
                .sharing(SoftSharing.builder().lambda(0.5).pairwise(pairwise).build())
                .dataType(DataType.DOUBLE).seed(2).build();
        assertEquals(List.of("col0_1_0", "col1_1_0", "col2_0_0"), net.representationNames());
        assertEquals(List.of("0_0_W", "1_0_W"), sharing(net).penalisedParameters(net.graph()));
        fill(net.graph(), 0, 0.0);
        fill(net.graph(), 1, 1.0);
        fill(net.graph(), 2, 5.0);
        assertEquals(expected, net.penalty(), 1e-12);
    }

    // ---------------------------------------------------------------- lambda 0 and large lambda

    @Test
    void lambdaZeroTrainsExactlyLikeIndependentSingleTaskNetworks() {
        MultiTaskNetwork soft = dense(SoftSharing.of(0), new Adam(0.01), 3);
        List<MultiTaskNetwork> single = List.of(
                MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                        .task(Task.classification("c", 3).withLabelsIndex(0))
                        .updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(4).build(),
                MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                        .task(Task.regression("r", 2).withLabelsIndex(1))
                        .updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(5).build());
        // start equal: column t = single network t's trunk, heads by name
        long copied = 0;
        for (int t = 0; t < 2; t++) {
            for (Map.Entry<String, INDArray> e : single.get(t).graph().paramTable().entrySet()) {
                String key = e.getKey().startsWith("trunk_") ? "col" + t + e.getKey().substring("trunk".length()) : e.getKey();
                soft.graph().getParam(key).assign(e.getValue());
                copied += e.getValue().length();
            }
        }
        assertEquals(soft.graph().numParams(), copied);

        RandomData data = new RandomData(7, DataType.DOUBLE);
        for (int step = 0; step < 8; step++) {
            MultiDataSet batch = denseBatch(data, 4 + step % 3);
            soft.fit(batch);
            single.forEach(n -> n.fit(batch));
        }
        for (int t = 0; t < 2; t++) {
            for (Map.Entry<String, INDArray> e : single.get(t).graph().paramTable().entrySet()) {
                String key = e.getKey().startsWith("trunk_") ? "col" + t + e.getKey().substring("trunk".length()) : e.getKey();
                assertArrayEquals(flat(e.getValue()), flat(soft.graph().getParam(key)), 1e-12, key);
            }
        }
        assertNotEquals(0.0, columnDistance(soft));
    }

    @ParameterizedTest(name = "pairwise {0}")
    @ValueSource(booleans = {false, true})
    void largeLambdaPullsTheColumnsTogetherAndZeroDoesNot(boolean pairwise) {
        MultiTaskNetwork tied = dense(SoftSharing.builder().lambda(10).pairwise(pairwise).build(), new Sgd(0.02), 6);
        MultiTaskNetwork free = dense(SoftSharing.builder().lambda(0).pairwise(pairwise).build(), new Sgd(0.02), 6);
        double initial = columnDistance(tied);
        assertEquals(initial, columnDistance(free), 0.0);
        RandomData data = new RandomData(8, DataType.DOUBLE);
        double firstPenalty = 0;
        double lastPenalty = 0;
        for (int step = 0; step < 30; step++) {
            MultiDataSet batch = denseBatch(data, 8);
            StepResult r = tied.fit(batch);
            free.fit(batch);
            firstPenalty = step == 0 ? r.penalty() : firstPenalty;
            lastPenalty = r.penalty();
        }
        // what remains is the balance of the tasks' differing gradients against the pull, about 1% of the start
        assertTrue(columnDistance(tied) < 0.05 * initial, "lambda 10: the columns' distance went from " + initial
                + " to " + columnDistance(tied));
        assertTrue(columnDistance(free) > 0.8 * initial, "lambda 0: the columns' distance went from " + initial
                + " to " + columnDistance(free));
        assertTrue(lastPenalty < 1e-3 * firstPenalty, "penalty went from " + firstPenalty + " to " + lastPenalty);
    }

    @Test
    void floatNetworksTrainWithThePenalty() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 5, 4))
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .sharing(SoftSharing.builder().lambda(10).includeBiases(true).build())
                .updater(new Sgd(0.02)).dataType(DataType.FLOAT).seed(16).build();
        RandomData data = new RandomData(17, DataType.FLOAT);
        double first = net.fit(denseBatch(data, 8)).penalty();
        for (int step = 0; step < 20; step++) {
            net.fit(denseBatch(data, 8));
        }
        assertEquals(DataType.FLOAT, net.params().dataType());
        assertTrue(net.penalty() < 1e-2 * first, "penalty went from " + first + " to " + net.penalty());
    }

    // ---------------------------------------------------------------- initialisation

    @Test
    void identicalInitStartsEveryColumnFromColumnZeroAndIndependentInitDoesNot() {
        MultiTaskNetwork same = dense(SoftSharing.builder().identicalInit(true).build(), new Sgd(0.1), 9);
        MultiTaskNetwork independent = dense(new SoftSharing(), new Sgd(0.1), 9);
        for (String p : List.of("0_0_W", "0_0_b", "1_0_W", "1_0_b")) {
            assertEquals(same.graph().getParam("col0_" + p), same.graph().getParam("col1_" + p), p);
        }
        assertEquals(0.0, same.penalty(), 0.0);
        assertNotEquals(independent.graph().getParam("col0_0_0_W"), independent.graph().getParam("col1_0_0_W"));
        assertNotEquals(independent.graph().getParam("col0_1_0_W"), independent.graph().getParam("col1_1_0_W"));
        assertTrue(independent.penalty() > 0);
        // the heads keep their own initialisations
        assertNotEquals(same.graph().getParam("head_c_out_W").getDouble(0), same.graph().getParam("head_r_out_W").getDouble(0));
    }

    // ---------------------------------------------------------------- persistence

    @Test
    void aMisnamedMissingOrNegativeLambdaInJsonFails() {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        // a misnamed or missing lambda fails instead of coming back as 0; a bad value fails with the usual message
        JsonProcessingException misnamed = assertThrows(JsonProcessingException.class,
                () -> mapper.readValue("{\"lamda\":0.5,\"pairwise\":true}", SoftSharing.class));
        assertTrue(misnamed.getMessage().contains("lambda"), misnamed.getMessage());
        JsonProcessingException negative = assertThrows(JsonProcessingException.class,
                () -> mapper.readValue("{\"lambda\":-1.0}", SoftSharing.class));
        assertTrue(negative.getMessage().contains("soft sharing: lambda must be finite and >= 0, got -1.0"),
                negative.getMessage());
    }

    @Test
    void valueSemantics() {
        assertEquals(new SoftSharing(), SoftSharing.builder().build());
        assertEquals(new SoftSharing(), SoftSharing.of(SoftSharing.DEFAULT_LAMBDA));
        assertEquals(SoftSharing.DEFAULT_LAMBDA, new SoftSharing().lambda(), 0.0);
        assertFalse(new SoftSharing().pairwise() || new SoftSharing().includeBiases() || new SoftSharing().identicalInit());
        SoftSharing a = SoftSharing.builder().lambda(0.1).pairwise(true).build();
        assertEquals(a, SoftSharing.builder().lambda(0.1).pairwise(true).build());
        assertEquals(a.hashCode(), SoftSharing.builder().lambda(0.1).pairwise(true).build().hashCode());
        assertNotEquals(a, SoftSharing.of(0.1));
        assertNotEquals(a, SoftSharing.builder().lambda(0.2).pairwise(true).build());
        assertNotEquals(SoftSharing.of(0.1), SoftSharing.builder().lambda(0.1).includeBiases(true).build());
        assertNotEquals(SoftSharing.of(0.1), SoftSharing.builder().lambda(0.1).identicalInit(true).build());
        assertEquals("SoftSharing{lambda=0.1, includeBiases=false, pairwise=true, identicalInit=false}", a.toString());
    }

    // ---------------------------------------------------------------- convolutional and recurrent trunks

    enum Kind { CONVOLUTIONAL, RECURRENT }

    private static MultiTaskNetwork network(Kind kind, SoftSharing sharing) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder().sharing(sharing).updater(new Adam(0.01))
                .dataType(DataType.DOUBLE).seed(12);
        return switch (kind) {
            // conv 3x3 1 -> 4 (36 weights, 4 biases), batch norm, max pool -> 4x3x3, dense 36 -> 10 (360, 10)
            case CONVOLUTIONAL -> b.trunk(SharedTrunk.builder(InputType.convolutional(8, 8, 1))
                            .stage(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.TANH).build(),
                                    new BatchNormalization.Builder().build(),
                                    new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2)
                                            .stride(2, 2).build())
                            .layer(new DenseLayer.Builder().nOut(10).activation(Activation.TANH).build())
                            .build())
                    .task(Task.classification("c", 3))
                    .task(Task.regression("r"))
                    .build();
            // LSTM 3 -> 10: W 3 x 40 = 120, RW 10 x 40 = 400, b 40
            case RECURRENT -> b.trunk(SharedTrunk.builder(InputType.recurrent(3))
                            .layer(new LSTM.Builder().nOut(10).activation(Activation.TANH).build())
                            .build())
                    .task(Task.classification("tag", 2))
                    .task(Task.regression("last").withHead(Head.linear().lastTimeStep()))
                    .build();
        };
    }

    private static MultiDataSet batch(Kind kind, RandomData data, int mb) {
        return switch (kind) {
            case CONVOLUTIONAL -> RandomData.dataSet(data.gaussian(mb, 1, 8, 8),
                    new INDArray[]{data.oneHot(mb, 3), data.gaussian(mb, 1)}, null);
            case RECURRENT -> RandomData.dataSet(data.gaussian(mb, 3, 6),
                    new INDArray[]{data.oneHotSequence(mb, 2, 6), data.gaussian(mb, 1)}, null);
        };
    }

    @ParameterizedTest
    @CsvSource({
            "CONVOLUTIONAL, false, 0_0_W 1_0_W, 396",
            "CONVOLUTIONAL, true, 0_0_W 0_0_b 1_0_W 1_0_b, 410",
            "RECURRENT, false, 0_0_W 0_0_RW, 520",
            "RECURRENT, true, 0_0_W 0_0_RW 0_0_b, 560"})
    void convolutionalAndRecurrentTrunksPenaliseTheirKernelsButNotBatchNorm(Kind kind, boolean biases, String names,
                                                                            double penalised) {
        SoftSharing sharing = SoftSharing.builder().lambda(0.5).includeBiases(biases).build();
        MultiTaskNetwork net = network(kind, sharing);
        assertEquals(Set.of(names.split(" ")), Set.copyOf(sharing.penalisedParameters(net.graph())));

        RandomData data = new RandomData(13, DataType.DOUBLE);
        double previous = net.penalty();
        assertTrue(previous > 0);
        for (int step = 0; step < 3; step++) {
            StepResult r = net.fit(batch(kind, data, 4));
            assertEquals(previous, r.penalty(), 1e-12, "step " + step + " reports the penalty it trained on");
            assertTrue(Double.isFinite(r.totalLoss()));
            previous = net.penalty();
        }

        // every parameter 1 in column 0 and 3 in column 1 (batch norm's too): 0.5 * 2 per penalised element
        fill(net.graph(), 0, 1.0);
        fill(net.graph(), 1, 3.0);
        assertEquals(penalised, net.penalty(), 1e-12);
    }

    // ---------------------------------------------------------------- bad input and edge cases

    @Test
    void badLambdaFailsWithTheValueInTheMessage() {
        List<Runnable> bad = List.of(() -> SoftSharing.of(-0.1), () -> SoftSharing.of(Double.NaN),
                () -> SoftSharing.builder().lambda(Double.POSITIVE_INFINITY));
        List<String> messages = new ArrayList<>();
        for (Runnable r : bad) {
            messages.add(assertThrows(IllegalArgumentException.class, r::run).getMessage());
        }
        assertEquals(List.of("soft sharing: lambda must be finite and >= 0, got -0.1",
                "soft sharing: lambda must be finite and >= 0, got NaN",
                "soft sharing: lambda must be finite and >= 0, got Infinity"), messages);
    }

    @Test
    void aGradientOfTheWrongLengthIsRejected() {
        MultiTaskNetwork net = dense(new SoftSharing(), new Sgd(0.1), 14);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.sharing().penalty(net.graph(), Nd4j.zeros(DataType.DOUBLE, 1, 3), 1.0));
        assertEquals("soft sharing: the gradient has 3 values, but the network has " + net.graph().numParams()
                + " parameters", e.getMessage());
    }

    @Test
    void oneTaskHasOneColumnAndNoPenalty() {
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 5))
                .task(Task.regression("r")).sharing(SoftSharing.of(1)).dataType(DataType.DOUBLE).seed(15).build();
        assertEquals(List.of("col0_0_0"), net.representationNames());
        assertEquals(0.0, net.penalty(), 0.0);
        assertEquals(List.of(), sharing(net).penalisedParameters(net.graph()));
    }
}
