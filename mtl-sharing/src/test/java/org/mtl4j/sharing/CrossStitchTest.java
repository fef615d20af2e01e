package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.TrainingHistory;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.sharing.graph.CrossStitchVertex;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cross-stitch: equivalences, learned alphas, options, persistence and errors. */
class CrossStitchTest {

    private static MultiTaskNetwork.Builder twoTasks(CrossStitch sharing) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .sharing(sharing)
                .dataType(DataType.DOUBLE)
                .seed(3);
    }

    private static List<MultiDataSet> batches(int n) {
        RandomData d = new RandomData(12, DataType.DOUBLE);
        List<MultiDataSet> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(RandomData.dataSet(d.gaussian(6, 4), new INDArray[]{d.oneHot(6, 3), d.gaussian(6, 1)}, null));
        }
        return list;
    }

    @Test
    void frozenIdentityUnitsEqualIndependentSingleTaskNetworks() {
        MultiTaskNetwork stitched = twoTasks(CrossStitch.builder().init(CrossStitch.Init.IDENTITY).frozen(true).build())
                .updater(new Adam(0.01)).build();
        List<MultiTaskNetwork> singles = List.of(
                MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                        .task(Task.classification("c", 3).withLabelsIndex(0))
                        .updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(1).build(),
                MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                        .task(Task.regression("r").withLabelsIndex(1))
                        .updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(2).build());
        for (int t = 0; t < 2; t++) {
            copyColumn(stitched.graph(), t, singles.get(t).graph());
        }
        for (MultiDataSet batch : batches(5)) {
            stitched.fit(batch);
            singles.forEach(s -> s.fit(batch));
        }
        for (int t = 0; t < 2; t++) {
            ComputationGraph single = singles.get(t).graph();
            for (Map.Entry<String, INDArray> e : single.paramTable().entrySet()) {
                String key = e.getKey().startsWith("trunk_") ? "col" + t + "_" + e.getKey().substring(6) : e.getKey();
                assertEquals(0.0, stitched.graph().getParam(key).sub(e.getValue()).amaxNumber().doubleValue(), 1e-12,
                        key);
            }
        }
        for (INDArray alpha : CrossStitch.alphas(stitched)) {
            assertEquals(Nd4j.eye(2).castTo(DataType.DOUBLE), alpha);
        }
    }

    private static void copyColumn(ComputationGraph stitched, int column, ComputationGraph single) {
        for (String key : single.paramTable().keySet()) {
            String from = key.startsWith("trunk_") ? "col" + column + "_" + key.substring(6) : key;
            single.setParam(key, stitched.getParam(from).dup());
        }
    }

    @Test
    void alphasStartAtThePapersInitialisation() {
        List<INDArray> two = CrossStitch.alphas(twoTasks(new CrossStitch()).updater(new NoOp()).build());
        assertEquals(2, two.size(), "one unit per trunk stage");
        assertArrayEquals(new double[]{0.9, 0.1, 0.1, 0.9}, two.get(0).reshape(4).toDoubleVector(), 1e-15);
        MultiTaskNetwork three = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 6))
                .task(Task.regression("a")).task(Task.regression("b")).task(Task.regression("c"))
                .sharing(new CrossStitch()).dataType(DataType.DOUBLE).build();
        assertArrayEquals(new double[]{0.9, 0.05, 0.05}, CrossStitch.alphas(three).get(0).getRow(0).toDoubleVector(),
                1e-15);
        MultiTaskNetwork perChannel = twoTasks(CrossStitch.builder().init(CrossStitch.Init.UNIFORM).perChannel(true)
                .build()).build();
        INDArray alpha = CrossStitch.alphas(perChannel).get(1);
        assertArrayEquals(new long[]{2, 2, 5}, alpha.shape());
        assertEquals(0.5, alpha.minNumber().doubleValue(), 0.0);
        assertEquals(0.5, alpha.maxNumber().doubleValue(), 0.0);
    }

    @Test
    void unitsLearnAndTheLearningRateMultiplierScalesTheirStep() {
        MultiDataSet batch = batches(1).get(0);
        MultiTaskNetwork plain = twoTasks(new CrossStitch()).updater(new Sgd(0.1)).build();
        MultiTaskNetwork faster = twoTasks(CrossStitch.builder().learningRateMultiplier(10).build())
                .updater(new Sgd(0.1)).build();
        INDArray start = CrossStitch.alphas(plain).get(0);
        plain.fit(batch);
        faster.fit(batch);
        INDArray stepPlain = CrossStitch.alphas(plain).get(0).sub(start);
        INDArray stepFaster = CrossStitch.alphas(faster).get(0).sub(start);
        assertTrue(stepPlain.amaxNumber().doubleValue() > 1e-6, "the units learn");
        assertEquals(0.0, stepFaster.sub(stepPlain.mul(10)).amaxNumber().doubleValue(), 1e-12);
        assertEquals(0.0, plain.graph().getParam("col0_0_0_W").sub(faster.graph().getParam("col0_0_0_W"))
                .amaxNumber().doubleValue(), 1e-15, "the columns' own step is not scaled");
    }

    @Test
    void theFrozenAblationAndTheUnitVertexRoundTripThroughDl4jJson() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        // the contract kit leaves frozen out: constant units fail its numeric gradient check by design
        CrossStitch frozen = CrossStitch.builder().init(0.7, 0.3).frozen(true).build();
        assertEquals(frozen, mapper.readValue(mapper.writeValueAsString(frozen), CrossStitch.class));
        CrossStitchVertex vertex = new CrossStitchVertex(1, 3, 4, new double[]{0.1, 0.8, 0.1}, true, new Adam(0.5));
        String vertexJson = mapper.writeValueAsString(vertex);
        assertEquals(vertex, mapper.readValue(vertexJson, org.deeplearning4j.nn.conf.graph.GraphVertex.class));
    }

    @Test
    void badOptionsFailWithClearMessages() {
        assertEquals("cross-stitch alphaSelf must be finite, got NaN", assertThrows(IllegalArgumentException.class,
                () -> CrossStitch.builder().init(Double.NaN, 0.1).build()).getMessage());
        assertEquals("cross-stitch learning-rate multiplier must be finite and > 0, got 0.0",
                assertThrows(IllegalArgumentException.class,
                        () -> CrossStitch.builder().learningRateMultiplier(0).build()).getMessage());
        IllegalArgumentException noRate = assertThrows(IllegalArgumentException.class,
                () -> twoTasks(CrossStitch.builder().learningRateMultiplier(5).build()).updater(new NoOp()).build());
        assertTrue(noRate.getMessage().startsWith("a cross-stitch learning-rate multiplier needs an updater with a"
                + " learning rate"), noRate.getMessage());
        MultiTaskNetwork hard = MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(4, Activation.TANH, 3))
                .task(Task.regression("r")).build();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CrossStitch.alphas(hard)).getMessage()
                .endsWith("not cross-stitch sharing"));
    }

    @Test
    void learnedValuesNameEveryAlphaAndTheHistoryRecordsThem() {
        MultiTaskNetwork net = twoTasks(new CrossStitch()).updater(new Adam(0.05)).build();
        TrainingHistory history = net.fit(new org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator(1,
                batches(3).toArray(new org.nd4j.linalg.dataset.MultiDataSet[0])), 2);

        List<INDArray> alphas = CrossStitch.alphas(net);
        Map<String, Double> learned = net.sharing().learnedValues(net);
        assertEquals(List.of("alpha.s0[c<-c]", "alpha.s0[c<-r]", "alpha.s0[r<-c]", "alpha.s0[r<-r]",
                "alpha.s1[c<-c]", "alpha.s1[c<-r]", "alpha.s1[r<-c]", "alpha.s1[r<-r]"), List.copyOf(learned.keySet()));
        assertEquals(alphas.get(0).getDouble(0, 1), learned.get("alpha.s0[c<-r]"));
        assertEquals(alphas.get(1).getDouble(1, 0), learned.get("alpha.s1[r<-c]"));
        assertEquals(learned, history.last().learned());
        assertTrue(learned.get("alpha.s0[c<-r]") != 0.1, "the alphas trained away from their start");
    }

    @Test
    void perChannelLearnedValuesAreTheChannelMeans() {
        MultiTaskNetwork net = twoTasks(CrossStitch.builder().perChannel(true).build()).build();
        INDArray alpha = CrossStitch.alphas(net).get(1);
        Map<String, Double> learned = net.sharing().learnedValues(net);
        assertEquals(alpha.get(NDArrayIndex.point(0), NDArrayIndex.point(1), NDArrayIndex.all()).meanNumber().doubleValue(),
                learned.get("alpha.s1[c<-r]"), 1e-15);
        assertEquals(0.9, learned.get("alpha.s0[r<-r]"), 1e-15);
    }
}
