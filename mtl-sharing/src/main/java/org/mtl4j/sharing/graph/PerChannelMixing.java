package org.mtl4j.sharing.graph;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The mixing of a unit whose weights are one vector per column over the channel dimension 1 (per-channel
 * cross-stitch): the stage calls these instead of its matrix products.
 */
interface PerChannelMixing {

    /** Writes {@code sum_j alpha_j (.) x_j} into {@code out}. */
    void mixPerChannel(INDArray[] xs, INDArray out);

    /** Adds {@code alpha_j (.) error} to each column's error. */
    void unmixPerChannel(INDArray error, INDArray[] columnErrors);

    /** Writes the weights' gradient {@code sum(error (.) x_j)} over every dimension but the channel one. */
    void perChannelGradient(INDArray error, INDArray[] xs);
}
