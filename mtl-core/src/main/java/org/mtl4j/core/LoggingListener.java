package org.mtl4j.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs per-task losses and weights through SLF4J (INFO) every {@code frequency} steps, and each epoch's record. */
public final class LoggingListener implements TrainingListener {

    private static final Logger log = LoggerFactory.getLogger(LoggingListener.class);

    private final int frequency;

    /** Logs every step. */
    public LoggingListener() {
        this(1);
    }

    /**
     * Logs every {@code frequency} steps.
     *
     * @param frequency the interval in steps, at least 1
     * @throws IllegalArgumentException if {@code frequency < 1}
     */
    public LoggingListener(int frequency) {
        if (frequency < 1) {
            throw new IllegalArgumentException("logging frequency must be >= 1, got " + frequency);
        }
        this.frequency = frequency;
    }

    @Override
    public void onStep(MultiTaskNetwork network, StepResult step) {
        if (step.iteration() % frequency != 0 || !log.isInfoEnabled()) {
            return;
        }
        StringBuilder sb = new StringBuilder();
        for (int t = 0; t < step.losses().size(); t++) {
            sb.append(' ').append(step.taskNames().get(t)).append(": loss=")
                    .append(String.format("%.5f", step.losses().loss(t)))
                    .append(" w=").append(String.format("%.4f", step.weights().weight(t)));
        }
        log.info("iteration {} epoch {} total={}{}", step.iteration(), step.epoch(),
                String.format("%.5f", step.totalLoss()), sb);
    }

    @Override
    public void onEpochEnd(MultiTaskNetwork network, EpochRecord record) {
        if (log.isInfoEnabled()) {
            log.info("epoch {} done in {} s: train loss {}{}", record.epoch(), String.format("%.1f", record.seconds()),
                    record.trainLoss(), record.valid().isEmpty() ? "" : ", validation " + record.valid());
        }
    }
}
