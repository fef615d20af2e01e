package org.mtl4j.core.testing;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;

import java.util.ArrayList;
import java.util.List;

/**
 * The small networks and minibatches the contract kits train: one per trunk kind a component must support,
 * each with the same three tasks c (classification), r (2 outputs) and s (1 output).
 * Builders come without sharing strategy, combinator or updater, so a kit adds the component under test.
 */
public final class TrunkFixtures {

    /** The trunk kinds every strategy and combinator must train on. */
    public enum Trunk {
        /** Dense 4 -> 6 -> 6 (tanh); c (3 classes, a hidden head), r (2 outputs, one example masked), s. */
        DENSE,
        /** Convolution 3x3 (1 -> 4 channels) on 6x6, batch normalisation, max pooling 2x2; c (3 classes), r, s. */
        CONVOLUTIONAL,
        /** LSTM (3 -> 6) over 5 steps; c (2 classes per step), r (2 outputs) and s at the last step. */
        RECURRENT,
        /** Dense 4 -> 6 -> 6; c (3 classes) reads stage 0, r (2 outputs) and s stage 1. */
        HIERARCHY
    }

    private static final int SIDE = 6;
    private static final int STEPS = 5;

    private TrunkFixtures() {
    }

    /** A builder of {@code trunk}'s network with its tasks, data type and a fixed seed. */
    public static MultiTaskNetwork.Builder builder(Trunk trunk, DataType type) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder().dataType(type).seed(11);
        return switch (trunk) {
            case DENSE -> dense(type, 3);
            case CONVOLUTIONAL -> b.trunk(SharedTrunk.builder(InputType.convolutional(SIDE, SIDE, 1))
                            .stage(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.TANH).build(),
                                    new BatchNormalization.Builder().build(),
                                    new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2)
                                            .stride(2, 2).build())
                            .build())
                    .task(Task.classification("c", 3))
                    .task(Task.regression("r", 2))
                    .task(Task.regression("s"));
            case RECURRENT -> b.trunk(SharedTrunk.builder(InputType.recurrent(3))
                            .layer(new LSTM.Builder().nOut(6).activation(Activation.TANH).build())
                            .build())
                    .task(Task.classification("c", 2))
                    .task(Task.regression("r", 2).withHead(Head.linear().lastTimeStep()))
                    .task(Task.regression("s").withHead(Head.linear().lastTimeStep()));
            case HIERARCHY -> b.trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 6))
                    .task(Task.classification("c", 3).withStage(0))
                    .task(Task.regression("r", 2))
                    .task(Task.regression("s"));
        };
    }

    /** The dense network with its first {@code tasks} tasks (1 to 3) of c, r, s. */
    public static MultiTaskNetwork.Builder dense(DataType type, int tasks) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder().dataType(type).seed(11)
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 6))
                .task(Task.classification("c", 3).withHead(Head.of(new DenseLayer.Builder().nOut(4)
                        .activation(Activation.TANH).build())));
        if (tasks >= 2) {
            b.task(Task.regression("r", 2));
        }
        if (tasks >= 3) {
            b.task(Task.regression("s"));
        }
        return b;
    }

    /** A random minibatch of {@code mb} examples for {@code trunk}'s network. */
    public static MultiDataSet batch(Trunk trunk, DataType type, long seed, int mb) {
        RandomData d = new RandomData(seed, type);
        return switch (trunk) {
            case DENSE -> {
                INDArray rMask = d.mask(ones(mb));
                rMask.putScalar(0, 0, 0.0);
                yield new MultiDataSet(new INDArray[]{d.gaussian(mb, 4)},
                        new INDArray[]{d.oneHot(mb, 3), d.gaussian(mb, 2), d.gaussian(mb, 1)}, null,
                        new INDArray[]{null, rMask, null});
            }
            case CONVOLUTIONAL -> RandomData.dataSet(d.gaussian(mb, 1, SIDE, SIDE),
                    new INDArray[]{d.oneHot(mb, 3), d.gaussian(mb, 2), d.gaussian(mb, 1)}, null);
            case RECURRENT -> RandomData.dataSet(d.gaussian(mb, 3, STEPS),
                    new INDArray[]{d.oneHotSequence(mb, 2, STEPS), d.gaussian(mb, 2), d.gaussian(mb, 1)}, null);
            case HIERARCHY -> RandomData.dataSet(d.gaussian(mb, 4),
                    new INDArray[]{d.oneHot(mb, 3), d.gaussian(mb, 2), d.gaussian(mb, 1)}, null);
        };
    }

    /** {@code n} random minibatches of {@code mb} examples, seeded from {@code seed}. */
    public static List<org.nd4j.linalg.dataset.api.MultiDataSet> batches(Trunk trunk, DataType type, long seed, int n,
                                                                          int mb) {
        List<org.nd4j.linalg.dataset.api.MultiDataSet> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(batch(trunk, type, seed + 31L * i, mb));
        }
        return list;
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }
}
