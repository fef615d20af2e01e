package org.mtl4j.ui;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.TaskMetric;
import org.mtl4j.core.TrainingHistory;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@link TrainingHistory} as CSV and PNG charts (XChart), one call for all:
 * <ul>
 *   <li>{@code history.csv}: {@link TrainingHistory#toCsv()};</li>
 *   <li>{@code loss.png}: each task's training loss (solid) and validation loss (dashed) per epoch, one colour
 *       per task, on a log scale when the losses span more than two decades;</li>
 *   <li>{@code valid_accuracy.png}, {@code valid_rmse.png}: the validation headline metric of classification and
 *       multi-label tasks (accuracy) and of regression tasks (RMSE), one line per task that has it (the CSV
 *       holds the other metrics);</li>
 *   <li>{@code weights.png}: each task's mean weight per epoch;</li>
 *   <li>{@code learned_<group>.png}: the learned values (cross-stitch alphas per stage, sluice betas,
 *       uncertainty sigmas), one chart per name group, the part of the name before {@code [}.</li>
 * </ul>
 * A chart whose data the history lacks is not written.
 */
public final class HistoryCharts {

    private static final Color[] PALETTE = {
            new Color(0x1F77B4), new Color(0xD62728), new Color(0x2CA02C), new Color(0xFF7F0E), new Color(0x9467BD),
            new Color(0x8C564B), new Color(0xE377C2), new Color(0x7F7F7F), new Color(0xBCBD22), new Color(0x17BECF)};
    private static final List<TaskMetric> HEADLINE_METRICS = List.of(TaskMetric.ACCURACY, TaskMetric.RMSE);
    private static final int WIDTH = 900;
    private static final int HEIGHT = 540;

    private HistoryCharts() {
    }

    /**
     * Writes {@code history.csv} and the charts into {@code directory} (created when needed).
     *
     * @param history   the training history, at least one epoch
     * @param directory the folder to write into; files of the same names are replaced
     * @return the files written, the CSV first
     * @throws IllegalArgumentException when the history is empty
     * @throws IOException              when the folder or a file cannot be written
     */
    public static List<Path> export(TrainingHistory history, Path directory) throws IOException {
        if (history.isEmpty()) {
            throw new IllegalArgumentException("the history is empty: train at least one epoch before exporting it");
        }
        Files.createDirectories(directory);
        List<Path> written = new ArrayList<>();
        written.add(history.writeCsv(directory.resolve("history.csv")));
        double[] epochs = history.column("epoch");
        List<String> tasks = new ArrayList<>(history.records().get(0).trainLoss().keySet());

        XYChart loss = chart("Loss per task (solid: training, dashed: validation)", "loss");
        for (int t = 0; t < tasks.size(); t++) {
            line(loss, tasks.get(t) + " train", epochs, history.column("train_loss[" + tasks.get(t) + "]"), t, false);
            double[] valid = history.column("valid_loss[" + tasks.get(t) + "]");
            if (hasValues(valid)) {
                line(loss, tasks.get(t) + " valid", epochs, valid, t, true);
            }
        }
        logScaleWhenWide(loss);
        written.add(save(loss, directory, "loss"));

        for (TaskMetric metric : HEADLINE_METRICS) {
            XYChart chart = chart("Validation " + metric.key() + " per task", metric.key());
            for (int t = 0; t < tasks.size(); t++) {
                double[] values = history.column("valid_" + metric.key() + "[" + tasks.get(t) + "]");
                if (hasValues(values)) {
                    line(chart, tasks.get(t), epochs, values, t, false);
                }
            }
            if (!chart.getSeriesMap().isEmpty()) {
                written.add(save(chart, directory, "valid_" + metric.key()));
            }
        }

        XYChart weights = chart("Task weight per epoch (mean over its steps)", "weight");
        for (int t = 0; t < tasks.size(); t++) {
            line(weights, tasks.get(t), epochs, history.column("weight[" + tasks.get(t) + "]"), t, false);
        }
        written.add(save(weights, directory, "weights"));

        for (Map.Entry<String, List<String>> group : learnedGroups(history).entrySet()) {
            XYChart chart = chart("Learned " + group.getKey() + " per epoch", group.getKey());
            List<String> names = group.getValue();
            for (int i = 0; i < names.size(); i++) {
                line(chart, names.get(i), epochs, history.column(names.get(i)), i, i >= PALETTE.length);
            }
            written.add(save(chart, directory, "learned_" + group.getKey().replaceAll("[^A-Za-z0-9._-]", "_")));
        }
        return written;
    }

    /** The learned value names grouped by the part before {@code [}, in order of first appearance. */
    static Map<String, List<String>> learnedGroups(TrainingHistory history) {
        Set<String> names = new LinkedHashSet<>();
        for (EpochRecord r : history.records()) {
            names.addAll(r.learned().keySet());
        }
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (String name : names) {
            int bracket = name.indexOf('[');
            groups.computeIfAbsent(bracket > 0 ? name.substring(0, bracket) : name, k -> new ArrayList<>()).add(name);
        }
        return groups;
    }

    private static XYChart chart(String title, String yAxis) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("epoch")
                .yAxisTitle(yAxis).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setMarkerSize(5);
        chart.getStyler().setXAxisDecimalPattern("0");
        return chart;
    }

    private static void line(XYChart chart, String name, double[] x, double[] y, int colour, boolean dashed) {
        XYSeries s = chart.addSeries(name, x, y);
        Color c = PALETTE[colour % PALETTE.length];
        s.setLineColor(c);
        s.setMarkerColor(c);
        s.setMarker(dashed ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        s.setLineStyle(dashed ? SeriesLines.DASH_DASH : SeriesLines.SOLID);
    }

    private static void logScaleWhenWide(XYChart chart) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (XYSeries s : chart.getSeriesMap().values()) {
            for (double v : s.getYData()) {
                if (Double.isNaN(v)) {
                    continue;
                }
                if (v <= 0) {
                    return;
                }
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        chart.getStyler().setYAxisLogarithmic(max / min > 100);
    }

    private static boolean hasValues(double[] values) {
        for (double v : values) {
            if (!Double.isNaN(v)) {
                return true;
            }
        }
        return false;
    }

    private static Path save(XYChart chart, Path directory, String name) throws IOException {
        Path file = directory.resolve(name + ".png");
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
