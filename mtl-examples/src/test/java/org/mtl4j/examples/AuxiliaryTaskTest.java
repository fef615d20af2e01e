package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The auxiliary-task example keeps the withheld feature out of the input, reports the main task only, and
 * runs tiny with a row per size and seed.
 */
class AuxiliaryTaskTest {

    @TempDir
    Path dir;

    @Test
    void runsTinyAndReportsOnlyTheMainTask() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AuxiliaryTask.Result result = AuxiliaryTask.run(new int[]{60, 120}, 2, 20, 5,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), dir);
        String printed = bytes.toString(StandardCharsets.UTF_8);

        assertEquals(List.of("main"), result.reportedTasks());
        assertEquals(4, result.rows().size());
        int i = 0;
        for (int n : new int[]{60, 120}) {
            for (long seed : new long[]{5, 6}) {
                AuxiliaryTask.Row r = result.rows().get(i++);
                assertEquals(n, r.trainExamples());
                assertEquals(seed, r.seed());
                assertTrue(r.mainOnly() >= 0 && r.mainOnly() <= 1, r.toString());
                assertTrue(r.withAuxiliary() >= 0 && r.withAuxiliary() <= 1, r.toString());
                assertTrue(Double.isFinite(r.auxiliaryR2()) && r.auxiliaryR2() <= 1, r.toString());
                assertTrue(printed.contains(String.format("%-8d %-6d %10.4f", n, seed, r.mainOnly())), printed);
            }
            double mean = (result.rows().get(i - 2).withAuxiliary() + result.rows().get(i - 1).withAuxiliary()) / 2;
            assertEquals(mean, result.meanWithAuxiliary(n), 1e-12);
            assertTrue(printed.contains(String.format("%-8d %-6s %10.4f", n, "mean", result.meanMainOnly(n))), printed);
        }
        // a size and seed give the same data and networks, whatever ran before them
        AuxiliaryTask.Result again = AuxiliaryTask.run(new int[]{60}, 1, 20, 5,
                new PrintStream(OutputStream.nullOutputStream()), null);
        assertEquals(result.rows().get(0).mainOnly(), again.rows().get(0).mainOnly(), 0.0);
        assertEquals(result.rows().get(0).withAuxiliary(), again.rows().get(0).withAuxiliary(), 0.0);
        // the auxiliary task is trained: its loss is in the history of the main + aux network only
        String withAux = Files.readString(dir.resolve("n60-seed-5-main-and-aux").resolve("history.csv"));
        String mainOnly = Files.readString(dir.resolve("n60-seed-5-main-only").resolve("history.csv"));
        assertTrue(withAux.contains("train_loss[withheld]"), withAux);
        assertTrue(!mainOnly.contains("withheld"), mainOnly);
    }

    @Test
    void rejectsNoSeeds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AuxiliaryTask.run(new int[]{60}, 0, 20, 1, new PrintStream(OutputStream.nullOutputStream()), null));
        assertTrue(e.getMessage().contains("seeds 0"), e.getMessage());
    }

    @Test
    void withheldFeatureIsALabelAndNoInputColumn() {
        MultiDataSet data = AuxiliaryTask.batches(500, 500, new Random(2)).next();
        INDArray x = data.getFeatures(0);
        INDArray z = data.getLabels(1);
        assertEquals(1, data.getFeatures().length);
        assertEquals(AuxiliaryTask.VISIBLE, x.columns());
        assertEquals(2, data.getLabels().length);
        for (int j = 0; j < x.columns(); j++) {
            double maxDiff = 0;
            for (int i = 0; i < x.rows(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(x.getDouble(i, j) - z.getDouble(i, 0)));
            }
            assertTrue(maxDiff > 0.5, "input column " + j + " is the withheld feature");
        }
        double[][] rows = Rows.of(x);
        for (int i = 0; i < rows.length; i++) {
            assertEquals(AuxiliaryTask.withheld(rows[i]), z.getDouble(i, 0), 1e-5, "row " + i);
        }
    }

    @Test
    void withheldFeatureAndScoreAreTheStatedFunctions() {
        double[] x = {Math.PI / 4, -2.0, 1.0, -3.0};
        // sin(pi/2) + 1.5 * 2 + 0.5 * 1 - 1.2 = 3.3
        assertEquals(3.3, AuxiliaryTask.withheld(x), 1e-12);
        assertEquals(3.3 - 1.5, AuxiliaryTask.score(3.3, x), 1e-12);
    }

    @Test
    void mainLabelsAreOneHotBalancedAndMostlyTheSignOfTheScore() {
        MultiDataSet data = AuxiliaryTask.batches(20_000, 20_000, new Random(3)).next();
        double[][] x = Rows.of(data.getFeatures(0));
        double[][] y = Rows.of(data.getLabels(0));
        int ones = 0;
        int agree = 0;
        for (int i = 0; i < x.length; i++) {
            assertEquals(1.0, y[i][0] + y[i][1], 0.0, "row " + i);
            boolean one = y[i][1] == 1.0;
            ones += one ? 1 : 0;
            agree += (AuxiliaryTask.score(AuxiliaryTask.withheld(x[i]), x[i]) > 0) == one ? 1 : 0;
        }
        double fraction = (double) ones / x.length;
        assertTrue(fraction > 0.4 && fraction < 0.6, "class 1 fraction " + fraction);
        double agreement = (double) agree / x.length;
        // the label noise (sd 0.3) flips some labels near the boundary, but far from half of them
        assertTrue(agreement > 0.85 && agreement < 0.99, "agreement with the noise-free class " + agreement);
    }
}
