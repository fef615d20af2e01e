package org.mtl4j.core.graph;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Collection;

/**
 * DL4J's {@link TimeDistributed} with its masks laid out as its activations are: a feed-forward layer applied
 * to every time step of {@code [mb, n, time]} activations (NCW), for per-time-step task heads.
 *
 * <p>DL4J 1.0.0-M2.1's {@code TimeDistributedLayer} flattens the activations example-major (row
 * {@code i * time + t}) but the {@code [mb, time]} features mask time-major (row {@code i + mb * t},
 * {@code TimeSeriesUtils.reshapeTimeSeriesMaskToVector}), so the inner layer multiplied each step's output by
 * another step's mask: with a features mask, real steps came out 0 and padded ones did not. This layer
 * flattens both the same way ({@link PerTimeStepLayer}).
 */
public class PerTimeStep extends TimeDistributed {

    /**
     * Applies {@code underlying} to each time step of NCW activations.
     *
     * @param underlying    the feed-forward layer applied at every step
     * @param rnnDataFormat the activations' layout; must be {@link RNNFormat#NCW}
     * @throws IllegalArgumentException if {@code rnnDataFormat} is not NCW
     */
    public PerTimeStep(@JsonProperty("underlying") Layer underlying,
                       @JsonProperty("rnnDataFormat") RNNFormat rnnDataFormat) {
        super(underlying, rnnDataFormat);
        if (rnnDataFormat != RNNFormat.NCW) {
            throw new IllegalArgumentException("per-time-step heads read [mb, size, time] (NCW) activations, got "
                    + rnnDataFormat);
        }
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                       Collection<TrainingListener> trainingListeners, int layerIndex,
                                                       INDArray layerParamsView, boolean initializeParams,
                                                       DataType networkDataType) {
        NeuralNetConfiguration inner = conf.clone();
        inner.setLayer(getUnderlying());
        return new PerTimeStepLayer(getUnderlying().instantiate(inner, trainingListeners, layerIndex, layerParamsView,
                initializeParams, networkDataType), getRnnDataFormat());
    }

    @Override
    public PerTimeStep clone() {
        return (PerTimeStep) super.clone();
    }
}
