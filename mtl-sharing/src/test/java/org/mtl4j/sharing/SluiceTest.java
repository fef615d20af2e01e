package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.junit.jupiter.api.Test;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.sharing.graph.SluiceVertex;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sluice networks: equivalence with cross-stitch, the penalty by hand, initial weights, persistence, errors. */
class SluiceTest {

    private static MultiTaskNetwork network(SharingStrategy sharing, int... widths) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, widths))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .sharing(sharing).updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(9).build();
    }

    private static List<MultiDataSet> batches(int n) {
        RandomData d = new RandomData(21, DataType.DOUBLE);
        List<MultiDataSet> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(RandomData.dataSet(d.gaussian(5, 4), new INDArray[]{d.oneHot(5, 3), d.gaussian(5, 1)}, null));
        }
        return list;
    }

    @Test
    void oneSubspaceNoPenaltyAndLastStageEqualsCrossStitch() {
        MultiTaskNetwork sluice = network(Sluice.builder().subspaces(1).lambda(0).beta(Sluice.Beta.LAST).build(), 6, 4);
        MultiTaskNetwork stitch = network(new CrossStitch(), 6, 4);
        Map<String, INDArray> table = stitch.graph().paramTable();
        sluice.graph().paramTable().forEach((key, value) -> {
            String other = key.startsWith("sluice_") ? "stitch_" + key.substring(7) : key;
            assertEquals(table.get(other).length(), value.length(), other);
            table.get(other).assign(value.reshape(table.get(other).shape()));
        });
        for (MultiDataSet batch : batches(4)) {
            assertEquals(stitch.fit(batch).totalLoss(), sluice.fit(batch).totalLoss(), 1e-12);
        }
        sluice.graph().paramTable().forEach((key, value) -> {
            String other = key.startsWith("sluice_") ? "stitch_" + key.substring(7) : key;
            assertEquals(0.0, value.reshape(value.length()).sub(table.get(other).reshape(value.length()))
                    .amaxNumber().doubleValue(), 1e-12, key);
        });
        assertEquals(0.0, sluice.penalty(), 0.0);
    }

    @Test
    void penaltyEqualsAHandComputedSumOverColumnsAndStages() {
        double lambda = 0.3;
        MultiTaskNetwork net = network(Sluice.builder().lambda(lambda).beta(Sluice.Beta.LAST).build(), 4, 6);
        MultiDataSet batch = batches(1).get(0);
        net.losses(batch);
        Map<String, INDArray> acts = net.graph().feedForward(batch.getFeatures(0), false);
        double expected = 0;
        for (int stage = 0; stage < 2; stage++) {
            for (int column = 0; column < 2; column++) {
                double[][] g = acts.get(Columns.layerName(column, stage, 0)).toDoubleMatrix();
                int d = g[0].length / 2;
                for (int a = 0; a < d; a++) {
                    for (int b = 0; b < d; b++) {
                        double dot = 0;
                        for (double[] example : g) {
                            dot += example[a] * example[d + b];
                        }
                        expected += lambda * dot * dot;
                    }
                }
            }
        }
        assertTrue(expected > 0);
        assertEquals(expected, net.penalty(), 1e-12);
        assertEquals(expected, net.fit(batch).penalty(), 1e-12, "a step reports the same penalty");
    }

    @Test
    void weightPenaltyEqualsAHandComputedSumOverColumnLayers() {
        double lambda = 0.2;
        MultiTaskNetwork net = network(Sluice.builder().lambda(lambda).orthogonality(Sluice.Orthogonality.WEIGHTS)
                .beta(Sluice.Beta.LAST).build(), 4, 6);
        double expected = 0;
        for (int column = 0; column < 2; column++) {
            for (int stage = 0; stage < 2; stage++) {
                double[][] w = net.graph().getParam(Columns.layerName(column, stage, 0) + "_W").toDoubleMatrix();
                int d = w[0].length / 2;
                for (int a = 0; a < d; a++) {
                    for (int b = 0; b < d; b++) {
                        double dot = 0;
                        for (double[] input : w) {
                            dot += input[a] * input[d + b];
                        }
                        expected += lambda * dot * dot;
                    }
                }
            }
        }
        assertTrue(expected > 0);
        assertEquals(expected, net.penalty(), 1e-12);
        for (var v : net.graph().getVertices()) {
            if (v instanceof org.mtl4j.sharing.graph.SluiceUnit) {
                assertEquals(0.0, ((org.mtl4j.sharing.graph.SluiceUnit) v).penalty(), 0.0,
                        "no activation penalty in weights mode");
            }
        }
    }

    @Test
    void weightPenaltyRejectsLayersItCannotSplit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(org.mtl4j.core.SharedTrunk.builder(org.deeplearning4j.nn.conf.inputs.InputType.recurrent(3))
                        .layer(new org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn.Builder().nOut(4).build()).build())
                .task(Task.regression("a").withHead(org.mtl4j.core.Head.linear().lastTimeStep()))
                .task(Task.regression("b").withHead(org.mtl4j.core.Head.linear().lastTimeStep()))
                .sharing(Sluice.builder().lambda(0.1).orthogonality(Sluice.Orthogonality.WEIGHTS).build()).build());
        assertEquals("sluice weight orthogonality supports dense, convolution and LSTM layers, but trunk layer"
                + " col0_0_0 is a SimpleRnn", e.getMessage());
    }

    @Test
    void initialWeightsFollowThePaperDefaults() {
        MultiTaskNetwork net = network(new Sluice(), 4, 4, 4);
        INDArray alpha = Sluice.alphas(net).get(0);
        assertArrayEquals(new long[]{4, 4}, alpha.shape());
        assertArrayEquals(new double[]{0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3}, alpha.getRow(0).toDoubleVector(), 1e-15);
        assertArrayEquals(new double[]{0.1 / 3, 0.1 / 3, 0.1 / 3, 0.9}, alpha.getRow(3).toDoubleVector(), 1e-15);
        assertArrayEquals(new double[]{0.05, 0.05, 0.9}, Sluice.betas(net).get(0), 1e-15);
        assertEquals(3, Sluice.alphas(net).size());
    }

    @Test
    void theUnitVertexRoundTripsThroughDl4jJson() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        SluiceVertex vertex = new SluiceVertex(0, 2, 2, new double[]{1, 2, 3, 4, 5, 6, 7, 8}, 0.4, new Adam(0.1));
        assertEquals(vertex, mapper.readValue(mapper.writeValueAsString(vertex),
                org.deeplearning4j.nn.conf.graph.GraphVertex.class));
    }

    @Test
    void badConfigurationsFailWithClearMessages() {
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> network(new Sluice(), 5, 4));
        assertTrue(odd.getMessage().startsWith("sluice: trunk stage 0 outputs 5 features"), odd.getMessage());
        assertTrue(odd.getMessage().endsWith("which 2 subspaces cannot split evenly"), odd.getMessage());
        IllegalArgumentException widths = assertThrows(IllegalArgumentException.class,
                () -> network(Sluice.builder().beta(Sluice.Beta.WEIGHTED).build(), 4, 6));
        assertTrue(widths.getMessage().startsWith("task \"c\": sluice beta weighted needs trunk stages of equal shape"),
                widths.getMessage());
        assertEquals("sluice orthogonality lambda must be finite and >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> Sluice.builder().lambda(-1).build()).getMessage());
        assertEquals("sluice needs at least 1 subspace, got 0",
                assertThrows(IllegalArgumentException.class, () -> Sluice.builder().subspaces(0).build()).getMessage());
        MultiTaskNetwork concat = network(Sluice.builder().beta(Sluice.Beta.CONCAT).build(), 4, 6);
        assertArrayEquals(new long[]{2, 1}, concat.output(batches(1).get(0).getFeatures(0).getRows(0, 1)).get("r")
                .shape(), "concatenated stages of different widths work");
    }

    @Test
    void theDefaultConcatenatesStagesOfUnequalShapeAndWeighsEqualOnes() {
        MultiTaskNetwork unequal = network(new Sluice(), 4, 6);
        assertEquals("MergeVertex", unequal.graph().getVertex("sluice_beta_0").getClass().getSimpleName(),
                "stages of 4 and 6 units are concatenated");
        assertArrayEquals(new double[0], Sluice.betas(unequal).get(0), "no learned beta when concatenating");
        assertTrue(Double.isFinite(unequal.fit(batches(1).get(0)).losses().loss(0)));
        MultiTaskNetwork equal = network(new Sluice(), 4, 4);
        assertEquals(2, Sluice.betas(equal).get(0).length, "stages of equal shape keep the learned weighted sum");
    }

    @Test
    void theConfigurationRoundTripsThroughJsonWithTheDefaultBetaLeftUnset() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        Sluice auto = new Sluice();
        Sluice weighted = Sluice.builder().beta(Sluice.Beta.WEIGHTED).build();
        assertEquals(auto, Sluice.builder().build());
        assertEquals(auto, mapper.readValue(mapper.writeValueAsString(auto), Sluice.class));
        assertEquals(weighted, mapper.readValue(mapper.writeValueAsString(weighted), Sluice.class));
        assertTrue(!auto.equals(weighted) && auto.toString().contains("beta=auto"), auto.toString());
        String saved = "{\"subspaces\":2,\"lambda\":0.0,\"init\":\"PAPER\",\"alphaSelf\":0.9,\"beta\":\"WEIGHTED\","
                + "\"betaLast\":0.9,\"orthogonality\":\"ACTIVATIONS\",\"unknown\":1}";
        assertEquals(weighted, mapper.readValue(saved, Sluice.class), "a saved explicit beta stays explicit");
        assertEquals(auto, mapper.readValue(saved.replace("\"beta\":\"WEIGHTED\",", ""), Sluice.class),
                "a file without beta gets the default");
    }

    @Test
    void learnedValuesNameEveryAlphaAndBeta() {
        MultiTaskNetwork net = network(new Sluice(), 6, 6);
        Map<String, Double> learned = net.sharing().learnedValues(net);
        INDArray alpha0 = Sluice.alphas(net).get(0);
        assertEquals(2 * 16 + 2 * 2, learned.size(), "two 4x4 alpha matrices and two betas per task");
        assertEquals(alpha0.getDouble(1, 2), learned.get("alpha.s0[c.1<-r.0]"));
        assertEquals(alpha0.getDouble(3, 3), learned.get("alpha.s0[r.1<-r.1]"));
        assertEquals(Sluice.betas(net).get(1)[1], learned.get("beta[r.s1]"));
        assertEquals(0.9, learned.get("beta[c.s1]"), 1e-15, "the last stage's initial beta");
    }

    /**
     * A one-task sluice network's last unit is the representation, so a last-shared-layer pass runs through the
     * unit alone, without its stage: the unit must compute its own weights' gradient then (a stage with several
     * units computes theirs).
     */
    @Test
    void aSoleUnitComputesItsOwnGradientInALastSharedLayerPass() {
        MultiDataSet batch = RandomData.dataSet(new RandomData(31, DataType.DOUBLE).gaussian(4, 3),
                new INDArray[]{new RandomData(32, DataType.DOUBLE).gaussian(4, 1)}, null);
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.LAST_SHARED_LAYER, 1.0);
        MultiTaskNetwork net = oneTask(recording);
        INDArray whole = oneTask(FixedWeights.equal()).gradient(batch).gradient();
        net.gradient(batch);
        GraphVertex unit = net.graph().getVertex("sluice_1_0");
        long from = unit.params().offset() - net.graph().params().offset();
        INDArray expected = whole.get(NDArrayIndex.interval(from, from + unit.numParams()));
        assertTrue(expected.amaxNumber().doubleValue() > 0);
        INDArray recorded = recording.lastGradient(0).reshape(unit.numParams());
        assertEquals(0.0, expected.reshape(unit.numParams()).sub(recorded).amaxNumber().doubleValue(), 1e-13);
    }

    private static MultiTaskNetwork oneTask(LossCombinator losses) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4, 4))
                .task(Task.regression("r"))
                .sharing(Sluice.builder().beta(Sluice.Beta.LAST).build())
                .losses(losses).updater(new Adam(1e-3)).dataType(DataType.DOUBLE).seed(33).build();
    }
}
