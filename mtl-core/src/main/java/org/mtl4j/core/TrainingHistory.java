package org.mtl4j.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Per-epoch records of a training run ({@link EpochRecord}): per-task training and validation losses and
 * metrics, task weights, and the learned values of the sharing strategy and the loss combinator. Written
 * as CSV with {@link #writeCsv(Path)}; {@code org.mtl4j.ui.HistoryCharts} draws it as PNG charts.
 */
public final class TrainingHistory {

    private static final Pattern TASK_COLUMN = Pattern.compile("(train_loss|weight|valid_([a-z0-9]+))\\[(.*)]");
    private static final List<String> FIXED = List.of("epoch", "iteration", "steps", "seconds", "penalty");

    private final List<EpochRecord> records = new ArrayList<>();

    /** An empty history. */
    public TrainingHistory() {
    }

    /**
     * A history holding {@code records}, in order.
     *
     * @param records the epochs' records, oldest first, each epoch after the one before
     * @throws IllegalArgumentException when an epoch does not follow the one before it
     */
    public TrainingHistory(List<EpochRecord> records) {
        records.forEach(this::add);
    }

    /**
     * Appends one epoch's record.
     *
     * @param record the record of the epoch after the last recorded one
     * @throws IllegalArgumentException when its epoch does not follow the last record's
     */
    public void add(EpochRecord record) {
        if (!records.isEmpty() && record.epoch() <= last().epoch()) {
            throw new IllegalArgumentException("epoch " + record.epoch() + " does not follow the last recorded epoch "
                    + last().epoch());
        }
        records.add(record);
    }

    /** {@return the records, oldest first (an unmodifiable view)} */
    public List<EpochRecord> records() {
        return Collections.unmodifiableList(records);
    }

    /** {@return the number of recorded epochs} */
    public int size() {
        return records.size();
    }

    /** {@return whether no epoch is recorded} */
    public boolean isEmpty() {
        return records.isEmpty();
    }

    /**
     * The newest record.
     *
     * @return the record of the last epoch
     * @throws IllegalStateException when the history is empty
     */
    public EpochRecord last() {
        if (records.isEmpty()) {
            throw new IllegalStateException("the history is empty");
        }
        return records.get(records.size() - 1);
    }

    /**
     * Every column name of {@link #toCsv()}, in order of first appearance.
     *
     * @return {@code epoch, iteration, steps, seconds, penalty}, then the per-task columns such as
     *         {@code train_loss[task]}, {@code weight[task]} and {@code valid_accuracy[task]}, then the learned values
     */
    public List<String> columns() {
        LinkedHashSet<String> names = new LinkedHashSet<>(FIXED);
        for (EpochRecord r : records) {
            names.addAll(r.columns().keySet());
        }
        return List.copyOf(names);
    }

    /**
     * One column's values, one per epoch (NaN where an epoch lacks it).
     *
     * @param name a column name, as in {@link #columns()}
     * @return the column's value for each epoch, oldest first
     */
    public double[] column(String name) {
        double[] values = new double[records.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = records.get(i).columns().getOrDefault(name, Double.NaN);
        }
        return values;
    }

    /**
     * The history as CSV: a header row of {@link #columns()}, then one row per epoch; numbers are written
     * exactly ({@link Double#toString}), a missing value is empty, names with commas or quotes are quoted.
     *
     * @return the CSV text, each row ending in a newline
     */
    public String toCsv() {
        List<String> columns = columns();
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < columns.size(); c++) {
            sb.append(c == 0 ? "" : ",").append(quoted(columns.get(c)));
        }
        sb.append('\n');
        for (EpochRecord r : records) {
            Map<String, Double> row = r.columns();
            for (int c = 0; c < columns.size(); c++) {
                Double v = row.get(columns.get(c));
                sb.append(c == 0 ? "" : ",");
                if (v != null) {
                    sb.append(c < 3 ? Long.toString(v.longValue()) : Double.toString(v));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * Writes {@link #toCsv()} to {@code file} (UTF-8), creating its folder, and returns the file.
     *
     * @param file the CSV file to write (replaced if it exists)
     * @return {@code file}
     * @throws IOException when the folder or the file cannot be written
     */
    public Path writeCsv(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toCsv(), StandardCharsets.UTF_8);
        return file;
    }

    /**
     * Reads a history written by {@link #toCsv()}: the inverse of it, so that a resumed run's history
     * continues the interrupted one's exactly.
     *
     * @param csv the text of {@link #toCsv()}
     * @return the history the text describes (empty for an empty text)
     * @throws IllegalArgumentException when the text is not such a CSV
     */
    public static TrainingHistory fromCsv(String csv) {
        List<String> lines = csv.lines().filter(l -> !l.isEmpty()).toList();
        TrainingHistory history = new TrainingHistory();
        if (lines.isEmpty()) {
            return history;
        }
        List<String> header = split(lines.get(0));
        if (header.size() < FIXED.size() || !header.subList(0, FIXED.size()).equals(FIXED)) {
            throw new IllegalArgumentException("not a training history: the header must start with " + FIXED
                    + ", got " + header.subList(0, Math.min(header.size(), FIXED.size())));
        }
        for (int i = 1; i < lines.size(); i++) {
            List<String> cells = split(lines.get(i));
            if (cells.size() != header.size()) {
                throw new IllegalArgumentException("history row " + i + " has " + cells.size() + " cells, the header "
                        + header.size());
            }
            history.add(parseRow(header, cells));
        }
        return history;
    }

    private static EpochRecord parseRow(List<String> header, List<String> cells) {
        Map<String, Double> trainLoss = new LinkedHashMap<>();
        Map<String, Double> weights = new LinkedHashMap<>();
        Map<String, Map<TaskMetric, Double>> valid = new LinkedHashMap<>();
        Map<String, Double> learned = new LinkedHashMap<>();
        for (int c = FIXED.size(); c < header.size(); c++) {
            if (cells.get(c).isEmpty()) {
                continue;
            }
            double v = Double.parseDouble(cells.get(c));
            Matcher m = TASK_COLUMN.matcher(header.get(c));
            if (!m.matches()) {
                learned.put(header.get(c), v);
            } else if (m.group(1).equals(EpochRecord.TRAIN_LOSS)) {
                trainLoss.put(m.group(3), v);
            } else if (m.group(1).equals(EpochRecord.WEIGHT)) {
                weights.put(m.group(3), v);
            } else {
                valid.computeIfAbsent(m.group(3), k -> new LinkedHashMap<>()).put(metric(m.group(2)), v);
            }
        }
        return new EpochRecord((int) Double.parseDouble(cells.get(0)), (long) Double.parseDouble(cells.get(1)),
                (int) Double.parseDouble(cells.get(2)), Double.parseDouble(cells.get(3)),
                trainLoss, weights, Double.parseDouble(cells.get(4)), valid, learned);
    }

    private static TaskMetric metric(String key) {
        for (TaskMetric m : TaskMetric.values()) {
            if (m.key().equals(key)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown metric \"" + key + "\" in a history column");
    }

    private static String quoted(String name) {
        return name.contains(",") || name.contains("\"") ? "\"" + name.replace("\"", "\"\"") + "\"" : name;
    }

    private static List<String> split(String line) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cell.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                cells.add(cell.toString());
                cell.setLength(0);
            } else {
                cell.append(ch);
            }
        }
        cells.add(cell.toString());
        return cells;
    }
}
