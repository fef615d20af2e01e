package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.mtl4j.sharing.graph.LayerStitchVertex;
import org.mtl4j.sharing.graph.MixingStageVertex;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mixing stages that cross-stitch and sluice units read: they keep their stacked arrays from step to step,
 * so a minibatch of another size, an inference pass between training steps, and outputs kept across passes
 * must not see stale or overwritten values.
 */
class MixingStageTest {

    @TempDir
    File dir;

    /** cross-stitch-3: the stacked matrix product; cross-stitch-2: direct axpy mixing; sluice: permuted subspaces. */
    private static SharingStrategy sharing(String name) {
        return switch (name) {
            case "cross-stitch-2", "cross-stitch-3" -> new CrossStitch();
            case "per-channel" -> CrossStitch.builder().perChannel(true).build();
            case "sluice" -> new Sluice();
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static MultiTaskNetwork network(String name) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 6))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"));
        if (!name.equals("cross-stitch-2")) {
            b.task(Task.regression("s").withLabelsIndex(1));
        }
        return b.sharing(sharing(name)).updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(5).build();
    }

    private static MultiDataSet batch(RandomData d, int size) {
        return RandomData.dataSet(d.gaussian(size, 4), new INDArray[]{d.oneHot(size, 3), d.gaussian(size, 1)}, null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cross-stitch-2", "cross-stitch-3", "per-channel", "sluice"})
    void aMinibatchOfAnotherSizeTrainsAsInAFreshNetwork(String name) throws IOException {
        RandomData d = new RandomData(21, DataType.DOUBLE);
        MultiTaskNetwork trained = network(name);
        trained.fit(batch(d, 6));
        trained.fit(batch(d, 6));
        File file = new File(dir, name + ".mtl4j");
        trained.save(file);
        MultiTaskNetwork fresh = MultiTaskNetwork.load(file);
        MultiDataSet small = batch(d, 4);
        INDArray x = d.gaussian(5, 4);
        Exact.assertSameOutputs(fresh.output(x), trained.output(x));
        trained.fit(small);
        fresh.fit(small);
        Exact.assertSameValues(fresh.params(), trained.params());
        Exact.assertSameOutputs(fresh.output(x), trained.output(x));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cross-stitch-2", "cross-stitch-3", "per-channel", "sluice"})
    void inferenceOnALargerBatchBetweenStepsLeavesTrainingAsWithout(String name) {
        RandomData d = new RandomData(23, DataType.DOUBLE);
        MultiDataSet first = batch(d, 6);
        MultiDataSet second = batch(d, 6);
        INDArray large = d.gaussian(40, 4);
        MultiTaskNetwork plain = network(name);
        MultiTaskNetwork evaluated = network(name);
        plain.fit(first);
        plain.fit(second);
        evaluated.fit(first);
        Map<String, INDArray> before = evaluated.output(large);
        evaluated.fit(second);
        Exact.assertSameValues(plain.params(), evaluated.params());
        Exact.assertSameOutputs(plain.output(large), evaluated.output(large));
        assertTrue(before.get("c").sub(evaluated.output(large).get("c")).amaxNumber().doubleValue() > 0,
                "the second step changed the outputs");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cross-stitch-2", "cross-stitch-3", "per-channel", "sluice"})
    void inferenceActivationsOfTheUnitsAreNotOverwrittenByTheNextPass(String name) {
        RandomData d = new RandomData(22, DataType.DOUBLE);
        MultiTaskNetwork net = network(name);
        net.fit(batch(d, 6));
        String unit = name.equals("sluice") ? Sluice.unitName(1, 0) : CrossStitch.unitName(1, 0);
        Map<String, INDArray> first = net.graph().feedForward(d.gaussian(6, 4), false);
        INDArray kept = first.get(unit).dup();
        net.graph().feedForward(d.gaussian(6, 4), false);
        net.fit(batch(d, 6));
        Exact.assertSameValues(kept, first.get(unit));
    }

    @Test
    void aGraphWhoseUnitsReadTheColumnsAsInModelsSavedBeforeMixingStagesFailsAtInitialisation() throws IOException {
        // the configuration an older mtl4j saved: stage 0's units read the two column outputs themselves
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        ObjectNode json = (ObjectNode) mapper.readTree(network("cross-stitch-2").graph().getConfiguration().toJson());
        ((ObjectNode) json.get("vertices")).remove(CrossStitch.stageName(0));
        json.remove(List.of("topologicalOrder", "topologicalOrderStr"));
        ObjectNode inputs = (ObjectNode) json.get("vertexInputs");
        ArrayNode columns = (ArrayNode) inputs.remove(CrossStitch.stageName(0));
        for (int c = 0; c < 2; c++) {
            inputs.set(CrossStitch.unitName(0, c), columns);
        }
        ComputationGraph old = new ComputationGraph(ComputationGraphConfiguration.fromJson(mapper.writeValueAsString(json)));
        assertEquals("cross-stitch unit stitch_0_0 must read one mixing stage, but reads [col0_0_0, col1_0_0]: this graph"
                        + " comes from a model saved by an mtl4j without mixing stages (before 2026-11-30); build and train"
                        + " the network again", assertThrows(IllegalStateException.class, old::init).getMessage());
    }

    @Test
    void layerStitchingRoundTripsThroughDl4jJsonWithItsFieldNames() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        LayerStitchVertex stitch = new LayerStitchVertex(new double[]{0.05, 0.05, 0.9}, new Adam(0.2));
        String json = mapper.writeValueAsString(stitch);
        for (String field : new String[]{"\"init\"", "\"updater\""}) {
            assertTrue(json.contains(field), field + " in " + json);
        }
        assertEquals(stitch, mapper.readValue(json, GraphVertex.class));
        assertEquals("layer stitching needs at least one initial weight, got 0", assertThrows(
                IllegalArgumentException.class, () -> new LayerStitchVertex(new double[0], new Adam(0.1))).getMessage());
    }

    @Test
    void theStageConfigurationRoundTripsThroughDl4jJsonWithItsFieldName() throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        MixingStageVertex stage = new MixingStageVertex(3);
        String json = mapper.writeValueAsString(stage);
        assertTrue(json.contains("\"columns\" : 3") || json.contains("\"columns\":3"), json);
        GraphVertex read = mapper.readValue(json, GraphVertex.class);
        assertEquals(stage, read);
        assertEquals("a mixing stage needs at least 1 column, got 0",
                assertThrows(IllegalArgumentException.class, () -> new MixingStageVertex(0)).getMessage());
    }
}
