package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.TrainingHistory;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The uncertainty example's data has the stated noise, and a tiny run learns sigmas in the right order and range. */
class UncertaintyTest {

    @TempDir
    Path dir;

    @Test
    void runsTinyAndLearnsSigmasInOrderNearTheTrueOnes() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Uncertainty.Result result = Uncertainty.run(600, 10, 3, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                dir);
        String printed = bytes.toString(StandardCharsets.UTF_8);

        assertEquals(3, result.rows().size());
        double[] sigma = result.learnedSigmas();
        assertTrue(sigma[0] < sigma[1] && sigma[1] < sigma[2], Arrays.toString(sigma));
        // after 60 steps the log variances have settled on the training MSE, and the nearly pure-noise task's
        // MSE is close to its noise variance; the low-noise task's MSE still holds the unfitted signal
        assertEquals(5.0, sigma[2], 0.5, "y3");
        assertEquals(2.0, sigma[1], 0.6, "y2");
        assertTrue(sigma[0] > 0.4 && sigma[0] < 1.0, "y1: " + sigma[0]);
        for (Uncertainty.TaskRow r : result.rows()) {
            assertEquals(Uncertainty.SIGMAS[result.rows().indexOf(r)], r.trueSigma(), 0.0);
            assertEquals(0.5 / (r.learnedSigma() * r.learnedSigma()), r.weight(), 1e-9 * r.weight(), r.task());
            assertTrue(r.rmseUncertainty() >= 0.9 * r.trueSigma(), r.task() + " beats the noise floor: " + r);
            assertTrue(Double.isFinite(r.rmseEqual()), r.toString());
            assertTrue(printed.contains("\n" + r.task() + " "), r.task() + " in\n" + printed);
        }
        // the history's last sigmas are the ones printed
        TrainingHistory history = TrainingHistory.fromCsv(Files.readString(dir.resolve("uncertainty").resolve("history.csv")));
        assertEquals(10, history.size());
        assertEquals(sigma[2], history.last().learned().get("sigma[y3]"), 1e-12);
        assertTrue(Files.isRegularFile(dir.resolve("equal-weights").resolve("valid_rmse.png")));
        assertTrue(Files.size(dir.resolve("uncertainty").resolve("learned_sigma.png")) > 1000);
    }

    @Test
    void targetsAreTheSignalPlusNoiseOfTheStatedSigma() {
        MultiDataSetIterator it = Uncertainty.batches(20_000, 20_000, new Random(5));
        MultiDataSet data = it.next();
        assertEquals(8, data.getFeatures(0).columns());
        double[][] x = Rows.of(data.getFeatures(0));
        for (int t = 0; t < Uncertainty.SIGMAS.length; t++) {
            double[] y = data.getLabels(t).dup().data().asDouble();
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < x.length; i++) {
                double r = y[i] - Uncertainty.signal(t, x[i]);
                sum += r;
                sumSq += r * r;
            }
            double mean = sum / x.length;
            double sd = Math.sqrt(sumSq / x.length - mean * mean);
            // the sample sd of 20000 normal draws is within 2% of sigma with probability far above 0.99
            assertEquals(Uncertainty.SIGMAS[t], sd, 0.02 * Uncertainty.SIGMAS[t], "task " + t);
            assertEquals(0.0, mean, 0.05 * Uncertainty.SIGMAS[t], "task " + t);
        }
    }

    @Test
    void signalsAreTheStatedFunctions() {
        double[] x = {0.5, 1.0, -2.0, 1.0, 3.0, -0.5, 0.25, 9.0};
        assertEquals(2 * Math.sin(1.0) - 2.0, Uncertainty.signal(0, x), 1e-12);
        assertEquals(2 * Math.cos(0.0) + 3.0, Uncertainty.signal(1, x), 1e-12);
        assertEquals(2 * Math.tanh(0.0) + 0.25, Uncertainty.signal(2, x), 1e-12);
    }
}
