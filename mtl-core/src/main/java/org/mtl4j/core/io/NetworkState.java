package org.mtl4j.core.io;

import org.deeplearning4j.nn.api.Layer;
import org.mtl4j.core.MultiTaskNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;

/**
 * Everything of a network that changes while it trains, as plain numbers: the flat parameters, the flat updater
 * state, the combinator's state and the iteration and epoch counts. Set into a network built from the same
 * configuration, it puts that network exactly where the original was (values travel as doubles, which hold
 * float and double parameters exactly). mtl-spark broadcasts one per averaging round; the trainer keeps one of
 * the best epoch for its divergence guard.
 *
 * @param params     the flat parameters
 * @param updater    the flat updater state (empty when the updater keeps none)
 * @param combinator the combinator's {@link org.mtl4j.core.LossCombinator#state() state}
 * @param iteration  the iteration count
 * @param epoch      the epoch count
 * @serial exclude
 */
public record NetworkState(double[] params, double[] updater, double[] combinator, int iteration, int epoch)
        implements Serializable {

    /**
     * The network's current state.
     *
     * @param network the network, between steps
     * @return copies of its parameters, updater state, combinator state and counts
     */
    public static NetworkState of(MultiTaskNetwork network) {
        INDArray view = updaterView(network);
        return new NetworkState(network.params().castTo(DataType.DOUBLE).toDoubleVector(),
                view == null ? new double[0] : view.castTo(DataType.DOUBLE).toDoubleVector(),
                network.losses().state().clone(), network.iterationCount(), network.epochCount());
    }

    /**
     * Sets this state into {@code network}.
     *
     * @param network     a network of the same configuration
     * @param withUpdater whether the updater state is set too (otherwise the network keeps its own)
     * @throws IllegalStateException when the network holds another number of parameters or updater values
     */
    public void applyTo(MultiTaskNetwork network, boolean withUpdater) {
        assign(network.params(), params, "parameters");
        if (withUpdater) {
            INDArray view = updaterView(network);
            if (view == null ? updater.length != 0 : view.length() != updater.length) {
                throw new IllegalStateException("the updater state has " + (view == null ? 0 : view.length())
                        + " values, but " + updater.length + " were given");
            }
            if (view != null) {
                assign(view, updater, "updater state");
            }
        }
        network.losses().restoreState(combinator.clone());
        network.graph().getConfiguration().setIterationCount(iteration);
        network.graph().getConfiguration().setEpochCount(epoch);
        for (Layer layer : network.graph().getLayers()) {
            layer.setIterationCount(iteration);
            layer.setEpochCount(epoch);
        }
    }

    private static INDArray updaterView(MultiTaskNetwork network) {
        INDArray view = network.graph().getUpdater(true).getStateViewArray();
        return view == null || view.length() == 0 ? null : view;
    }

    private static void assign(INDArray target, double[] values, String what) {
        if (target.length() != values.length) {
            throw new IllegalStateException("the network has " + target.length() + " " + what + " values, but "
                    + values.length + " were given");
        }
        target.assign(Nd4j.createFromArray(values).castTo(target.dataType()).reshape(target.shape()));
    }
}
