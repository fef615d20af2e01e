package org.mtl4j.examples;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Trainer;
import org.mtl4j.core.TrainingListener;
import org.mtl4j.core.TrainingResult;
import org.mtl4j.ui.HistoryCharts;
import org.mtl4j.ui.ProgressListener;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the examples train a model: a {@link Trainer} with a {@link ProgressListener} (a bar on a terminal,
 * log lines otherwise, {@code -Dmtl4j.progress=off} to silence it), validation data when the example has
 * some, and the model's {@link org.mtl4j.core.TrainingHistory} written as CSV and PNG charts.
 */
final class ExampleTraining {

    /** The system property naming the folder the examples write histories into. */
    static final String OUTPUT_PROPERTY = "mtl4j.examples.out";

    private ExampleTraining() {
    }

    /** The folder of one example's histories: {@code -Dmtl4j.examples.out} or {@code target/mtl4j-examples}, then the example's name. */
    static Path outputFolder(String example) {
        return Path.of(System.getProperty(OUTPUT_PROPERTY, "target/mtl4j-examples")).resolve(example).toAbsolutePath();
    }

    /**
     * Trains {@code network} for {@code epochs} epochs and, when {@code historyRoot} is not null, writes its
     * history and charts to {@code historyRoot/<model>}.
     *
     * @param validation null, or data evaluated after every epoch
     * @param listeners  further listeners of the run (a shuffling iterator that needs the epoch, say)
     */
    static TrainingResult train(MultiTaskNetwork network, MultiDataSetIterator train, MultiDataSetIterator validation,
                                int epochs, Path historyRoot, String model, TrainingListener... listeners) {
        Trainer.Builder b = Trainer.builder().epochs(epochs).listeners(ProgressListener.auto());
        if (listeners.length > 0) {
            b.listeners(listeners);
        }
        if (validation != null) {
            b.validation(validation);
        }
        TrainingResult result = b.build().fit(network, train);
        if (historyRoot != null) {
            try {
                HistoryCharts.export(result.history(), historyRoot.resolve(folderName(model)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the history of " + model + " under " + historyRoot, e);
            }
        }
        return result;
    }

    /** A model's name as a folder name: lower case, runs of other characters as one dash. */
    static String folderName(String model) {
        return model.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.]+", "-").replaceAll("(^-|-$)", "");
    }
}
