package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training-run example crashes, resumes, equals the uninterrupted run, and writes its history. */
class TrainingRunTest {

    @TempDir
    Path dir;

    @Test
    void crashesResumesAndEqualsTheUninterruptedRun() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TrainingRun.Result r = TrainingRun.run(64, 10, 7, 3, new PrintStream(bytes, true, StandardCharsets.UTF_8), dir);
        String printed = bytes.toString(StandardCharsets.UTF_8);

        assertTrue(printed.contains("crashed in epoch 7"), printed);
        assertTrue(printed.contains("resumed from the checkpoint of epoch 5"), printed);
        assertTrue(r.resumedEqualsUninterrupted(), printed);
        assertTrue(r.epochsTrained() <= 10 && r.bestEpoch() >= 1 && r.bestEpoch() <= r.epochsTrained(), r.toString());
        assertTrue(r.segmentAccuracy() >= 0 && r.segmentAccuracy() <= 1, r.toString());
        String csv = Files.readString(dir.resolve("history").resolve("history.csv"));
        assertEquals(r.epochsTrained() + 1, csv.lines().count(), "a header and one row per epoch, resumed ones included");
        assertTrue(Files.size(dir.resolve("history").resolve("loss.png")) > 1000, "loss chart");
        Path last = dir.resolve("checkpoints").resolve(String.format("checkpoint-%06d.mtl", r.epochsTrained()));
        assertTrue(Files.isRegularFile(last), last + " in " + Files.list(dir.resolve("checkpoints")).toList());
    }

    @Test
    void readmeTrainingCodeIsTheExamplesCode() throws IOException {
        ReadmeSnippets.assertInReadme("TrainingRun", "README:training");
    }
}
