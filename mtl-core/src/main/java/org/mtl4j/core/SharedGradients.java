package org.mtl4j.core;

/**
 * Which per-task gradients a {@link LossCombinator} reads before it weighs the tasks
 * ({@link LossCombinator#gradients()}). The step computes task t's gradient {@code g_t} of its mean loss
 * {@code L_t} over the part named here, hands every {@code g_t} and their Gram matrix
 * {@code G_ij = g_i . g_j} to the combinator ({@link TaskLosses#gradient(int)}, {@link TaskLosses#gram()}),
 * and then trains the encoder on {@code sum_t w_t g_t} with the weights the combinator returned.
 *
 * <p>Costs per step, beyond the forward pass and one backward pass of the whole network: none for
 * {@link #NONE}; one head backward per task for {@link #REPRESENTATION}; that plus one backward of the last
 * shared layer per task for {@link #LAST_SHARED_LAYER}; one backward of the whole encoder per task for
 * {@link #SHARED_PARAMETERS}.
 */
public enum SharedGradients {

    /** No gradient: the combinator weighs the losses alone (fixed weights, uncertainty, DWA, ...). */
    NONE,

    /**
     * {@code dL_t/dZ}, w.r.t. the representation {@code Z} that every task reads (one value per example and
     * feature; the "upper bound" gradients of Sener and Koltun 2018). Needs every task to read one and the
     * same representation vertex: hard sharing, all tasks at one stage.
     */
    REPRESENTATION,

    /**
     * {@code dL_t/dW} w.r.t. the parameters of the last shared layer: the layer with parameters nearest
     * below the representation every task reads (GradNorm's W, Chen et al. 2018). Needs a representation
     * shared by every task, as {@link #REPRESENTATION} does.
     */
    LAST_SHARED_LAYER,

    /**
     * {@code dL_t/dtheta} w.r.t. every encoder parameter (everything but the heads: all trunk layers, every
     * column and mixing unit of a multi-column strategy; not batch normalisation's running statistics, which
     * are not trained by gradients), as one flat vector per task. Works with every
     * sharing strategy but one whose penalty acts on activations (sluice's default-off orthogonality on
     * activations), whose gradient cannot be told apart from the tasks'.
     */
    SHARED_PARAMETERS
}
