package org.mtl4j.ui;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.TaskMetric;
import org.mtl4j.core.TrainingHistory;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CSV and PNG export of a training history. */
class HistoryChartsTest {

    @TempDir
    Path dir;

    /** Two tasks over 6 epochs: a classification task "a" and a regression task "b", with sigmas and alphas. */
    static TrainingHistory history() {
        TrainingHistory h = new TrainingHistory();
        for (int e = 1; e <= 6; e++) {
            Map<String, Map<TaskMetric, Double>> valid = new LinkedHashMap<>();
            valid.put("a", Map.of(TaskMetric.ACCURACY, 0.5 + 0.07 * e, TaskMetric.LOSS, 1.0 / e));
            valid.put("b", Map.of(TaskMetric.RMSE, 3.0 / e, TaskMetric.LOSS, 9.0 / (e * e)));
            Map<String, Double> learned = new LinkedHashMap<>();
            learned.put("sigma[a]", 1.0 - 0.05 * e);
            learned.put("sigma[b]", 1.0 + 0.2 * e);
            learned.put("alpha.s0[a<-b]", 0.1 + 0.01 * e);
            learned.put("alpha.s0[b<-a]", 0.1 - 0.01 * e);
            h.add(new EpochRecord(e, 10L * e, 10, 0.1, ordered(0.9 / e, 8.0 / (e * e)), ordered(1.0, 0.5 + 0.01 * e), 0,
                    valid, learned));
        }
        return h;
    }

    private static Map<String, Double> ordered(double a, double b) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("a", a);
        m.put("b", b);
        return m;
    }

    @Test
    void exportWritesTheCsvAndOneChartPerQuantity() throws IOException {
        TrainingHistory h = history();
        List<Path> files = HistoryCharts.export(h, dir.resolve("charts"));

        assertEquals(List.of("history.csv", "loss.png", "valid_accuracy.png", "valid_rmse.png", "weights.png",
                        "learned_sigma.png", "learned_alpha.s0.png"),
                files.stream().map(p -> p.getFileName().toString()).toList());
        assertEquals(h.toCsv(), Files.readString(files.get(0)));
        for (Path png : files.subList(1, files.size())) {
            BufferedImage image = ImageIO.read(png.toFile());
            assertEquals(900, image.getWidth(), png.toString());
            assertEquals(540, image.getHeight(), png.toString());
            // a task keeps its colour in every chart: a in the palette's first, b in its second; accuracy is a's
            // alone, RMSE b's alone
            String name = png.getFileName().toString();
            assertEquals(!name.equals("valid_rmse.png"), count(image, 0x1F77B4) > 100, name + ": first colour drawn");
            assertEquals(!name.equals("valid_accuracy.png"), count(image, 0xD62728) > 100, name + ": second colour drawn");
        }
    }

    @Test
    void exportRefusesAnEmptyHistory() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HistoryCharts.export(new TrainingHistory(), dir));
        assertEquals("the history is empty: train at least one epoch before exporting it", e.getMessage());
    }

    @Test
    void learnedValuesAreGroupedByTheirNameBeforeTheBracket() {
        assertEquals(Map.of("sigma", List.of("sigma[a]", "sigma[b]"), "alpha.s0", List.of("alpha.s0[a<-b]", "alpha.s0[b<-a]")),
                HistoryCharts.learnedGroups(history()));
    }

    private static int count(BufferedImage image, int rgb) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xFFFFFF) == rgb) {
                    n++;
                }
            }
        }
        return n;
    }
}
