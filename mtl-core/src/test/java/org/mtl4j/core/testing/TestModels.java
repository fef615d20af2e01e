package org.mtl4j.core.testing;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.SharedTrunk;
import org.nd4j.linalg.activations.Activation;

/** Small trunks for tests. */
public final class TestModels {

    private TestModels() {
    }

    /** A dense trunk {@code nIn -> widths...} with the given activation, one layer per stage. */
    public static SharedTrunk denseTrunk(int nIn, Activation activation, int... widths) {
        SharedTrunk.Builder b = SharedTrunk.builder(InputType.feedForward(nIn));
        for (int w : widths) {
            b.layer(new DenseLayer.Builder().nOut(w).activation(activation).build());
        }
        return b.build();
    }
}
