package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.accel.Acceleration.Kind;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TrunkFixtures;
import org.mtl4j.core.testing.TrunkFixtures.Trunk;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.File;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native code under DL4J's layers: oneDNN convolution, pooling and batch normalisation where the natives have
 * it, and the fused LSTM, each computing what DL4J's Java code computes within rounding. The build's default natives have
 * oneDNN, so the comparisons here are between two implementations; on the plain natives nothing is installed
 * (asserted) and they compare DL4J with itself.
 */
class AccelerationTest {

    /** A deeper convolutional trunk than the kits' one: two stages, Same mode, stride 2, average pooling. */
    enum Net { KIT_CONVOLUTIONAL, TWO_STAGES }

    @Test
    void oneDnnIsReadFromLibnd4jsBuildInformation() {
        String onednn = "GCC: \"7.5.0\"\nHAVE_FLATBUFFERS\nHAVE_ONEDNN\nHAVE_OPENBLAS";
        assertTrue(Acceleration.hasOneDnn("CPU", onednn));
        assertFalse(Acceleration.hasOneDnn("CPU", "GCC: \"7.5.0\"\nHAVE_FLATBUFFERS\nHAVE_OPENBLAS"));
        assertFalse(Acceleration.hasOneDnn("CUDA", onednn));
        assertFalse(Acceleration.hasOneDnn("CPU", null));
    }

    @Test
    void thePropertyChoosesTheKindsAndRefusesWhatItDoesNotKnow() {
        assertEquals(EnumSet.allOf(Kind.class), Acceleration.kinds("auto", true, true));
        assertEquals(EnumSet.of(Kind.POOLING, Kind.LSTM), Acceleration.kinds("auto", true, false),
                "libnd4j's own pooling and LSTM need no oneDNN");
        assertEquals(EnumSet.noneOf(Kind.class), Acceleration.kinds("auto", false, true), "CPU backend only");
        assertEquals(EnumSet.noneOf(Kind.class), Acceleration.kinds(" OFF ", true, true));
        assertEquals(EnumSet.of(Kind.CONVOLUTION, Kind.BATCH_NORMALIZATION),
                Acceleration.kinds("convolution, Batch_Normalization", true, true));
        assertEquals(EnumSet.noneOf(Kind.class), Acceleration.kinds("convolution", true, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Acceleration.kinds("convolution,fast", true, true));
        assertEquals("-Dmtl4j.acceleration=convolution,fast is not understood; use auto, off or a comma-separated"
                + " list of [CONVOLUTION, POOLING, BATCH_NORMALIZATION, LSTM]", e.getMessage());
    }

    @Test
    void recurrentTrunksRunTheFusedLstmWithDl4jsOutputsAndGradientsInDouble() {
        MultiTaskNetwork accelerated = TrunkFixtures.builder(Trunk.RECURRENT, DataType.DOUBLE).build();
        MultiTaskNetwork plain = TrunkFixtures.builder(Trunk.RECURRENT, DataType.DOUBLE).build();
        assertEquals(1, helpers(accelerated.graph().getLayers()));
        assertInstanceOf(FusedLstm.class, LayerHelpers.unwrapped(accelerated.graph().getLayers()[0]).getHelper());
        stripHelpers(plain.graph().getLayers());
        for (boolean masked : new boolean[]{false, true}) {
            MultiDataSet batch = TrunkFixtures.batch(Trunk.RECURRENT, DataType.DOUBLE, 4, 6);
            if (masked) {   // trailing padding: lengths 5, 3, 5, 1, 4, 2
                INDArray mask = org.nd4j.linalg.factory.Nd4j.ones(DataType.DOUBLE, 6, 5);
                int[] lengths = {5, 3, 5, 1, 4, 2};
                for (int i = 0; i < 6; i++) {
                    for (int t = lengths[i]; t < 5; t++) {
                        mask.putScalar(i, t, 0.0);
                    }
                }
                batch.setFeaturesMaskArrays(new INDArray[]{mask});
            }
            Map<String, INDArray> a = accelerated.output(batch.getFeatures(0), batch.getFeaturesMaskArray(0));
            Map<String, INDArray> p = plain.output(batch.getFeatures(0), batch.getFeaturesMaskArray(0));
            for (String task : p.keySet()) {
                assertClose(p.get(task), a.get(task), 1e-12, "output of " + task + (masked ? ", masked" : ""));
            }
            assertClose(plain.gradient(batch).gradient(), accelerated.gradient(batch).gradient(), 1e-10,
                    "gradient" + (masked ? ", masked" : ""));
        }
    }

    @Test
    void twentyAdamStepsOfARecurrentTrunkEndWhereDl4jsLstmEnds() {
        MultiTaskNetwork accelerated = TrunkFixtures.builder(Trunk.RECURRENT, DataType.FLOAT).updater(new Adam(1e-2))
                .build();
        MultiTaskNetwork plain = TrunkFixtures.builder(Trunk.RECURRENT, DataType.FLOAT).updater(new Adam(1e-2))
                .build();
        stripHelpers(plain.graph().getLayers());
        for (int step = 0; step < 20; step++) {
            MultiDataSet batch = TrunkFixtures.batch(Trunk.RECURRENT, DataType.FLOAT, 200 + step, 8);
            accelerated.fit(batch);
            plain.fit(batch);
        }
        assertClose(plain.params(), accelerated.params(), 1e-5, "parameters after 20 steps");
    }

    @Test
    void everyConvolutionPoolingAndNormalisationLayerOfANetworkGetsItsHelperOnce() {
        MultiTaskNetwork net = TrunkFixtures.builder(Trunk.CONVOLUTIONAL, DataType.FLOAT).build();
        boolean on = Acceleration.oneDnnAvailable();
        int conv = 0;
        int pool = 0;
        int norm = 0;
        for (Layer layer : net.graph().getLayers()) {
            Object helper = layer.getHelper();
            if (layer instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer) {
                conv++;
                assertEquals(on, helper instanceof MKLDNNConvHelper, layer.conf().getLayer().getLayerName());
            } else if (layer instanceof org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer) {
                pool++;
                assertInstanceOf(NativePooling.class, helper, layer.conf().getLayer().getLayerName());
            } else if (layer instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization) {
                norm++;
                assertEquals(on, helper instanceof MKLDNNBatchNormHelper, layer.conf().getLayer().getLayerName());
            }
        }
        assertEquals(1, conv);
        assertEquals(1, pool);
        assertEquals(1, norm);
        assertEquals(0, Acceleration.install(net.graph()).total(), "a second install adds nothing");
    }

    @Test
    void aPlainMultiLayerNetworkGetsItTooInsideFrozenLayers() {
        MultiLayerNetwork mln = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .list()
                .layer(new FrozenLayerWithBackprop(new ConvolutionLayer.Builder(3, 3).nOut(2).build()))
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.PNORM).pnorm(2).kernelSize(2, 2)
                        .stride(2, 2).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .setInputType(InputType.convolutional(6, 6, 1))
                .build());
        mln.init();
        Acceleration.Report report = Acceleration.install(mln);
        boolean on = Acceleration.oneDnnAvailable();
        assertEquals(on ? 1 : 0, report.count(Kind.CONVOLUTION));
        assertEquals(1, report.count(Kind.POOLING), "p-norm pooling gets the helper, which declines per call");
        assertEquals(on ? 2 : 1, report.total());
        Layer inner = ((BaseWrapperLayer) mln.getLayer(0)).getUnderlying();
        assertEquals(on, inner.getHelper() instanceof MKLDNNConvHelper);
        INDArray x = new RandomData(5, DataType.FLOAT).gaussian(3, 1, 6, 6);
        INDArray accelerated = mln.output(x);
        stripHelpers(mln.getLayers());
        assertClose(mln.output(x), accelerated, 1e-5, "p-norm network output");
    }

    @Test
    void anUninitialisedNetworkIsRefused() {
        MultiLayerNetwork mln = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(2).nOut(1)
                        .activation(Activation.IDENTITY).build()).build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Acceleration.install(mln));
        assertEquals("the network is not initialised: call init() before installing acceleration", e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Net.class)
    void outputsAndGradientsEqualDl4jsOwnLayersWithinFloatRounding(Net which) {
        MultiTaskNetwork accelerated = build(which, DataType.FLOAT);
        MultiTaskNetwork plain = build(which, DataType.FLOAT);
        stripHelpers(plain.graph().getLayers());
        Exact.assertSameValues(plain.params(), accelerated.params(), "same initial parameters");
        MultiDataSet batch = batch(which, DataType.FLOAT, 3, 16);

        Map<String, INDArray> a = accelerated.output(batch.getFeatures(0));
        Map<String, INDArray> p = plain.output(batch.getFeatures(0));
        for (String task : p.keySet()) {
            assertClose(p.get(task), a.get(task), 1e-6, "output of " + task);
        }
        INDArray ga = accelerated.gradient(batch).gradient();
        INDArray gp = plain.gradient(batch).gradient();
        assertClose(gp, ga, 1e-5, "gradient");
    }

    @ParameterizedTest
    @EnumSource(Net.class)
    void twentyAdamStepsEndWhereDl4jsOwnLayersEnd(Net which) {
        MultiTaskNetwork accelerated = build(which, DataType.FLOAT);
        MultiTaskNetwork plain = build(which, DataType.FLOAT);
        stripHelpers(plain.graph().getLayers());
        for (int step = 0; step < 20; step++) {
            MultiDataSet batch = batch(which, DataType.FLOAT, 100 + step, 16);
            double la = accelerated.fit(batch).totalLoss();
            double lp = plain.fit(batch).totalLoss();
            assertEquals(lp, la, 1e-4 * Math.max(1, Math.abs(lp)), "loss at step " + step);
        }
        assertClose(plain.params(), accelerated.params(), 1e-6, "parameters after 20 steps");
    }

    @Test
    void doublePrecisionRunsDl4jsJavaCodeBitForBit() {
        MultiTaskNetwork accelerated = build(Net.TWO_STAGES, DataType.DOUBLE);
        MultiTaskNetwork plain = build(Net.TWO_STAGES, DataType.DOUBLE);
        stripHelpers(plain.graph().getLayers());
        MultiDataSet batch = batch(Net.TWO_STAGES, DataType.DOUBLE, 9, 8);
        Exact.assertSameValues(plain.gradient(batch).gradient(), accelerated.gradient(batch).gradient(),
                "the helpers decline double, so DL4J's own code runs");
    }

    @Test
    void aLoadedNetworkIsAcceleratedAndComputesWhatTheSavedOneDid(@TempDir Path dir) throws Exception {
        MultiTaskNetwork net = build(Net.TWO_STAGES, DataType.FLOAT);
        for (int step = 0; step < 3; step++) {
            net.fit(batch(Net.TWO_STAGES, DataType.FLOAT, step, 16));
        }
        File file = dir.resolve("net.zip").toFile();
        net.save(file);
        MultiTaskNetwork loaded = MultiTaskNetwork.load(file);
        assertEquals(Acceleration.oneDnnAvailable() ? 5 : 2, helpers(loaded.graph().getLayers()),
                "two convolutions, two poolings and one batch normalisation");
        MultiDataSet batch = batch(Net.TWO_STAGES, DataType.FLOAT, 50, 16);
        Exact.assertSameOutputs(net.output(batch.getFeatures(0)), loaded.output(batch.getFeatures(0)));
        Exact.assertSameValues(net.gradient(batch).gradient(), loaded.gradient(batch).gradient());
    }

    private static MultiTaskNetwork build(Net which, DataType type) {
        if (which == Net.KIT_CONVOLUTIONAL) {
            return TrunkFixtures.builder(Trunk.CONVOLUTIONAL, type).updater(new Adam(1e-3)).build();
        }
        return MultiTaskNetwork.builder().dataType(type).seed(5).updater(new Adam(1e-3))
                .trunk(SharedTrunk.builder(InputType.convolutional(12, 12, 2))
                        .stage(new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                                        .activation(Activation.RELU).build(),
                                new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().build(),
                                new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2)
                                        .stride(2, 2).build())
                        .stage(new ConvolutionLayer.Builder(3, 3).nOut(8).stride(2, 2).activation(Activation.TANH)
                                        .build(),
                                new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(2, 2)
                                        .stride(1, 1).build())
                        .build())
                .task(Task.classification("a", 4))
                .task(Task.regression("b", 2))
                .build();
    }

    private static MultiDataSet batch(Net which, DataType type, long seed, int mb) {
        if (which == Net.KIT_CONVOLUTIONAL) {
            return TrunkFixtures.batch(Trunk.CONVOLUTIONAL, type, seed, mb);
        }
        RandomData d = new RandomData(seed, type);
        return RandomData.dataSet(d.gaussian(mb, 2, 12, 12), new INDArray[]{d.oneHot(mb, 4), d.gaussian(mb, 2)}, null);
    }

    /** Sets every helper of DL4J's layers back to null: DL4J's Java code, as DL4J M2.1 runs by default. */
    private static void stripHelpers(Layer[] layers) {
        for (Layer layer : layers) {
            LayerHelpers.set(layer, null);
            assertNull(LayerHelpers.unwrapped(layer).getHelper());
        }
    }

    private static int helpers(Layer[] layers) {
        int n = 0;
        for (Layer layer : layers) {
            if (LayerHelpers.unwrapped(layer).getHelper() != null) {
                n++;
            }
        }
        return n;
    }

    /** Fails unless every value is within {@code rel * max(1, |expected|)} of the expected one. */
    private static void assertClose(INDArray expected, INDArray actual, double rel, String what) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()), what);
        double[] e = expected.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] a = actual.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            worst = Math.max(worst, Math.abs(e[i] - a[i]) / Math.max(1, Math.abs(e[i])));
        }
        assertTrue(worst <= rel, what + ": worst relative difference " + worst + " > " + rel);
    }
}
