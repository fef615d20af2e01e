package org.mtl4j.spark;

import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Minibatches saved as files ({@link MultiDataSet#save(File)}), one file per minibatch, read where they are
 * used: for training data that does not fit in the driver's memory. The files must be readable at the same
 * path from every worker (a shared file system).
 *
 * <pre>{@code
 * JavaRDD<MultiDataSet> train = MultiDataSetFiles.load(sc.parallelize(paths));
 * trainer.fit(network, train);
 * }</pre>
 */
public final class MultiDataSetFiles {

    private MultiDataSetFiles() {
    }

    /**
     * The minibatches saved at {@code paths}, each read on the worker that handles it (lazily, when a job
     * needs it; {@link SparkTrainer} then keeps them with its storage level for the run).
     *
     * @param paths the paths of saved minibatches, one per element, readable from every worker
     * @return the minibatches, one per path, in the order of {@code paths}
     * @throws UncheckedIOException in the Spark task, naming the file, when one cannot be read
     */
    public static JavaRDD<MultiDataSet> load(JavaRDD<String> paths) {
        return paths.map(MultiDataSetFiles::read);
    }

    /** Reads one minibatch saved with {@link MultiDataSet#save(File)}. */
    static MultiDataSet read(String path) {
        File file = new File(path);
        if (!file.isFile()) {
            throw new UncheckedIOException(new IOException("no minibatch file at " + path));
        }
        org.nd4j.linalg.dataset.MultiDataSet batch = new org.nd4j.linalg.dataset.MultiDataSet();
        try {
            batch.load(file);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException("cannot read the minibatch file " + path + ": " + e.getMessage(), e));
        }
        return batch;
    }
}
