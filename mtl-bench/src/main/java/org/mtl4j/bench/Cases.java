package org.mtl4j.bench;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mtl4j.core.Head;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.nd4j.linalg.activations.Activation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The standard side-by-side cases, by name, in run order. */
public final class Cases {

    private static final Map<String, BenchCase> ALL = new LinkedHashMap<>();

    static {
        add(new BenchCase("hard-mlp-small", "input 64, dense 256-256 ReLU, heads cls(10) + reg(1), batch 128",
                128, 0, () -> mlp(64, 256), List.of(Task.classification("cls", 10), Task.regression("reg"))));
        add(new BenchCase("hard-mlp-large", "input 512, dense 1024-1024 ReLU, heads cls(10) + reg(1), batch 512",
                512, 0, () -> mlp(512, 1024), List.of(Task.classification("cls", 10), Task.regression("reg"))));
        add(new BenchCase("hard-cnn", "36x36x1, conv5x5/16+pool2, conv5x5/32+pool2, dense 256, heads cls(10) x2,"
                + " batch 128", 128, 0, Cases::cnn,
                List.of(Task.classification("a", 10), Task.classification("b", 10))));
        Head last = Head.linear().lastTimeStep();
        add(new BenchCase("hard-lstm", "recurrent(32) x 20 steps, LSTM(64), last-step heads cls(10) + reg(1), batch 64",
                64, 20, Cases::lstm,
                List.of(Task.classification("cls", 10).withHead(last), Task.regression("reg").withHead(last))));
    }

    private Cases() {
    }

    /** The names of all cases, in run order. */
    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** The case with the given name. */
    public static BenchCase named(String name) {
        BenchCase c = ALL.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown case \"" + name + "\"; valid cases: " + String.join(", ", names()));
        }
        return c;
    }

    /** The cases with the given names, in the given order. */
    public static List<BenchCase> select(List<String> names) {
        List<BenchCase> out = new ArrayList<>();
        for (String n : names) {
            out.add(named(n));
        }
        return out;
    }

    private static void add(BenchCase c) {
        ALL.put(c.name(), c);
    }

    private static SharedTrunk mlp(int in, int width) {
        return SharedTrunk.builder(InputType.feedForward(in))
                .layer(new DenseLayer.Builder().nOut(width).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(width).activation(Activation.RELU).build())
                .build();
    }

    private static SharedTrunk cnn() {
        return SharedTrunk.builder(InputType.convolutional(36, 36, 1))
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(32).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(256).activation(Activation.RELU).build())
                .build();
    }

    private static SharedTrunk lstm() {
        return SharedTrunk.builder(InputType.recurrent(32))
                .layer(new LSTM.Builder().nOut(64).activation(Activation.TANH).build())
                .build();
    }
}
