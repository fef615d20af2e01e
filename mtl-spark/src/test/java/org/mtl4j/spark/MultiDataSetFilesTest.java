package org.mtl4j.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.testing.Exact;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training from minibatch files read on the workers. */
class MultiDataSetFilesTest {

    private final JavaSparkContext sc = LocalSpark.context();

    @TempDir
    Path dir;

    @Test
    void trainingFromFilesEqualsTrainingFromTheSameBatchesInMemory() throws IOException {
        List<MultiDataSet> data = LocalSpark.batches(3, 6, 8);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            Path file = dir.resolve("batch-" + i + ".bin");
            data.get(i).save(file.toFile());
            paths.add(file.toString());
        }
        SparkTrainer trainer = SparkTrainer.builder().workers(2).averagingFrequency(2).seed(4).build();
        MultiTaskNetwork fromMemory = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));
        MultiTaskNetwork fromFiles = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));

        trainer.fit(fromMemory, sc.parallelize(data, 2));
        trainer.fit(fromFiles, MultiDataSetFiles.load(sc.parallelize(paths, 2)));

        Exact.assertSameValues(fromMemory.params(), fromFiles.params(), "parameters");
        assertEquals(3, fromFiles.iterationCount());
    }

    @Test
    void aMissingFileIsNamed() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> MultiDataSetFiles.read(dir.resolve("absent.bin").toString()));
        assertEquals("no minibatch file at " + dir.resolve("absent.bin"), e.getCause().getMessage());
    }

    @Test
    void aDamagedFileIsNamed() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.bin"), "not a minibatch");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> MultiDataSetFiles.read(bad.toString()));
        assertTrue(e.getCause().getMessage().startsWith("cannot read the minibatch file " + bad), e.getCause().getMessage());
    }
}
