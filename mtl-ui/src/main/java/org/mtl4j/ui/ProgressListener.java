package org.mtl4j.ui;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.EpochTotals;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.TaskMetric;
import org.mtl4j.core.TrainingHistory;
import org.mtl4j.core.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Shows training progress: on a terminal a progress bar per epoch ({@code epoch 3/10}, steps done, the
 * running per-task training loss, the time left in the epoch and in the whole run; when the epoch ends, its
 * validation headline metrics), otherwise plain SLF4J log lines with the same numbers (a quarter of the way
 * through each epoch whose length is known, and at its end). Epochs are counted as the network counts them,
 * so a resumed run goes on from the epoch of its checkpoint. Register it
 * with {@link MultiTaskNetwork#addListeners} or {@code Trainer.builder().listeners(...)}.
 *
 * <p>{@link #auto()} picks the bar when the JVM has a console and log lines otherwise; the system property
 * {@code mtl4j.progress} ({@code bar}, {@code log} or {@code off}) overrides the choice, so a user switches
 * the bar off without touching code.
 */
public final class ProgressListener implements TrainingListener {

    /** How progress is shown. */
    public enum Mode {
        /** A progress bar on the console (standard error). */
        BAR,
        /** Plain log lines through SLF4J (INFO). */
        LOG,
        /** Nothing. */
        OFF
    }

    /** The system property that overrides {@link #auto()}'s choice: {@code bar}, {@code log} or {@code off}. */
    public static final String PROPERTY = "mtl4j.progress";

    private static final Logger log = LoggerFactory.getLogger(ProgressListener.class);

    private final Mode mode;
    private final Supplier<ProgressBarConsumer> console;
    private final Consumer<String> lines;

    private int epochs;
    private int firstEpoch;
    private long runStart;
    private long epochStart;
    private long expectedSteps = -1;
    private EpochTotals totals;
    private ProgressBar bar;

    ProgressListener(Mode mode, Supplier<ProgressBarConsumer> console, Consumer<String> lines) {
        this.mode = mode;
        this.console = console;
        this.lines = lines;
    }

    /**
     * A bar on a terminal, log lines otherwise; {@value #PROPERTY} overrides (see the class comment).
     *
     * @return a listener in the mode chosen from the console and the system property
     * @throws IllegalArgumentException when the system property is set to anything but {@code bar}, {@code log}
     *                                  or {@code off}
     */
    public static ProgressListener auto() {
        String forced = System.getProperty(PROPERTY);
        Mode mode;
        if (forced == null || forced.isBlank()) {
            mode = System.console() != null ? Mode.BAR : Mode.LOG;
        } else {
            mode = switch (forced.trim().toLowerCase(Locale.ROOT)) {
                case "bar" -> Mode.BAR;
                case "log" -> Mode.LOG;
                case "off", "false", "none" -> Mode.OFF;
                default -> throw new IllegalArgumentException("system property " + PROPERTY + "=" + forced
                        + ": use bar, log or off");
            };
        }
        return of(mode);
    }

    /**
     * Progress shown in the given mode.
     *
     * @param mode a bar on standard error, SLF4J log lines, or nothing
     * @return a listener in that mode, whatever the system property says
     */
    public static ProgressListener of(Mode mode) {
        return new ProgressListener(mode, () -> new ConsoleProgressBarConsumer(System.err), log::info);
    }

    /** {@return the mode this listener shows progress in} */
    public Mode mode() {
        return mode;
    }

    @Override
    public void onFitStart(MultiTaskNetwork network, int epochs) {
        this.epochs = epochs;
        this.firstEpoch = network.epochCount();
        this.runStart = System.nanoTime();
        this.expectedSteps = -1;
    }

    @Override
    public void onEpochStart(MultiTaskNetwork network, int epochsCompleted) {
        if (mode == Mode.OFF) {
            return;
        }
        epochStart = System.nanoTime();
        totals = new EpochTotals(network.tasks().size());
        if (mode == Mode.BAR) {
            bar = new ProgressBarBuilder()
                    .setTaskName(epochLabel(epochsCompleted + 1))
                    .setInitialMax(expectedSteps)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250)
                    .setConsumer(console.get())
                    .build();
        }
    }

    @Override
    public void onStep(MultiTaskNetwork network, StepResult step) {
        if (mode == Mode.OFF || totals == null) {
            return;
        }
        totals.add(step);
        long steps = totals.steps();
        if (mode == Mode.BAR) {
            bar.step();
            bar.setExtraMessage(losses(step.taskNames()) + eta(step.epoch() - firstEpoch, steps));
        } else if (expectedSteps >= 4 && steps < expectedSteps && steps % (expectedSteps / 4) == 0) {
            lines.accept(String.format(Locale.ROOT, "%s step %d/%d: %s%s", epochLabel(step.epoch() + 1), steps,
                    expectedSteps, losses(step.taskNames()), eta(step.epoch() - firstEpoch, steps)));
        }
    }

    @Override
    public void onEpochEnd(MultiTaskNetwork network, EpochRecord record) {
        if (mode == Mode.OFF || totals == null) {
            return;
        }
        long steps = totals.steps();
        expectedSteps = steps;
        String summary = losses(network.taskNames()) + validation(record) + eta(record.epoch() - firstEpoch, 0);
        if (bar != null) {
            bar.maxHint(steps);
            bar.stepTo(steps);
            bar.setExtraMessage(summary);
            bar.close();
            bar = null;
        } else {
            lines.accept(String.format(Locale.ROOT, "%s done: %d steps in %.1f s, train loss %s", epochLabel(record.epoch()),
                    steps, (System.nanoTime() - epochStart) / 1e9, summary));
        }
        totals = null;
    }

    @Override
    public void onFitEnd(MultiTaskNetwork network, TrainingHistory history) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    /** {@code epoch e/E}: the network's epoch count after the epoch, and after the run's last epoch. */
    private String epochLabel(int epoch) {
        return "epoch " + epoch + "/" + (firstEpoch + epochs);
    }

    private String losses(List<String> names) {
        StringBuilder sb = new StringBuilder();
        for (int t = 0; t < names.size(); t++) {
            sb.append(t == 0 ? "" : " ").append(names.get(t)).append('=')
                    .append(Double.isNaN(totals.meanLoss(t)) ? "-" : String.format(Locale.ROOT, "%.4g", totals.meanLoss(t)));
        }
        return sb.toString();
    }

    private static String validation(EpochRecord record) {
        if (record.valid().isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder(", valid");
        for (Map.Entry<String, Map<TaskMetric, Double>> e : record.valid().entrySet()) {
            TaskMetric headline = e.getValue().keySet().iterator().next();
            sb.append(' ').append(headline.key()).append('[').append(e.getKey()).append("]=")
                    .append(String.format(Locale.ROOT, "%.4g", e.getValue().get(headline)));
        }
        return sb.toString();
    }

    /**
     * The time left in the run at the run's mean speed so far, once one epoch has told how many steps an epoch
     * has; empty before that and after the last epoch.
     *
     * @param epochsDone epochs of this run completed
     * @param stepsDone  steps done in the current epoch
     */
    private String eta(int epochsDone, long stepsDone) {
        if (epochs <= 0 || expectedSteps <= 0) {
            return "";
        }
        long done = epochsDone * expectedSteps + stepsDone;
        long total = epochs * expectedSteps;
        if (done <= 0 || done >= total) {
            return "";
        }
        double elapsed = (System.nanoTime() - runStart) / 1e9;
        return " | run ETA " + duration(elapsed / done * (total - done));
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        }
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }
}
