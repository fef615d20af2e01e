package org.mtl4j.core;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.graph.NetworkGraph;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input fails fast, before any parameter, updater state or count changes, with a message that names the task,
 * the array and the shapes; bad configurations fail at build time.
 */
class BadInputTest {

    private static final int MB = 5;

    private MultiTaskNetwork net;
    private RandomData random;

    /** Trunk 6 -> 8 (tanh); task "digit" (3 classes) reads labels[0], task "age" (1 target) reads labels[1]. */
    private static MultiTaskNetwork network(LossCombinator combinator) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.classification("digit", 3))
                .task(Task.regression("age"))
                .losses(combinator)
                .updater(new Adam(0.01))
                .seed(1)
                .build();
    }

    @BeforeEach
    void setUp() {
        net = network(FixedWeights.equal());
        random = new RandomData(17, DataType.FLOAT);
    }

    private INDArray features() {
        return random.gaussian(MB, 6);
    }

    private INDArray digits() {
        return random.oneHot(MB, 3);
    }

    private INDArray ages() {
        return random.gaussian(MB, 1);
    }

    private MultiDataSet good() {
        return RandomData.dataSet(features(), new INDArray[]{digits(), ages()}, null);
    }

    /**
     * Runs {@code call} through {@code fit}-like entry points and checks that it throws {@code type} and leaves the
     * parameters, the updater state and the iteration count exactly as they were; returns the message.
     */
    private <T extends Throwable> String rejectedUntouched(Class<T> type, Executable call) {
        double[] params = flat(net.params());
        INDArray state = net.graph().getUpdater().getStateViewArray();
        double[] updater = state == null ? null : flat(state);
        int iterations = net.iterationCount();
        T e = assertThrows(type, call);
        assertArrayEquals(params, flat(net.params()), 0.0, "parameters changed");
        if (updater != null) {
            assertArrayEquals(updater, flat(net.graph().getUpdater().getStateViewArray()), 0.0, "updater state changed");
        }
        assertEquals(iterations, net.iterationCount(), "iteration count changed");
        return e.getMessage();
    }

    /** A bad minibatch is rejected by fit, gradient and losses alike, with the same message, touching nothing. */
    private String rejectsBatch(MultiDataSet bad) {
        if (net.iterationCount() == 0) {
            net.fit(good()); // the updater has state to protect
        }
        String message = rejectedUntouched(IllegalArgumentException.class, () -> net.fit(bad));
        assertEquals(message, rejectedUntouched(IllegalArgumentException.class, () -> net.gradient(bad)));
        assertEquals(message, rejectedUntouched(IllegalArgumentException.class, () -> net.losses(bad)));
        return message;
    }

    private static double[] flat(INDArray a) {
        return Nd4j.toFlattened(a).toDoubleVector();
    }

    // ---------------------------------------------------------------- labels arrays

    @Test
    void wrongNumberOfLabelsArraysIsRejected() {
        assertEquals("the network has 2 tasks [digit, age] reading labels[0..1], but the MultiDataSet has 1 labels arrays",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits()}, null)));
        assertEquals("the network has 2 tasks [digit, age] reading labels[0..1], but the MultiDataSet has 3 labels arrays",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), ages(), ages()}, null)));
    }

    @Test
    void labelsOfTheWrongWidthAreRejected() {
        assertEquals("task \"age\": labels[1] has 3 columns, but its head outputs 1",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), random.gaussian(MB, 3)}, null)));
        assertEquals("task \"digit\": labels[0] has 4 columns, but its head outputs 3",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{random.oneHot(MB, 4), ages()}, null)));
    }

    @Test
    void labelsWithTheWrongNumberOfExamplesAreRejected() {
        assertEquals("task \"age\": labels[1] has 4 examples, but features[0] has 5",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), random.gaussian(4, 1)}, null)));
    }

    @Test
    void labelsMaskWithTheWrongNumberOfExamplesIsRejected() {
        assertEquals("task \"age\": labels mask[1] has 4 examples, but features[0] has 5",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), ages()},
                        new INDArray[]{null, random.mask(1, 1, 0, 1)})));
    }

    // ---------------------------------------------------------------- features

    @Test
    void featuresThatDoNotFitTheTrunkAreRejected() {
        String expected = "features[0] has shape [5, 5], but the trunk reads " + InputType.feedForward(6)
                + ", i.e. [-1, 6] (-1: any)";
        INDArray five = random.gaussian(MB, 5);
        assertEquals(expected, rejectsBatch(RandomData.dataSet(five, new INDArray[]{digits(), ages()}, null)));
        assertEquals(expected, rejectedUntouched(IllegalArgumentException.class, () -> net.output(five)));
        assertTrue(rejectedUntouched(IllegalArgumentException.class, () -> net.output(random.gaussian(MB, 6, 2)))
                .startsWith("features[0] has shape [5, 6, 2], but the trunk reads"));
    }

    @Test
    void nonFiniteFeaturesAreRejectedWithTheFirstBadExample() {
        INDArray x = features();
        x.putScalar(2, 4, Double.NaN);
        x.putScalar(4, 0, Double.POSITIVE_INFINITY);
        assertEquals("features[0] has NaN or infinite values (first at example 2)",
                rejectsBatch(RandomData.dataSet(x, new INDArray[]{digits(), ages()}, null)));
        INDArray y = features();
        y.putScalar(3, 1, Double.NEGATIVE_INFINITY);
        assertEquals("features[0] has NaN or infinite values (first at example 3)",
                rejectedUntouched(IllegalArgumentException.class, () -> net.output(y)));
    }

    // ---------------------------------------------------------------- NaN labels and masks

    @Test
    void nanLabelsThatTheMaskDoesNotExcludeAreRejected() {
        INDArray age = ages();
        age.putScalar(3, 0, Double.NaN);
        String expected = "task \"age\": labels[1] has NaN or infinite values at example 3 that its labels mask does not"
                + " exclude";
        assertEquals(expected, rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), age}, null)));
        // a mask that removes other examples, not example 3
        assertEquals(expected, rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), age},
                new INDArray[]{null, random.mask(0, 1, 0, 1, 1)})));
        INDArray digit = digits();
        digit.putScalar(1, 2, Double.POSITIVE_INFINITY);
        assertEquals("task \"digit\": labels[0] has NaN or infinite values at example 1 that its labels mask does not"
                + " exclude", rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digit, ages()}, null)));
    }

    @Test
    void nanLabelsWhereTheMaskIsZeroAreAcceptedAndTrain() {
        INDArray x = features();
        INDArray digit = digits();
        INDArray age = ages();
        age.putScalar(1, 0, Double.NaN);
        age.putScalar(3, 0, Double.NaN);
        MultiDataSet batch = RandomData.dataSet(x, new INDArray[]{digit, age},
                new INDArray[]{null, random.mask(1, 0, 1, 0, 1)});

        // the age loss is the mean over the labelled examples 0, 2 and 4, exactly as on those examples alone
        MultiDataSet labelledOnly = RandomData.dataSet(x.getRows(0, 2, 4), new INDArray[]{digit.getRows(0, 2, 4),
                age.getRows(0, 2, 4)}, null);
        TaskLosses losses = net.losses(batch);
        assertEquals(3, losses.labelled()[1]);
        assertEquals(MB, losses.labelled()[0]);
        assertEquals(net.losses(labelledOnly).loss(1), losses.loss(1), 1e-6);
        assertTrue(Double.isFinite(losses.loss(1)) && losses.loss(1) > 0);

        double[] before = flat(net.params());
        StepResult result = net.fit(batch);
        assertTrue(Double.isFinite(result.totalLoss()), "total loss " + result.totalLoss());
        assertEquals(1, net.iterationCount());
        double[] after = flat(net.params());
        for (double p : after) {
            assertTrue(Double.isFinite(p), "a parameter became " + p);
        }
        assertFalse(Arrays.equals(before, after), "fit changed no parameter");
        assertTrue(Double.isFinite(net.losses(batch).loss(1)));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.5, 2.0, -1.0, Double.NaN})
    void labelsMaskValuesOtherThanZeroAndOneAreRejected(double value) {
        INDArray mask = random.mask(1, 1, 1, 0, 1);
        mask.putScalar(1, 0, value);
        assertEquals("task \"age\": labels mask[1] must hold only 0 (no label) and 1 (labelled); to weight a task, use"
                        + " the loss combinator, not the mask",
                rejectsBatch(RandomData.dataSet(features(), new INDArray[]{digits(), ages()}, new INDArray[]{null, mask})));
    }

    // ---------------------------------------------------------------- classification labels

    private static final String SOFTMAX_RULE = "a softmax task's labels must be a distribution over its classes on"
            + " every labelled example: values in [0, 1] summing to 1 (within 0.001), e.g. one-hot; write \"no label\""
            + " as a 0 in the labels mask";

    /** As {@link #rejectsBatch}, and the parameters and updater state are the same bits afterwards. */
    private String refusedBitForBit(MultiDataSet bad) {
        if (net.iterationCount() == 0) {
            net.fit(good());
        }
        INDArray params = net.params().dup();
        INDArray state = net.graph().getUpdater().getStateViewArray().dup();
        String message = rejectsBatch(bad);
        Exact.assertSameValues(params, net.params(), "parameters");
        Exact.assertSameValues(state, net.graph().getUpdater().getStateViewArray(), "updater state");
        return message;
    }

    /** One-hot digits with example 2's row replaced by {@code row}. */
    private INDArray digitsWithRow2(double... row) {
        INDArray digit = digits();
        digit.putRow(2, Nd4j.create(row, new long[]{1, 3}, DataType.FLOAT));
        return digit;
    }

    private MultiDataSet withDigits(INDArray digit, INDArray digitMask) {
        return RandomData.dataSet(features(), new INDArray[]{digit, ages()},
                digitMask == null ? null : new INDArray[]{digitMask, null});
    }

    @Test
    void softmaxLabelsThatAreNotADistributionAreRefusedNamingTheExampleAndValue() {
        assertEquals("task \"digit\": labels[0] sums to 0.0 at example 2 ([0.0, 0.0, 0.0]); " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(0, 0, 0), null)));
        assertEquals("task \"digit\": labels[0] holds 2.0 at example 2, class 1; " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(0, 2, 0), null)));
        assertEquals("task \"digit\": labels[0] holds -1.0 at example 2, class 1; " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(1, -1, 1), null)));
        assertEquals("task \"digit\": labels[0] sums to 2.0 at example 2 ([1.0, 0.0, 1.0]); " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(1, 0, 1), null)));
        assertEquals("task \"digit\": labels[0] sums to 0.875 at example 2 ([0.5, 0.25, 0.125]); " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(0.5, 0.25, 0.125), null)));
        // a mask that removes other examples does not excuse example 2
        assertEquals("task \"digit\": labels[0] sums to 0.0 at example 2 ([0.0, 0.0, 0.0]); " + SOFTMAX_RULE,
                refusedBitForBit(withDigits(digitsWithRow2(0, 0, 0), random.mask(0, 1, 1, 0, 1))));
    }

    @Test
    void badSoftmaxRowsWhereTheMaskIsZeroAreAcceptedAndTrain() {
        net.fit(good());
        INDArray mask = random.mask(1, 1, 0, 1, 1);
        for (INDArray digit : new INDArray[]{digitsWithRow2(0, 0, 0), digitsWithRow2(0, 2, 0),
                digitsWithRow2(1, -1, 1), digitsWithRow2(Double.NaN, 0, 0)}) {
            int iterations = net.iterationCount();
            StepResult result = net.fit(withDigits(digit, mask));
            assertTrue(Double.isFinite(result.totalLoss()), "total loss " + result.totalLoss());
            assertEquals(4, result.losses().labelled()[0]);
            assertEquals(iterations + 1, net.iterationCount());
        }
    }

    @Test
    void labelSmoothedSoftmaxRowsAreAccepted() {
        // label smoothing 0.1 over 3 classes: 0.9 * one-hot + 0.1 / 3, summing to 1 up to float rounding
        INDArray smoothed = digits().muli(0.9).addi(0.1 / 3);
        StepResult result = net.fit(withDigits(smoothed, null));
        assertTrue(Double.isFinite(result.totalLoss()));
        assertEquals(1, net.iterationCount());
        assertTrue(Double.isFinite(net.fit(withDigits(digitsWithRow2(0.25, 0.5, 0.25), null)).totalLoss()));
    }

    @Test
    void binaryCrossEntropyLabelsOutsideZeroToOneAreRefusedAndSoftTargetsAccepted() {
        net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.multiLabel("tags", 3))
                .task(Task.regression("age"))
                .updater(new Adam(0.01))
                .seed(1)
                .build();
        INDArray tags = random.oneHot(MB, 3);
        tags.putScalar(1, 2, 0.3);
        StepResult result = net.fit(RandomData.dataSet(features(), new INDArray[]{tags, ages()}, null));
        assertTrue(Double.isFinite(result.totalLoss()));
        INDArray bad = tags.dup();
        bad.putScalar(1, 2, 1.5);
        assertEquals("task \"tags\": labels[0] holds 1.5 at example 1, class 2; a binary cross-entropy task's labels"
                        + " must lie in [0, 1]",
                refusedBitForBit(RandomData.dataSet(features(), new INDArray[]{bad, ages()}, null)));
        // regression labels stay unchecked beyond NaN
        assertTrue(Double.isFinite(net.fit(RandomData.dataSet(features(), new INDArray[]{tags,
                ages().addi(5)}, null)).totalLoss()));
    }

    @Test
    void perTimeStepSoftmaxLabelsAreCheckedPerLabelledStep() {
        net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3)).layer(new LSTM.Builder().nOut(4).build()).build())
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .updater(new Adam(0.01))
                .seed(2)
                .build();
        INDArray x = random.gaussian(MB, 3, 5);
        INDArray total = random.gaussian(MB, 1);
        net.fit(RandomData.dataSet(x, new INDArray[]{random.oneHotSequence(MB, 2, 5), total}, null));
        INDArray tag = random.oneHotSequence(MB, 2, 5);
        tag.putScalar(new long[]{3, 0, 4}, 0.0);
        tag.putScalar(new long[]{3, 1, 4}, 0.0);
        assertEquals("task \"tag\": labels[0] sums to 0.0 at example 3, time step 4 ([0.0, 0.0]); a softmax task's"
                        + " labels must be a distribution over its classes on every labelled step: values in [0, 1]"
                        + " summing to 1 (within 0.001), e.g. one-hot; write \"no label\" as a 0 in the labels mask",
                refusedBitForBit(RandomData.dataSet(x, new INDArray[]{tag, total}, null)));
        // the same step under a 0 in the [mb, time] labels mask (padding) trains
        INDArray mask = Nd4j.ones(DataType.FLOAT, MB, 5);
        mask.putScalar(3, 4, 0.0);
        int iterations = net.iterationCount();
        StepResult result = net.fit(new MultiDataSet(new INDArray[]{x}, new INDArray[]{tag, total}, null,
                new INDArray[]{mask, null}));
        assertTrue(Double.isFinite(result.totalLoss()));
        assertEquals(iterations + 1, net.iterationCount());
    }

    // ---------------------------------------------------------------- per-time-step labels

    @Test
    void perTimeStepLabelsOfTheWrongShapeAreRejected() {
        net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3)).layer(new LSTM.Builder().nOut(4).build()).build())
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .seed(2)
                .build();
        INDArray x = random.gaussian(MB, 3, 5);
        INDArray total = random.gaussian(MB, 1);
        net.fit(RandomData.dataSet(x, new INDArray[]{random.oneHotSequence(MB, 2, 5), total}, null));
        assertEquals("task \"tag\": labels[0] has 4 time steps, but features[0] has 5", rejectedUntouched(
                IllegalArgumentException.class, () -> net.fit(RandomData.dataSet(x,
                        new INDArray[]{random.oneHotSequence(MB, 2, 4), total}, null))));
        assertEquals("task \"tag\": labels[0] has shape [5, 2], but the task predicts per time step: [mb, 2, time]",
                rejectedUntouched(IllegalArgumentException.class, () -> net.fit(RandomData.dataSet(x,
                        new INDArray[]{random.oneHot(MB, 2), total}, null))));
        assertEquals("task \"total\": labels[1] has shape [5, 1, 5], but the task predicts one output per example:"
                + " [mb, 1]", rejectedUntouched(IllegalArgumentException.class, () -> net.fit(RandomData.dataSet(x,
                new INDArray[]{random.oneHotSequence(MB, 2, 5), random.gaussian(MB, 1, 5)}, null))));
    }

    @Test
    void featuresMaskOfTheWrongShapeOrValuesIsRejected() {
        net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3)).layer(new LSTM.Builder().nOut(4).build()).build())
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .seed(2)
                .build();
        INDArray x = random.gaussian(MB, 3, 5);
        INDArray[] labels = {random.oneHotSequence(MB, 2, 5), random.gaussian(MB, 1)};
        net.fit(new MultiDataSet(new INDArray[]{x}, labels, new INDArray[]{Nd4j.ones(DataType.FLOAT, MB, 5)}, null));
        INDArray shortMask = Nd4j.ones(DataType.FLOAT, MB, 4);
        String expected = "features mask [0] has shape [5, 4], but features[0] of shape [5, 3, 5] take [mb, time] = [5, 5]";
        assertEquals(expected, rejectedUntouched(IllegalArgumentException.class, () -> net.fit(
                new MultiDataSet(new INDArray[]{x}, labels, new INDArray[]{shortMask}, null))));
        assertEquals(expected, rejectedUntouched(IllegalArgumentException.class, () -> net.output(x, shortMask)));
        assertEquals("features mask [0] has shape [5, 5, 1], but features[0] of shape [5, 3, 5] take [mb, time] = [5, 5]",
                rejectedUntouched(IllegalArgumentException.class, () -> net.output(x, Nd4j.ones(DataType.FLOAT, MB, 5, 1))));
        INDArray half = Nd4j.ones(DataType.FLOAT, MB, 5);
        half.putScalar(2, 3, 0.5);
        assertEquals("features mask [0] must hold only 0 (padding) and 1 (a real step)", rejectedUntouched(
                IllegalArgumentException.class, () -> net.fit(
                        new MultiDataSet(new INDArray[]{x}, labels, new INDArray[]{half}, null))));
    }

    // ---------------------------------------------------------------- configuration, at build time

    @Test
    void duplicateTaskNamesAreRejectedAtBuild() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.classification("digit", 3))
                .task(Task.regression("age"))
                .task(Task.regression("age", 2))
                .build());
        assertEquals("task name \"age\" is used twice (tasks 1 and 2); task names must be unique", e.getMessage());
    }

    @Test
    void badTaskNamesAreRejected() {
        assertEquals("a task needs a non-empty name",
                assertThrows(IllegalArgumentException.class, () -> Task.regression("")).getMessage());
        assertEquals("a task needs a non-empty name",
                assertThrows(IllegalArgumentException.class, () -> Task.classification(null, 2)).getMessage());
        assertEquals("task \"my age\": a name may hold letters, digits, '.', '_' and '-' and must start with a letter"
                + " or digit", assertThrows(IllegalArgumentException.class, () -> Task.regression("my age")).getMessage());
        assertEquals("task \"-age\": a name may hold letters, digits, '.', '_' and '-' and must start with a letter"
                + " or digit", assertThrows(IllegalArgumentException.class, () -> Task.regression("-age")).getMessage());
    }

    @Test
    void aNetworkNeedsATrunkAndATask() {
        assertEquals("a multi-task network needs at least one task", assertThrows(IllegalArgumentException.class,
                () -> MultiTaskNetwork.builder().trunk(TestModels.denseTrunk(6, Activation.TANH, 8)).build()).getMessage());
        assertEquals("no trunk: call trunk(SharedTrunk) before build()", assertThrows(IllegalArgumentException.class,
                () -> MultiTaskNetwork.builder().task(Task.regression("age")).build()).getMessage());
    }

    @Test
    void badFixedWeightsAreRejected() {
        assertEquals("task 1: a fixed weight must be finite and >= 0, got -0.5",
                assertThrows(IllegalArgumentException.class, () -> FixedWeights.of(1.0, -0.5)).getMessage());
        assertEquals("task 0: a fixed weight must be finite and >= 0, got NaN",
                assertThrows(IllegalArgumentException.class, () -> FixedWeights.of(Double.NaN, 1.0)).getMessage());
        assertEquals("task 1: a fixed weight must be finite and >= 0, got Infinity",
                assertThrows(IllegalArgumentException.class,
                        () -> FixedWeights.of(1.0, Double.POSITIVE_INFINITY)).getMessage());
        assertEquals("task \"age\": a fixed weight must be finite and >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> FixedWeights.of(Map.of("age", -1.0))).getMessage());
        assertEquals("FixedWeights has 3 weights, but the network has 2 tasks [digit, age]",
                assertThrows(IllegalArgumentException.class, () -> network(FixedWeights.of(1, 2, 3))).getMessage());
        assertEquals("FixedWeights names task \"height\", but the network's tasks are [digit, age]",
                assertThrows(IllegalArgumentException.class,
                        () -> network(FixedWeights.of(Map.of("height", 2.0)))).getMessage());
    }

    @Test
    void headLayerThatDeclaresTheWrongNInIsRejectedAtBuild() {
        String message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.classification("digit", 3))
                .task(Task.regression("age").withHead(Head.of(new DenseLayer.Builder().nIn(7).nOut(4).build())))
                .build()).getMessage();
        assertTrue(message.startsWith("task \"age\": head layer 0 (DenseLayer) declares nIn=7, but its input has 8"
                + " features"), message);
        assertTrue(message.endsWith("leave nIn unset to infer it"), message);

        message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.regression("age").withHead(Head.of(new DenseLayer.Builder().nOut(4).build(),
                        new DenseLayer.Builder().nIn(5).nOut(3).build())))
                .build()).getMessage();
        assertTrue(message.startsWith("task \"age\": head layer 1 (DenseLayer) declares nIn=5, but its input has 4"
                + " features"), message);

        // on a convolutional trunk the head reads the flattened 2 x 3 x 3 = 18 features
        message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.convolutional(5, 5, 1))
                        .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).build()).build())
                .task(Task.regression("age").withHead(Head.of(new DenseLayer.Builder().nIn(25).nOut(4).build())))
                .build()).getMessage();
        assertTrue(message.startsWith("task \"age\": head layer 0 (DenseLayer) declares nIn=25, but its input has 18"
                + " features"), message);
    }

    @Test
    void lastTimeStepHeadOnANonRecurrentTrunkIsRejectedAtBuild() {
        String message = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(6, Activation.TANH, 8))
                .task(Task.classification("digit", 3))
                .task(Task.regression("age").withHead(Head.linear().lastTimeStep()))
                .build()).getMessage();
        assertEquals("task \"age\": its head reads the last time step, but the representation is not recurrent: "
                + InputType.feedForward(8), message);
    }

    // ---------------------------------------------------------------- during training

    @Test
    void infiniteLossStopsTrainingBeforeTheUpdate() {
        net.fit(good());
        net.fit(good());
        INDArray huge = Nd4j.create(DataType.FLOAT, MB, 1).assign(1e30); // finite in FLOAT, its square is not
        MultiDataSet bad = RandomData.dataSet(features(), new INDArray[]{digits(), huge}, null);
        String message = rejectedUntouched(IllegalStateException.class, () -> net.fit(bad));
        assertTrue(message.startsWith("task \"age\": loss is Infinity at iteration 2 (epoch 0); training stopped before"
                + " the update, parameters are unchanged"), message);
        assertEquals(2, net.iterationCount());
        // the network still trains on good data afterwards
        assertTrue(Double.isFinite(net.fit(good()).totalLoss()));
        assertEquals(3, net.iterationCount());
    }

    @Test
    void aBadMinibatchInTheEpochLoopIsNamedByEpochAndMinibatch() {
        MultiDataSet first = good();
        MultiDataSet second = good();
        MultiDataSet bad = withDigits(digitsWithRow2(0, 0, 0), null);
        String original = rejectsBatch(bad);   // fits one good minibatch first
        net.fit(new TestMultiDataSetIterator(1, first, second), 2);
        assertEquals(2, net.epochCount());
        int iterations = net.iterationCount();

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.fit(new TestMultiDataSetIterator(1, first, second, bad), 1));
        assertEquals("epoch 2, minibatch 2 (both counted from 0): " + original, e.getMessage());
        assertSame(IllegalArgumentException.class, e.getCause().getClass());
        assertEquals(original, e.getCause().getMessage());
        assertEquals(iterations + 2, net.iterationCount(), "the minibatches before the bad one stay applied");
        assertEquals(2, net.epochCount());

        // through a Trainer, and a single fit keeps its message as is
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.builder().epochs(1).build()
                .fit(net, new TestMultiDataSetIterator(1, bad, first)));
        assertEquals("epoch 2, minibatch 0 (both counted from 0): " + original, e.getMessage());
        assertEquals(original, assertThrows(IllegalArgumentException.class, () -> net.fit(bad)).getMessage());
    }

    @Test
    void aTaskWithNoLabelInTheBatchContributesNothing() {
        INDArray age = Nd4j.create(DataType.FLOAT, MB, 1).assign(Double.NaN);
        MultiDataSet batch = RandomData.dataSet(features(), new INDArray[]{digits(), age},
                new INDArray[]{null, random.mask(0, 0, 0, 0, 0)});

        TaskLosses losses = net.losses(batch);
        assertEquals(0.0, losses.loss(1));
        assertEquals(0, losses.labelled()[1]);
        assertEquals(MB, losses.labelled()[0]);
        assertTrue(Double.isFinite(losses.loss(0)) && losses.loss(0) > 0);

        INDArray gradient = net.gradient(batch).gradient();
        for (double g : flat(gradient)) {
            assertTrue(Double.isFinite(g), "gradient entry " + g);
        }
        String ageHead = NetworkGraph.outputName("age");
        assertEquals(0.0, section(gradient, ageHead).amaxNumber().doubleValue(), "the age head's gradient");
        assertNotEquals(0.0, section(gradient, NetworkGraph.outputName("digit")).amaxNumber().doubleValue());
        assertNotEquals(0.0, section(gradient, "trunk_0_0").amaxNumber().doubleValue());

        // with Adam, a zero gradient on a fresh network leaves the age head exactly where it was
        double[] ageBefore = flat(net.graph().getLayer(ageHead).params());
        double[] digitBefore = flat(net.graph().getLayer(NetworkGraph.outputName("digit")).params());
        StepResult result = net.fit(batch);
        assertEquals(0.0, result.losses().loss(1));
        assertTrue(Double.isFinite(result.totalLoss()));
        assertArrayEquals(ageBefore, flat(net.graph().getLayer(ageHead).params()), 0.0);
        assertFalse(Arrays.equals(digitBefore, flat(net.graph().getLayer(NetworkGraph.outputName("digit"))
                .params())));
    }

    /** The part of a flat parameter-shaped vector that belongs to the named layer. */
    private INDArray section(INDArray flatVector, String layerName) {
        Layer layer = net.graph().getLayer(layerName);
        INDArray all = Nd4j.toFlattened(net.params());
        long offset = layer.params().offset() - net.params().offset();
        long n = layer.numParams();
        INDArray mine = Nd4j.toFlattened(layer.params());
        assertEquals(mine, all.get(NDArrayIndex.interval(offset, offset + n)), "offset of " + layerName);
        return Nd4j.toFlattened(flatVector).get(NDArrayIndex.interval(offset, offset + n));
    }
}
