package org.mtl4j.core;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mtl4j.core.graph.NetworkGraph;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Trunks and heads made of standard DL4J layers, with nIn inferred from the trunk's {@link InputType}: dense,
 * convolutional (convolution, batch normalisation, pooling, dropout, flattened into dense heads) and recurrent
 * (LSTM with per-time-step and last-time-step heads, with and without masks).
 */
class TrunkKindsTest {

    /** The trunk kinds every feature of the foundation must support. */
    enum Kind { DENSE, CONVOLUTIONAL, RECURRENT }

    private static final int SIDE = 8;
    private static final int STEPS = 6;

    // ---------------------------------------------------------------- models and data per kind

    private static MultiTaskNetwork network(Kind kind, DataType type, long seed) {
        MultiTaskNetwork.Builder b = MultiTaskNetwork.builder()
                .updater(new Adam(0.02))
                .dataType(type)
                .seed(seed);
        return switch (kind) {
            case DENSE -> b.trunk(SharedTrunk.builder(InputType.feedForward(6))
                            .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                            .layer(new DenseLayer.Builder().nOut(12).activation(Activation.TANH).build())
                            .build())
                    .task(Task.classification("c", 3).withHead(hidden(8)))
                    .task(Task.regression("r"))
                    .build();
            case CONVOLUTIONAL -> b.trunk(cnnTrunk(new DropoutLayer.Builder(0.9).build()))
                    .task(Task.classification("c", 3).withHead(hidden(8)))
                    .task(Task.regression("r"))
                    .build();
            case RECURRENT -> b.trunk(rnnTrunk())
                    .task(Task.classification("tag", 2).withHead(hidden(8)))
                    .task(Task.regression("last").withHead(Head.linear().lastTimeStep()))
                    .task(Task.classification("sign", 2).withHead(hidden(6).lastTimeStep()))
                    .build();
        };
    }

    private static Head hidden(int width) {
        return Head.of(new DenseLayer.Builder().nOut(width).activation(Activation.TANH).build());
    }

    /** conv 3x3 (1 -> 4) on 8x8 -> 6x6, batch norm, max pool 2x2 -> 3x3, then {@code extra}: 4*3*3 = 36 features. */
    private static SharedTrunk cnnTrunk(org.deeplearning4j.nn.conf.layers.Layer extra) {
        return SharedTrunk.builder(InputType.convolutional(SIDE, SIDE, 1))
                .stage(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build(),
                        new BatchNormalization.Builder().build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(extra)
                .build();
    }

    private static SharedTrunk rnnTrunk() {
        return SharedTrunk.builder(InputType.recurrent(3))
                .layer(new LSTM.Builder().nOut(10).activation(Activation.TANH).build())
                .build();
    }

    /**
     * A learnable problem for each kind, seeded.
     * DENSE: c = argmax(x0, x1, x2), r = x3 - x4/2 + x5/4.
     * CONVOLUTIONAL: class k puts a bright 2-column stripe at columns 3k..3k+1; r is a brightness offset added to all
     * pixels. RECURRENT: tag at t = [x0_t > 0], last = x1 at the last step, sign = [x2 at the last two steps > 0].
     */
    private static MultiDataSet data(Kind kind, int mb, RandomData random) {
        return switch (kind) {
            case DENSE -> {
                INDArray x = random.gaussian(mb, 6);
                INDArray c = Nd4j.create(x.dataType(), mb, 3);
                INDArray r = Nd4j.create(x.dataType(), mb, 1);
                for (int i = 0; i < mb; i++) {
                    int best = 0;
                    for (int k = 1; k < 3; k++) {
                        best = x.getDouble(i, k) > x.getDouble(i, best) ? k : best;
                    }
                    c.putScalar(i, best, 1.0);
                    r.putScalar(i, 0, x.getDouble(i, 3) - x.getDouble(i, 4) / 2 + x.getDouble(i, 5) / 4);
                }
                yield RandomData.dataSet(x, new INDArray[]{c, r}, null);
            }
            case CONVOLUTIONAL -> {
                INDArray x = random.gaussian(mb, 1, SIDE, SIDE).muli(0.3);
                INDArray c = Nd4j.create(x.dataType(), mb, 3);
                INDArray r = Nd4j.create(x.dataType(), mb, 1);
                for (int i = 0; i < mb; i++) {
                    int k = random.random().nextInt(3);
                    double offset = random.random().nextDouble() * 2 - 1;
                    c.putScalar(i, k, 1.0);
                    r.putScalar(i, 0, offset);
                    x.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(),
                            NDArrayIndex.interval(3 * k, 3 * k + 2)).addi(1.5);
                    x.get(NDArrayIndex.point(i)).addi(offset);
                }
                yield RandomData.dataSet(x, new INDArray[]{c, r}, null);
            }
            case RECURRENT -> {
                INDArray x = random.gaussian(mb, 3, STEPS);
                INDArray[] labels = rnnLabels(x, null);
                yield RandomData.dataSet(x, labels, null);
            }
        };
    }

    /** The recurrent problem's labels; {@code lengths} (null: all full) gives each sequence's real length. */
    private static INDArray[] rnnLabels(INDArray x, int[] lengths) {
        int mb = (int) x.size(0);
        int steps = (int) x.size(2);
        INDArray tag = Nd4j.create(x.dataType(), mb, 2, steps);
        INDArray last = Nd4j.create(x.dataType(), mb, 1);
        INDArray sign = Nd4j.create(x.dataType(), mb, 2);
        for (int i = 0; i < mb; i++) {
            int len = lengths == null ? steps : lengths[i];
            for (int t = 0; t < steps; t++) {
                tag.putScalar(new long[]{i, x.getDouble(i, 0, t) > 0 ? 1 : 0, t}, 1.0);
            }
            last.putScalar(i, 0, x.getDouble(i, 1, len - 1));
            double s = x.getDouble(i, 2, len - 1) + (len > 1 ? x.getDouble(i, 2, len - 2) : 0);
            sign.putScalar(i, s > 0 ? 1 : 0, 1.0);
        }
        return new INDArray[]{tag, last, sign};
    }

    // ---------------------------------------------------------------- (a) output shapes

    @ParameterizedTest
    @EnumSource(Kind.class)
    void outputsHaveTheTasksShapesAndClassProbabilitiesSumToOne(Kind kind) {
        MultiTaskNetwork net = network(kind, DataType.FLOAT, 11);
        MultiDataSet batch = data(kind, 5, new RandomData(1, DataType.FLOAT));
        Map<String, INDArray> out = net.output(batch.getFeatures(0));
        assertEquals(net.taskNames(), List.copyOf(out.keySet()));
        switch (kind) {
            case DENSE, CONVOLUTIONAL -> {
                assertArrayEquals(new long[]{5, 3}, out.get("c").shape());
                assertArrayEquals(new long[]{5, 1}, out.get("r").shape());
                assertSumsToOne(out.get("c"), 1);
                assertArrayEquals(new boolean[]{false, false}, net.sequenceOutputs());
            }
            case RECURRENT -> {
                assertArrayEquals(new long[]{5, 2, STEPS}, out.get("tag").shape());
                assertArrayEquals(new long[]{5, 1}, out.get("last").shape());
                assertArrayEquals(new long[]{5, 2}, out.get("sign").shape());
                assertArrayEquals(new boolean[]{true, false, false}, net.sequenceOutputs());
                assertSumsToOne(out.get("sign"), 1);
                assertSumsToOne(out.get("tag"), 1);
            }
        }
    }

    /** Every slice of {@code p} along {@code dim} is a probability vector: non-negative, summing to 1. */
    private static void assertSumsToOne(INDArray p, int dim) {
        assertTrue(p.minNumber().doubleValue() >= 0, "negative probability in " + p);
        INDArray sums = p.sum(dim);
        double worst = sums.sub(1.0).amaxNumber().doubleValue();
        assertTrue(worst < 1e-5, "probabilities do not sum to 1 over dimension " + dim + " of shape "
                + Arrays.toString(p.shape()) + ": sums " + sums);
    }

    // ---------------------------------------------------------------- (b) training lowers every task's loss

    @ParameterizedTest
    @EnumSource(Kind.class)
    void trainingLowersEveryTasksLossByAClearMargin(Kind kind) {
        // 100 steps on fresh seeded batches of 32; losses measured on a held-out batch (so it learns the rule)
        Nd4j.getRandom().setSeed(5);
        MultiTaskNetwork net = network(kind, DataType.FLOAT, 3);
        RandomData random = new RandomData(21, DataType.FLOAT);
        MultiDataSet heldOut = data(kind, 64, random);
        double[] before = net.losses(heldOut).losses();
        for (int step = 0; step < 100; step++) {
            net.fit(data(kind, 32, random));
        }
        double[] after = net.losses(heldOut).losses();
        assertEquals(100, net.iterationCount());
        for (int t = 0; t < before.length; t++) {
            String name = net.taskNames().get(t);
            assertTrue(Double.isFinite(before[t]) && before[t] > 0, kind + " " + name + ": initial loss " + before[t]);
            assertTrue(after[t] < 0.5 * before[t], kind + " task " + name + ": loss went from " + before[t] + " to "
                    + after[t] + ", not below half");
        }
    }

    // ---------------------------------------------------------------- (c) masked variable-length sequences

    /** Lengths 6, 4, 3 and 1 over 6 steps. */
    private static final int[] LENGTHS = {6, 4, 3, 1};

    private static INDArray lengthMask(DataType type) {
        INDArray mask = Nd4j.create(type, LENGTHS.length, STEPS);
        for (int i = 0; i < LENGTHS.length; i++) {
            mask.get(NDArrayIndex.point(i), NDArrayIndex.interval(0, LENGTHS[i])).assign(1.0);
        }
        return mask;
    }

    /** {@code x} with every masked step overwritten by large values. */
    private static INDArray scrambleMaskedSteps(INDArray x, INDArray mask, RandomData random) {
        INDArray noise = random.gaussian(x.shape()).muli(50);
        INDArray keep = mask.reshape(mask.size(0), 1, mask.size(1)).broadcast(x.shape());
        return x.mul(keep).addi(noise.muli(keep.rsub(1.0)));
    }

    private static double[] flat(INDArray a) {
        return Nd4j.toFlattened(a).toDoubleVector();
    }

    @Test
    void lastTimeStepHeadsReadTheLastUnmaskedStep() {
        MultiTaskNetwork net = network(Kind.RECURRENT, DataType.DOUBLE, 9);
        RandomData random = new RandomData(4, DataType.DOUBLE);
        INDArray x = random.gaussian(LENGTHS.length, 3, STEPS);
        INDArray mask = lengthMask(DataType.DOUBLE);
        Map<String, INDArray> masked = net.output(x, mask);

        // each example equals the same sequence cut to its real length, without a mask
        for (int i = 0; i < LENGTHS.length; i++) {
            INDArray cut = x.get(NDArrayIndex.interval(i, i + 1), NDArrayIndex.all(), NDArrayIndex.interval(0, LENGTHS[i]))
                    .dup();
            Map<String, INDArray> alone = net.output(cut);
            for (String task : List.of("last", "sign")) {
                assertArrayEquals(flat(alone.get(task)), flat(masked.get(task).getRow(i)), 1e-10,
                        task + " of example " + i + " (length " + LENGTHS[i] + ")");
            }
        }
        // the last-step heads do not see features after the last real step
        Map<String, INDArray> scrambled = net.output(scrambleMaskedSteps(x, mask, random), mask);
        assertArrayEquals(flat(masked.get("last")), flat(scrambled.get("last")), 0.0);
        assertArrayEquals(flat(masked.get("sign")), flat(scrambled.get("sign")), 0.0);
        // sanity: without the mask the scrambled steps do change the last step (so the check above could fail)
        Map<String, INDArray> unmasked = net.output(scrambleMaskedSteps(x, mask, random));
        assertTrue(unmasked.get("last").sub(masked.get("last")).amaxNumber().doubleValue() > 1e-3);
    }

    @Test
    void perTimeStepHeadsEqualEachSequenceAloneAtItsRealSteps() {
        // DL4J's TimeDistributed flattened the features mask in another order than the activations, so a masked
        // batch zeroed real steps of per-step heads and kept padded ones (PerTimeStep fixes the order); and the
        // one-step sequence alone (example 3) came back unactivated (MultiTaskNetwork.activate copies now)
        MultiTaskNetwork net = network(Kind.RECURRENT, DataType.DOUBLE, 9);
        RandomData random = new RandomData(5, DataType.DOUBLE);
        INDArray x = random.gaussian(LENGTHS.length, 3, STEPS);
        INDArray mask = lengthMask(DataType.DOUBLE);
        INDArray masked = net.output(x, mask).get("tag");
        INDArray raw = net.graph().output(false, new INDArray[]{x}, new INDArray[]{mask})[0];

        for (int i = 0; i < LENGTHS.length; i++) {
            INDArray cut = x.get(NDArrayIndex.interval(i, i + 1), NDArrayIndex.all(), NDArrayIndex.interval(0, LENGTHS[i]))
                    .dup();
            INDArray alone = net.output(cut).get("tag");
            INDArray real = masked.get(NDArrayIndex.interval(i, i + 1), NDArrayIndex.all(),
                    NDArrayIndex.interval(0, LENGTHS[i]));
            assertArrayEquals(flat(alone), flat(real), 1e-10, "tag of example " + i + " (length " + LENGTHS[i] + ")");
            if (LENGTHS[i] < STEPS) {
                INDArray padded = raw.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.interval(LENGTHS[i], STEPS));
                assertEquals(0.0, padded.amaxNumber().doubleValue(), 0.0, "padded steps of example " + i + " are masked");
            }
        }
    }

    @Test
    void maskedTimeStepsContributeNeitherLossNorGradient() {
        MultiTaskNetwork net = network(Kind.RECURRENT, DataType.DOUBLE, 13);
        RandomData random = new RandomData(6, DataType.DOUBLE);
        INDArray x = random.gaussian(LENGTHS.length, 3, STEPS);
        INDArray mask = lengthMask(DataType.DOUBLE);
        INDArray[] labels = rnnLabels(x, LENGTHS);
        MultiDataSet batch = new MultiDataSet(new INDArray[]{x}, labels, new INDArray[]{mask},
                new INDArray[]{mask, null, null});

        // other labels at the masked steps: class 1 everywhere, and NaN
        INDArray[] changed = labels.clone();
        INDArray keep = mask.reshape(mask.size(0), 1, mask.size(1)).broadcast(labels[0].shape());
        changed[0] = labels[0].mul(keep).addi(keep.rsub(1.0).muli(Nd4j.create(new double[]{0, 1}, new long[]{1, 2, 1},
                DataType.DOUBLE).broadcast(labels[0].shape())));
        INDArray[] nan = labels.clone();
        nan[0] = labels[0].dup();
        nan[0].get(NDArrayIndex.point(3), NDArrayIndex.all(), NDArrayIndex.interval(1, STEPS)).assign(Double.NaN);
        MultiDataSet other = new MultiDataSet(new INDArray[]{x}, changed, new INDArray[]{mask},
                new INDArray[]{mask, null, null});
        MultiDataSet withNaN = new MultiDataSet(new INDArray[]{x}, nan, new INDArray[]{mask},
                new INDArray[]{mask, null, null});
        assertTrue(changed[0].sub(labels[0]).amaxNumber().doubleValue() > 0, "the test must change some labels");

        TaskLosses losses = net.losses(batch);
        INDArray gradient = net.gradient(batch).gradient();
        for (MultiDataSet alternative : List.of(other, withNaN)) {
            assertArrayEquals(losses.losses(), net.losses(alternative).losses(), 0.0);
            assertArrayEquals(gradient.toDoubleVector(), net.gradient(alternative).gradient().toDoubleVector(), 0.0);
        }

        // by hand: per-step cross-entropy (softmax over the 2 classes of the raw projection) summed over each
        // example's real steps, mean over the 4 examples
        INDArray z = net.graph().output(false, new INDArray[]{x}, new INDArray[]{mask})[0];
        double sum = 0;
        for (int i = 0; i < LENGTHS.length; i++) {
            for (int t = 0; t < LENGTHS[i]; t++) {
                int y = labels[0].getDouble(i, 1, t) == 1.0 ? 1 : 0;
                double z0 = z.getDouble(i, 0, t);
                double z1 = z.getDouble(i, 1, t);
                sum -= (y == 1 ? z1 : z0) - Math.log(Math.exp(z0) + Math.exp(z1));
            }
        }
        assertEquals(sum / LENGTHS.length, losses.loss(0), 1e-9);
        assertEquals(LENGTHS.length, losses.labelled()[0]);
    }

    // ---------------------------------------------------------------- (d) structure and parameter counts

    @Test
    void convolutionalTrunkFlattensIntoDenseHeadsWithHandCountedParameters() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(cnnTrunk(new DenseLayer.Builder().nOut(10).activation(Activation.RELU).dropOut(0.8).build()))
                .task(Task.classification("c", 3).withHead(Head.of(
                        new DenseLayer.Builder().nOut(8).activation(Activation.TANH).build(),
                        new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())))
                .task(Task.regression("r", 2))
                .seed(1)
                .build();
        long conv = 4 * 3 * 3 * 1 + 4;        // 3x3 kernels, 1 -> 4 channels, 4 biases
        long norm = 4 * 4;                    // gamma, beta, running mean and variance per channel
        long dense = 4 * 3 * 3 * 10 + 10;     // 36 flattened features -> 10
        long hidden1 = 10 * 8 + 8;
        long hidden2 = 8 * 5 + 5;
        long projectionC = 5 * 3 + 3;
        long projectionR = 10 * 2 + 2;
        assertEquals(40, conv);
        assertEquals(conv, net.graph().getLayer("trunk_0_0").numParams());
        assertEquals(norm, net.graph().getLayer("trunk_0_1").numParams());
        assertEquals(0, net.graph().getLayer("trunk_0_2").numParams());
        assertEquals(dense, net.graph().getLayer("trunk_1_0").numParams());
        assertEquals(hidden1, net.graph().getLayer("head_c_0").numParams());
        assertEquals(hidden2, net.graph().getLayer("head_c_1").numParams());
        assertEquals(projectionC, net.graph().getLayer(NetworkGraph.outputName("c")).numParams());
        assertEquals(projectionR, net.graph().getLayer(NetworkGraph.outputName("r")).numParams());
        assertEquals(conv + norm + dense + hidden1 + hidden2 + projectionC + projectionR, net.params().length());

        GraphVertex flatten = net.graph().getConfiguration().getVertices().get("trunk_1_0");
        assertInstanceOf(CnnToFeedForwardPreProcessor.class, ((LayerVertex) flatten).getPreProcessor());
        Map<String, INDArray> out = net.output(new RandomData(2, DataType.FLOAT).gaussian(3, 1, SIDE, SIDE));
        assertArrayEquals(new long[]{3, 3}, out.get("c").shape());
        assertArrayEquals(new long[]{3, 2}, out.get("r").shape());
    }

    @Test
    void convolutionalRepresentationFlattensIntoHiddenHeadLayer() {
        MultiTaskNetwork net = network(Kind.CONVOLUTIONAL, DataType.FLOAT, 1);
        long features = 4 * 3 * 3;
        assertEquals(features * 8 + 8, net.graph().getLayer("head_c_0").numParams());
        assertEquals(8 * 3 + 3, net.graph().getLayer(NetworkGraph.outputName("c")).numParams());
        assertEquals(features + 1, net.graph().getLayer(NetworkGraph.outputName("r")).numParams());
        assertEquals(40 + 16 + features * 8 + 8 + 8 * 3 + 3 + features + 1, net.params().length());
        for (String head : List.of("head_c_0", NetworkGraph.outputName("r"))) {
            assertInstanceOf(CnnToFeedForwardPreProcessor.class,
                    ((LayerVertex) net.graph().getConfiguration().getVertices().get(head)).getPreProcessor(), head);
        }
    }

    @Test
    void recurrentHeadsHaveHandCountedParameters() {
        MultiTaskNetwork net = network(Kind.RECURRENT, DataType.FLOAT, 1);
        long lstm = 4L * 10 * (3 + 10) + 4 * 10;  // input and recurrent weights of 4 gates, 4 biases per unit
        long tagHidden = 10 * 8 + 8;              // applied at every time step
        long tagOut = 8 * 2 + 2;
        long last = 10 + 1;
        long signHidden = 10 * 6 + 6;
        long signOut = 6 * 2 + 2;
        assertEquals(lstm, net.graph().getLayer("trunk_0_0").numParams());
        assertEquals(tagHidden, net.graph().getLayer("head_tag_0").numParams());
        assertEquals(signHidden, net.graph().getLayer("head_sign_0").numParams());
        assertEquals(lstm + tagHidden + tagOut + last + signHidden + signOut, net.params().length());
    }
}
