package org.mtl4j.core.io;

import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskRole;
import org.mtl4j.core.testing.CountingWeights;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossL1;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Save/load keeps everything: outputs bit for bit, and resumed training equals uninterrupted training. */
class ModelFileTest {

    @TempDir
    File dir;

    private static MultiTaskNetwork network(LossCombinator losses) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(5, Activation.RELU, 8, 6))
                .task(Task.classification("c", 3).withHead(Head.of(new DenseLayer.Builder().nOut(4)
                        .activation(Activation.TANH).build())))
                .task(Task.regression("r", 2).withLoss(new LossL1()).asAuxiliary())
                .task(Task.multiLabel("m", 2).withLabelsIndex(2))
                .losses(losses)
                .updater(new Adam(0.01))
                .seed(21)
                .build();
    }

    private static List<MultiDataSet> batches(int n) {
        RandomData data = new RandomData(4, DataType.FLOAT);
        List<MultiDataSet> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            INDArray multi = data.oneHot(7, 2);
            list.add(RandomData.dataSet(data.gaussian(7, 5),
                    new INDArray[]{data.oneHot(7, 3), data.gaussian(7, 2), multi},
                    new INDArray[]{null, data.mask(1, 0, 1, 1, 0, 1, 1), null}));
        }
        return list;
    }

    @Test
    void roundTripKeepsParametersUpdaterStateAndOutputsBitForBit() throws IOException {
        MultiTaskNetwork net = network(FixedWeights.of(Map.of("r", 0.5)));
        batches(3).forEach(net::fit);
        File file = new File(dir, "model.mtl4j");
        net.save(file);

        MultiTaskNetwork loaded = MultiTaskNetwork.load(file);

        Exact.assertSameValues(net.params(), loaded.params());
        Exact.assertSameValues(net.graph().getUpdater().getStateViewArray(), loaded.graph().getUpdater().getStateViewArray());
        assertEquals(3, loaded.iterationCount());
        assertEquals(net.taskNames(), loaded.taskNames());
        assertEquals(net.losses(), loaded.losses());
        assertEquals(net.sharing(), loaded.sharing());
        assertEquals(TaskRole.AUXILIARY, loaded.task("r").role());
        assertEquals(2, loaded.task("m").labelsIndex());
        assertTrue(loaded.task("r").loss() instanceof LossL1);
        assertEquals(1, loaded.task("c").head().layers().size());
        INDArray features = new RandomData(8, DataType.FLOAT).gaussian(4, 5);
        Map<String, INDArray> expected = net.output(features);
        Map<String, INDArray> actual = loaded.output(features);
        assertEquals(expected.keySet(), actual.keySet());
        for (String task : expected.keySet()) {
            assertArrayEquals(expected.get(task).data().asFloat(), actual.get(task).data().asFloat(), 0f, task);
        }
    }

    @Test
    void trainingResumedAfterLoadEqualsUninterruptedTraining() throws IOException {
        List<MultiDataSet> data = batches(6);
        MultiTaskNetwork uninterrupted = network(new CountingWeights(0.5));
        MultiTaskNetwork interrupted = network(new CountingWeights(0.5));
        Exact.assertSameValues(uninterrupted.params(), interrupted.params(), "same seed, same start");
        data.forEach(uninterrupted::fit);

        data.subList(0, 3).forEach(interrupted::fit);
        File file = new File(dir, "checkpoint.mtl4j");
        interrupted.save(file);
        MultiTaskNetwork resumed = MultiTaskNetwork.load(file);
        assertArrayEquals(new double[]{3}, resumed.losses().state());
        data.subList(3, 6).forEach(resumed::fit);

        Exact.assertSameValues(uninterrupted.params(), resumed.params());
        Exact.assertSameValues(uninterrupted.graph().getUpdater().getStateViewArray(), resumed.graph().getUpdater().getStateViewArray());
        assertEquals(6, resumed.iterationCount());
    }

    @Test
    void saveReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
        MultiTaskNetwork net = network(FixedWeights.equal());
        File file = new File(dir, "model.mtl4j");
        Files.writeString(file.toPath(), "old content");
        net.save(file);
        Exact.assertSameValues(net.params(), MultiTaskNetwork.load(file).params());
        assertEquals(List.of("model.mtl4j"), List.of(dir.list()));
    }

    @Test
    void truncatedFileFailsWithAClearMessage() throws IOException {
        MultiTaskNetwork net = network(FixedWeights.equal());
        File file = new File(dir, "model.mtl4j");
        net.save(file);
        byte[] bytes = Files.readAllBytes(file.toPath());
        File truncated = new File(dir, "truncated.mtl4j");
        Files.write(truncated.toPath(), java.util.Arrays.copyOf(bytes, bytes.length / 2));

        IOException e = assertThrows(IOException.class, () -> MultiTaskNetwork.load(truncated));
        assertTrue(e.getMessage().contains("truncated.mtl4j is not an mtl4j model file: it is not a complete zip archive"),
                e.getMessage());
    }

    @Test
    void foreignFilesFailWithAClearMessage() throws IOException {
        File text = new File(dir, "notes.txt");
        Files.writeString(text.toPath(), "hello");
        IOException notZip = assertThrows(IOException.class, () -> MultiTaskNetwork.load(text));
        assertTrue(notZip.getMessage().contains("is not an mtl4j model file"), notZip.getMessage());

        File otherZip = new File(dir, "dl4j.zip");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(otherZip.toPath()))) {
            zip.putNextEntry(new ZipEntry("configuration.json"));
            zip.write("{}".getBytes());
            zip.closeEntry();
        }
        IOException foreign = assertThrows(IOException.class, () -> MultiTaskNetwork.load(otherZip));
        assertTrue(foreign.getMessage().contains("is a zip archive but not an mtl4j model: it has no mtl4j.json entry"),
                foreign.getMessage());

        IOException missing = assertThrows(IOException.class, () -> MultiTaskNetwork.load(new File(dir, "absent")));
        assertTrue(missing.getMessage().startsWith("no model file at "), missing.getMessage());
    }

    @Test
    void newerFormatVersionIsRefusedByName() throws IOException {
        File future = new File(dir, "future.mtl4j");
        try (OutputStream out = Files.newOutputStream(future.toPath()); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("mtl4j.json"));
            zip.write("{\"format\":\"mtl4j-model\",\"version\":99}".getBytes());
            zip.closeEntry();
        }
        IOException e = assertThrows(IOException.class, () -> MultiTaskNetwork.load(future));
        assertTrue(e.getMessage().contains("has model format version 99, but this mtl4j reads versions 1 to 2;"
                + " it was written by a newer mtl4j"), e.getMessage());
    }
}
