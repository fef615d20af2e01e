package org.mtl4j.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.CountingWeights;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Saved-model compatibility: one small model per format version lives under test resources
 * ({@code model-v<N>.mtl4j}) with its parameters, updater state and combinator state stored beside it as raw bits
 * ({@code model-v<N>.expected.txt}); each must keep loading bit for bit. Run with
 * {@code -Dmtl4j.writeSavedModel=true -Dtest=SavedModelFormatsTest} to write the current version's pair.
 */
class SavedModelFormatsTest {

    private static final Path RESOURCES = Path.of("src/test/resources/org/mtl4j/core/io");

    /** A tiny 2-task network with a stateful combinator, trained two steps so the updater has state. */
    static MultiTaskNetwork trainedNetwork() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 4))
                .task(Task.regression("a", 1))
                .task(Task.classification("b", 2))
                .losses(new CountingWeights(0.5))
                .updater(new Adam(0.01))
                .seed(7)
                .build();
        RandomData data = new RandomData(3, DataType.FLOAT);
        for (int i = 0; i < 2; i++) {
            net.fit(RandomData.dataSet(data.gaussian(5, 3), new INDArray[]{data.gaussian(5, 1), data.oneHot(5, 2)},
                    new INDArray[]{null, null}));
        }
        return net;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void savedModelOfEachFormatVersionLoadsBitForBit(int version) throws IOException {
        File model = resource("model-v" + version + ".mtl4j");
        List<String> expected = Files.readAllLines(resource("model-v" + version + ".expected.txt").toPath());

        MultiTaskNetwork loaded = MultiTaskNetwork.load(model);

        assertEquals(expected, describe(loaded), "format version " + version);
        assertArrayEquals(new double[]{2}, loaded.losses().state());
        assertEquals(List.of("a", "b"), loaded.taskNames());
    }

    @Test
    @EnabledIfSystemProperty(named = "mtl4j.writeSavedModel", matches = "true")
    void writeSavedModelOfTheCurrentFormatVersion() throws IOException {
        MultiTaskNetwork net = trainedNetwork();
        Files.createDirectories(RESOURCES);
        net.save(RESOURCES.resolve("model-v" + ModelFile.FORMAT_VERSION + ".mtl4j").toFile());
        Files.write(RESOURCES.resolve("model-v" + ModelFile.FORMAT_VERSION + ".expected.txt"), describe(net),
                StandardCharsets.UTF_8);
    }

    /** Parameters, updater state (data type, length, raw bits in hex) and combinator state, one value a line. */
    static List<String> describe(MultiTaskNetwork net) {
        List<String> lines = new ArrayList<>();
        rawBits("params", net.params(), lines);
        rawBits("updater", net.graph().getUpdater().getStateViewArray(), lines);
        double[] state = net.losses().state();
        lines.add("combinator state " + state.length);
        for (double v : state) {
            lines.add(Long.toHexString(Double.doubleToRawLongBits(v)));
        }
        lines.add("iterations " + net.iterationCount());
        return lines;
    }

    private static void rawBits(String name, INDArray array, List<String> lines) {
        INDArray flat = array.reshape(array.length());
        lines.add(name + " " + array.dataType() + " " + array.length());
        for (long i = 0; i < flat.length(); i++) {
            lines.add(array.dataType() == DataType.FLOAT
                    ? Integer.toHexString(Float.floatToRawIntBits(flat.getFloat(i)))
                    : Long.toHexString(Double.doubleToRawLongBits(flat.getDouble(i))));
        }
    }

    private static File resource(String name) {
        URL url = SavedModelFormatsTest.class.getResource(name);
        assertNotNull(url, "test resource " + name);
        try {
            return new File(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
