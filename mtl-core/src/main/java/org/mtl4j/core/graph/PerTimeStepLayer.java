package org.mtl4j.core.graph;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.layers.recurrent.TimeDistributedLayer;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The runtime of {@link PerTimeStep}: DL4J's {@code TimeDistributedLayer}, with the {@code [mb, time]} mask
 * flattened to {@code [mb * time, 1]} example-major (row {@code i * time + t}), the order in which the
 * activations are flattened.
 */
public class PerTimeStepLayer extends TimeDistributedLayer {

    /**
     * Wraps {@code underlying}, applied to every time step.
     *
     * @param underlying    the feed-forward layer's runtime
     * @param rnnDataFormat the activations' layout (NCW for {@link PerTimeStep})
     */
    public PerTimeStepLayer(Layer underlying, RNNFormat rnnDataFormat) {
        super(underlying, rnnDataFormat);
    }

    @Override
    public void setMaskArray(INDArray maskArray) {
        underlying.setMaskArray(maskArray == null ? null : flatten(maskArray));
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArray(INDArray maskArray, MaskState currentMaskState,
                                                          int minibatchSize) {
        if (maskArray == null) {
            return underlying.feedForwardMaskArray(null, currentMaskState, minibatchSize);
        }
        Pair<INDArray, MaskState> p = underlying.feedForwardMaskArray(flatten(maskArray), currentMaskState,
                minibatchSize);
        if (p == null || p.getFirst() == null) {
            return p;
        }
        p.setFirst(p.getFirst().dup('c').reshape('c', maskArray.size(0), maskArray.size(1)));
        return p;
    }

    /** {@code [mb, time]} to {@code [mb * time, 1]}, row {@code i * time + t}. */
    private static INDArray flatten(INDArray mask) {
        if (mask.rank() != 2) {
            throw new IllegalArgumentException("a per-time-step mask must be [minibatch, time], got "
                    + java.util.Arrays.toString(mask.shape()));
        }
        return mask.dup('c').reshape('c', mask.length(), 1);
    }
}
