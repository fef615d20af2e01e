package org.mtl4j.core;

import org.deeplearning4j.nn.api.Layer;
import org.mtl4j.core.io.ModelFile;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/**
 * A copy, in memory, of what a network learns while it trains (parameters, updater state, combinator state,
 * iteration and epoch counts), from which a separate network at that point can be made later. The
 * {@link Trainer} keeps one of the epoch with the lowest training loss, so that a run stopped by its
 * divergence guard still returns a good network.
 */
final class NetworkSnapshot {

    private final INDArray params;
    private final INDArray updater;
    private final double[] combinator;
    private final int iteration;
    private final int epoch;

    private NetworkSnapshot(MultiTaskNetwork network) {
        this.params = network.params().dup();
        INDArray view = updaterView(network);
        this.updater = view == null ? null : view.dup();
        this.combinator = network.losses().state().clone();
        this.iteration = network.iterationCount();
        this.epoch = network.epochCount();
    }

    /**
     * Copies {@code network}'s state.
     *
     * @param network the network, between steps
     * @return its snapshot
     */
    static NetworkSnapshot of(MultiTaskNetwork network) {
        return new NetworkSnapshot(network);
    }

    /** {@return the epoch count the snapshot was taken at} */
    int epoch() {
        return epoch;
    }

    /**
     * A new network like {@code network} (a saved and loaded copy) in the state of this snapshot.
     *
     * @param network the network the snapshot was taken of, in any later state
     * @return a separate network with the snapshot's parameters, updater and combinator state and counts
     */
    MultiTaskNetwork restoreCopy(MultiTaskNetwork network) {
        MultiTaskNetwork copy;
        File file = null;
        try {
            file = Files.createTempFile("mtl4j-snapshot", ".mtl4j").toFile();
            network.save(file);
            copy = ModelFile.load(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the network through a temporary model file", e);
        } finally {
            if (file != null) {
                file.delete();
            }
        }
        copy.params().assign(params);
        INDArray view = updaterView(copy);
        if (view != null) {
            view.assign(updater);
        }
        copy.losses().restoreState(combinator.clone());
        copy.graph().getConfiguration().setIterationCount(iteration);
        copy.graph().getConfiguration().setEpochCount(epoch);
        for (Layer layer : copy.graph().getLayers()) {
            layer.setIterationCount(iteration);
            layer.setEpochCount(epoch);
        }
        return copy;
    }

    private static INDArray updaterView(MultiTaskNetwork network) {
        INDArray view = network.graph().getUpdater(true).getStateViewArray();
        return view == null || view.length() == 0 ? null : view;
    }
}
