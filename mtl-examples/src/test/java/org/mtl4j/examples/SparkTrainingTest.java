package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.TrainingHistory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spark example trains tiny in local mode beside local training, prints both, and writes both histories. */
class SparkTrainingTest {

    @TempDir
    Path dir;

    @Test
    void runsTinyOnLocalSparkAndPrintsBothSides() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SparkTraining.Result r = SparkTraining.run(320, 2, 2, 1, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                dir);
        String printed = bytes.toString(StandardCharsets.UTF_8);

        assertTrue(printed.contains("segment (accuracy)"), printed);
        assertTrue(printed.contains("spend (MSE)"), printed);
        assertTrue(r.sparkAccuracy() >= 0 && r.sparkAccuracy() <= 1, r.toString());
        assertTrue(Double.isFinite(r.sparkMse()) && Double.isFinite(r.localMse()), r.toString());
        assertEquals(2, r.sparkHistory().size());
        assertEquals(2, r.localHistory().size());
        // 10 minibatches on 2 workers: 5 steps each, one round per epoch
        assertEquals(10, r.sparkHistory().last().steps());
        assertEquals(10, r.sparkHistory().last().iteration());
        TrainingHistory written = TrainingHistory.fromCsv(Files.readString(dir.resolve("spark").resolve("history.csv")));
        assertEquals(2, written.size());
        assertEquals(r.sparkHistory().last().trainLoss().get("spend"), written.last().trainLoss().get("spend"), 1e-12);
        assertTrue(Files.size(dir.resolve("spark").resolve("loss.png")) > 1000, "loss chart");
        assertTrue(Files.isRegularFile(dir.resolve("local").resolve("history.csv")));
    }

    @Test
    void sparkDocCodeIsTheExamplesCode() throws IOException {
        ReadmeSnippets.assertInDoc("SparkTraining", "docs/spark.md", "docs/spark.md");
    }
}
