package org.mtl4j.core;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The shared layers of a multi-task network, declared with DL4J layer builders and the {@link InputType}
 * of the features, grouped into stages. A stage is a run of layers after which multi-column sharing
 * strategies (cross-stitch, sluice) mix their columns; hard sharing ignores the grouping.
 *
 * <pre>{@code
 * SharedTrunk trunk = SharedTrunk.builder(InputType.convolutional(36, 36, 1))
 *         .stage(conv1, pool1)
 *         .stage(conv2, pool2)
 *         .layer(new DenseLayer.Builder().nOut(256).activation(Activation.RELU).build())
 *         .build();
 * }</pre>
 *
 * <p>Layers are declared without {@code nIn}: it is inferred from the input type. Immutable once built.
 */
public final class SharedTrunk {

    private final InputType inputType;
    private final List<List<Layer>> stages;

    private SharedTrunk(InputType inputType, List<List<Layer>> stages) {
        this.inputType = inputType;
        List<List<Layer>> copy = new ArrayList<>();
        for (List<Layer> s : stages) {
            copy.add(List.copyOf(s));
        }
        this.stages = List.copyOf(copy);
    }

    /**
     * Starts a trunk reading features of the given type.
     *
     * @param inputType the type of the features, e.g. {@code InputType.feedForward(784)}; layers infer
     *                  {@code nIn} from it
     * @return a builder with no stage yet
     */
    public static Builder builder(InputType inputType) {
        return new Builder(inputType);
    }

    /** {@return the type of the features the trunk reads} */
    public InputType inputType() {
        return inputType;
    }

    /**
     * The stages, in order, each a non-empty list of layer configurations (clone before mutating).
     *
     * @return the stages (unmodifiable lists of the configured layers)
     */
    public List<List<Layer>> stages() {
        return stages;
    }

    /** {@return all layers in order, stages flattened} */
    public List<Layer> layers() {
        List<Layer> all = new ArrayList<>();
        stages.forEach(all::addAll);
        return all;
    }

    /** Builds a {@link SharedTrunk}. */
    public static final class Builder {
        private final InputType inputType;
        private final List<List<Layer>> stages = new ArrayList<>();

        private Builder(InputType inputType) {
            this.inputType = Objects.requireNonNull(inputType, "the trunk's input type is null");
        }

        /**
         * Adds a stage made of one layer.
         *
         * @param layer the layer's configuration, without {@code nIn}
         * @return this builder
         * @throws IllegalArgumentException if {@code layer} is null
         */
        public Builder layer(Layer layer) {
            return stage(layer);
        }

        /**
         * Adds a stage made of the given layers, in order.
         *
         * @param layers the stage's layer configurations, without {@code nIn}; at least one
         * @return this builder
         * @throws IllegalArgumentException if no layer is given or one is null
         */
        public Builder stage(Layer... layers) {
            if (layers == null || layers.length == 0) {
                throw new IllegalArgumentException("trunk stage " + stages.size() + " has no layers");
            }
            for (int i = 0; i < layers.length; i++) {
                if (layers[i] == null) {
                    throw new IllegalArgumentException("trunk stage " + stages.size() + ": layer " + i + " is null");
                }
            }
            stages.add(Arrays.asList(layers));
            return this;
        }

        /**
         * Builds the trunk; it needs at least one layer.
         *
         * @return the immutable trunk
         * @throws IllegalArgumentException if no stage was added
         */
        public SharedTrunk build() {
            if (stages.isEmpty()) {
                throw new IllegalArgumentException("a shared trunk needs at least one layer");
            }
            return new SharedTrunk(inputType, stages);
        }
    }
}
