package org.mtl4j.core;

import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A task's own layers between its representation and its output projection, declared with DL4J layer
 * builders. The number of inputs of every layer is inferred from the representation, so layers are
 * declared with {@code nOut} only. The task adds the final projection to its own output width.
 *
 * <p>On a recurrent representation ({@code [minibatch, features, time]}) a head predicts one output
 * per time step by default (feed-forward layers are applied at every step); {@link #lastTimeStep()}
 * makes it read only the last step (the last unmasked one when the features have a mask).
 *
 * <p>Heads are immutable; the layer configurations are copied when the network is built.
 */
public final class Head {

    /** How a head reads a recurrent representation. */
    public enum Readout {
        /** The representation as it is: one prediction per time step on recurrent trunks. */
        ALL,
        /** Only the last (unmasked) time step of a recurrent representation. */
        LAST_TIME_STEP
    }

    private static final Head LINEAR = new Head(List.of(), Readout.ALL);

    private final List<Layer> layers;
    private final Readout readout;

    private Head(List<Layer> layers, Readout readout) {
        for (int i = 0; i < layers.size(); i++) {
            Objects.requireNonNull(layers.get(i), "head layer " + i + " is null");
        }
        this.layers = List.copyOf(layers);
        this.readout = Objects.requireNonNull(readout, "readout");
    }

    /**
     * A head with no hidden layers: the task's output projection reads the representation directly.
     *
     * @return the linear head (every task's default), with readout {@link Readout#ALL}
     */
    public static Head linear() {
        return LINEAR;
    }

    /**
     * A head with the given hidden layers (in order) before the task's output projection.
     *
     * @param layers the hidden layers' configurations, declared with {@code nOut} only
     * @return a head with these layers and readout {@link Readout#ALL}
     * @throws NullPointerException if a layer is null
     */
    public static Head of(Layer... layers) {
        return new Head(Arrays.asList(layers), Readout.ALL);
    }

    /**
     * This head, reading only the last (unmasked) time step of a recurrent representation.
     *
     * @return a copy with readout {@link Readout#LAST_TIME_STEP}
     */
    public Head lastTimeStep() {
        return new Head(layers, Readout.LAST_TIME_STEP);
    }

    /**
     * This head with the given readout.
     *
     * @param readout how the head reads a recurrent representation
     * @return a copy with {@code readout}
     */
    public Head withReadout(Readout readout) {
        return new Head(layers, readout);
    }

    /**
     * The hidden layers, in order (configurations owned by this head: clone before mutating).
     *
     * @return the hidden layers' configurations (empty for a linear head)
     */
    public List<Layer> layers() {
        return layers;
    }

    /** {@return how this head reads a recurrent representation} */
    public Readout readout() {
        return readout;
    }

    @Override
    public String toString() {
        return "Head{layers=" + layers.size() + ", readout=" + readout + "}";
    }
}
