package org.mtl4j.examples;

import org.junit.jupiter.api.Test;

import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sharing comparison runs tiny and prints every strategy at every rho. */
class SharingComparisonTest {

    @TempDir
    Path dir;

    @Test
    void runsTinyAndPrintsEveryStrategy() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<SharingComparison.Row> rows = SharingComparison.run(50, 2, new double[]{0, 0.9}, 3,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), dir);
        assertEquals(10, rows.size());
        String printed = bytes.toString(StandardCharsets.UTF_8);
        for (String s : List.of("single-task", "hard", "soft", "cross-stitch", "sluice", "cross-stitch alpha")) {
            assertTrue(printed.contains(s), s + " in\n" + printed);
        }
        rows.forEach(r -> assertTrue(Double.isFinite(r.mseA()) && Double.isFinite(r.mseB()), r.toString()));
        Path stitch = dir.resolve("rho-0.90-cross-stitch");
        assertTrue(Files.readString(stitch.resolve("history.csv")).contains("alpha.s1[B<-A]"));
        assertTrue(Files.size(stitch.resolve("learned_alpha.s1.png")) > 1000);
        assertTrue(Files.isRegularFile(dir.resolve("rho-0.00-sluice").resolve("learned_beta.png")));
    }

    @Test
    void secondTaskSharesTheFractionRhoOfTheFirstTasksDirection() {
        double[][] w = SharingComparison.directions(0.5, new java.util.Random(1));
        double dot = 0;
        double n1 = 0;
        double n2 = 0;
        for (int i = 0; i < w[0].length; i++) {
            dot += w[0][i] * w[1][i];
            n1 += w[0][i] * w[0][i];
            n2 += w[1][i] * w[1][i];
        }
        assertEquals(1.0, n1, 1e-12);
        assertEquals(1.0, n2, 1e-12);
        assertEquals(0.5, dot, 1e-12);
    }
}
