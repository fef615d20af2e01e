package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fused LSTM helper computes what DL4J's Java LSTM computes, and hands DL4J what it cannot fuse. */
class FusedLstmTest {

    private static final int N_IN = 3;
    private static final int N_OUT = 4;
    private static final int STEPS = 5;
    private static final int BATCH = 3;

    enum Precision {
        DOUBLE(DataType.DOUBLE, 1e-10), FLOAT(DataType.FLOAT, 1e-5);
        final DataType type;
        final double tolerance;

        Precision(DataType type, double tolerance) {
            this.type = type;
            this.tolerance = tolerance;
        }
    }

    enum Head { LAST_STEP, PER_STEP }

    enum MaskKind { NONE, TRAILING, GAP, EMPTY_ROW }

    private DataType previous;

    @AfterEach
    void restoreDefault() {
        if (previous != null) {
            Nd4j.setDefaultDataTypes(previous, previous);
        }
    }

    private void useDefault(DataType type) {
        previous = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(type, type);
    }

    // ---------------------------------------------------------------- layer level

    @ParameterizedTest
    @EnumSource(Precision.class)
    void layerOutputsGradientsAndEpsilonMatchJavaPath(Precision precision) {
        useDefault(precision.type);
        for (MaskKind kind : MaskKind.values()) {
            INDArray x = Nd4j.rand(precision.type, BATCH, N_IN, STEPS).subi(0.5);
            INDArray mask = mask(kind, precision.type);
            INDArray eps = Nd4j.rand(precision.type, BATCH, N_OUT, STEPS).subi(0.5);
            if (mask != null) {
                eps.muli(Nd4j.expandDims(mask, 1).broadcast(BATCH, N_OUT, STEPS));
            }
            LayerRun java = runLayer(precision.type, x, mask, eps, null);
            FusedLstm helper = new FusedLstm(precision.type);
            LayerRun fused = runLayer(precision.type, x, mask, eps, helper);
            java.assertClose(fused, precision.tolerance, kind.toString());
            if (kind == MaskKind.GAP) {
                assertEquals(0, helper.fusedForwardPasses(), "a mask with a gap must not run fused");
                assertTrue(helper.declinedPasses() > 0);
            } else {
                // activate, then the forward pass that DL4J repeats inside backpropGradient
                assertEquals(2, helper.fusedForwardPasses(), kind.toString());
                assertEquals(1, helper.fusedBackwardPasses(), kind.toString());
                assertEquals(0, helper.declinedPasses(), kind.toString());
            }
        }
    }

    @Test
    void nwcLayoutMatchesJavaPath() {
        useDefault(DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, STEPS, N_IN).subi(0.5);
        INDArray mask = mask(MaskKind.TRAILING, DataType.DOUBLE);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, BATCH, STEPS, N_OUT).subi(0.5)
                .muli(Nd4j.expandDims(mask, 2).broadcast(BATCH, STEPS, N_OUT));
        LayerRun java = runLayer(DataType.DOUBLE, RNNFormat.NWC, x, mask, eps, null, -1);
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        LayerRun fused = runLayer(DataType.DOUBLE, RNNFormat.NWC, x, mask, eps, helper, -1);
        java.assertClose(fused, 1e-10, "NWC");
        assertEquals(1, helper.fusedBackwardPasses());
        assertEquals(0, helper.declinedPasses());
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {3, 2})
    void truncatedBpttMatchesJavaPath(int backwardLength) {
        useDefault(DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, N_IN, STEPS).subi(0.5);
        INDArray y = Nd4j.rand(DataType.DOUBLE, BATCH, 2, STEPS);
        MultiLayerNetwork plain = tbpttNet(backwardLength);
        MultiLayerNetwork fused = tbpttNet(backwardLength);
        fused.setParams(plain.params());
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        install(fused.getLayer(0), helper);
        for (int i = 0; i < 3; i++) {
            plain.fit(new org.nd4j.linalg.dataset.DataSet(x, y));
            fused.fit(new org.nd4j.linalg.dataset.DataSet(x, y));
        }
        assertClose(plain.params(), fused.params(), 1e-10, "TBPTT back " + backwardLength);
        assertTrue(helper.fusedBackwardPasses() > 0);
    }

    @Test
    void truncatedBackwardPassShorterThanSequenceFallsBack() {
        useDefault(DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, N_IN, STEPS).subi(0.5);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, BATCH, N_OUT, STEPS).subi(0.5);
        LayerRun java = runLayer(DataType.DOUBLE, RNNFormat.NCW, x, null, eps, null, 2);
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        LayerRun fused = runLayer(DataType.DOUBLE, RNNFormat.NCW, x, null, eps, helper, 2);
        java.assertClose(fused, 1e-10, "TBPTT backward length 2 of 5");
        assertEquals(0, helper.fusedBackwardPasses());
        assertEquals(1, helper.declinedPasses());
        LayerRun full = runLayer(DataType.DOUBLE, RNNFormat.NCW, x, null, eps, null, -1);
        assertTrue(full.gW().sub(java.gW()).amaxNumber().doubleValue() > 1e-6, "truncation must matter here");
    }

    private static MultiLayerNetwork tbpttNet(int backwardLength) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(3)
                .updater(new Adam(0.01)).weightInit(WeightInit.XAVIER).list()
                .layer(new LSTM.Builder().nIn(N_IN).nOut(N_OUT).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2)
                        .activation(Activation.IDENTITY).build())
                .setInputType(InputType.recurrent(N_IN))
                .backpropType(org.deeplearning4j.nn.conf.BackpropType.TruncatedBPTT)
                .tBPTTForwardLength(3).tBPTTBackwardLength(backwardLength)
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    @Test
    void errorAtMaskedStepsFallsBackInBackwardPass() {
        useDefault(DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, N_IN, STEPS).subi(0.5);
        INDArray mask = mask(MaskKind.TRAILING, DataType.DOUBLE);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, BATCH, N_OUT, STEPS).subi(0.5);
        LayerRun java = runLayer(DataType.DOUBLE, x, mask, eps, null);
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        LayerRun fused = runLayer(DataType.DOUBLE, x, mask, eps, helper);
        java.assertClose(fused, 1e-10, "error at masked steps");
        assertEquals(2, helper.fusedForwardPasses());
        assertEquals(0, helper.fusedBackwardPasses());
        assertEquals(1, helper.declinedPasses());
    }

    @Test
    void unsupportedActivationDeclines() {
        useDefault(DataType.DOUBLE);
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, N_IN, STEPS);
        MultiLayerNetwork net = layerNet(DataType.DOUBLE, Activation.SOFTSIGN);
        install(net.getLayer(0), helper);
        INDArray fused = net.output(x);
        MultiLayerNetwork plain = layerNet(DataType.DOUBLE, Activation.SOFTSIGN);
        plain.setParams(net.params());
        assertClose(plain.output(x), fused, 1e-12, "softsign output");
        assertEquals(0, helper.fusedForwardPasses());
        assertEquals(1, helper.declinedPasses());
    }

    // ---------------------------------------------------------------- graph level

    @ParameterizedTest
    @EnumSource(Precision.class)
    void graphGradientsMatchJavaPathForEveryHeadAndMask(Precision precision) {
        useDefault(precision.type);
        for (Head head : Head.values()) {
            for (MaskKind kind : new MaskKind[] {MaskKind.NONE, MaskKind.TRAILING, MaskKind.GAP}) {
                String what = head + "/" + kind;
                ComputationGraph plain = graph(precision.type, head);
                ComputationGraph fused = graph(precision.type, head);
                fused.setParams(plain.params());
                // DL4J M2.1's ComputationGraph hands the feature mask to an LSTM only through the LastTimeStep
                // wrapper ("lstm" under LAST_STEP); "pre" and the per-step "lstm" run unmasked in both graphs
                FusedLstm pre = new FusedLstm(precision.type);
                FusedLstm top = new FusedLstm(precision.type);
                install(fused.getLayer("pre"), pre);
                install(fused.getLayer("lstm"), top);
                MultiDataSet data = data(precision.type, head, kind);

                assertClose(plain.output(false, data.getFeatures(), data.getFeaturesMaskArrays())[0],
                        fused.output(false, data.getFeatures(), data.getFeaturesMaskArrays())[0],
                        precision.tolerance, what + " output");
                computeGradient(plain, data);
                computeGradient(fused, data);
                assertEquals(plain.score(), fused.score(), precision.tolerance * Math.abs(plain.score()), what);
                Gradient g = plain.gradient();
                Gradient f = fused.gradient();
                for (String key : new String[] {"lstm_W", "lstm_RW", "lstm_b", "pre_W", "pre_RW", "pre_b",
                        "out_W", "out_b"}) {
                    assertClose(g.getGradientFor(key), f.getGradientFor(key), precision.tolerance, what + " " + key);
                }
                assertClose(plain.gradient().gradient(), fused.gradient().gradient(), precision.tolerance, what);
                boolean declines = kind == MaskKind.GAP && head == Head.LAST_STEP;
                if (declines) {
                    assertEquals(0, top.fusedForwardPasses(), what);
                    assertEquals(3, top.declinedPasses(), what);
                }
                for (FusedLstm h : declines ? new FusedLstm[] {pre} : new FusedLstm[] {pre, top}) {
                    {
                        assertEquals(3, h.fusedForwardPasses(), what); // output(), the training pass, backprop
                        assertEquals(1, h.fusedBackwardPasses(), what);
                        assertEquals(0, h.declinedPasses(), what);
                    }
                }
            }
        }
    }

    @Test
    void numericGradientOfFusedGraphMatchesAnalytic() {
        useDefault(DataType.DOUBLE);
        for (Head head : Head.values()) {
            ComputationGraph net = graph(DataType.DOUBLE, head);
            FusedLstm helper = new FusedLstm(DataType.DOUBLE);
            install(net.getLayer("lstm"), helper);
            install(net.getLayer("pre"), helper);
            MultiDataSet data = data(DataType.DOUBLE, head, MaskKind.TRAILING);
            computeGradient(net, data);
            INDArray analytic = net.gradient().gradient().dup();
            INDArray params = net.params();
            long lstmParams = net.getLayer("pre").numParams() + net.getLayer("lstm").numParams();
            double eps = 1e-6;
            double worst = 0;
            for (long i = 0; i < lstmParams; i++) {
                double original = params.getDouble(i);
                params.putScalar(i, original + eps);
                double plus = net.score(data, true);
                params.putScalar(i, original - eps);
                double minus = net.score(data, true);
                params.putScalar(i, original);
                // the score is the mean over the minibatch; DL4J's gradient is the sum (its updater divides)
                double numeric = (plus - minus) / (2 * eps) * BATCH;
                double a = analytic.getDouble(i);
                double abs = Math.abs(a - numeric);
                double rel = abs == 0 ? 0 : abs / Math.max(Math.abs(a), Math.abs(numeric));
                // absolute errors up to ~2e-9 are finite-difference noise: DL4J's Java path shows them too
                if (abs > 1e-8) {
                    worst = Math.max(worst, rel);
                    assertTrue(rel < 1e-6, head + " parameter " + i + ": analytic " + a + ", numeric " + numeric);
                }
            }
            assertTrue(helper.fusedBackwardPasses() == 2 && helper.declinedPasses() == 0, head.toString());
            assertTrue(worst < 1e-6);
        }
    }

    @Test
    void rnnTimeStepMatchesJavaPath() {
        useDefault(DataType.DOUBLE);
        ComputationGraph plain = graph(DataType.DOUBLE, Head.PER_STEP);
        ComputationGraph fused = graph(DataType.DOUBLE, Head.PER_STEP);
        fused.setParams(plain.params());
        FusedLstm helper = new FusedLstm(DataType.DOUBLE);
        install(fused.getLayer("lstm"), helper);
        INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, N_IN, STEPS).subi(0.5);
        INDArray first = x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 2));
        INDArray rest = x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(2, STEPS));
        for (INDArray part : new INDArray[] {first, rest, rest}) {
            assertClose(plain.rnnTimeStep(part)[0], fused.rnnTimeStep(part)[0], 1e-10, "rnnTimeStep");
        }
        assertEquals(3, helper.fusedForwardPasses());
        assertClose(plain.output(x)[0], fused.output(x)[0], 1e-10, "after rnnTimeStep");
    }

    @ParameterizedTest
    @EnumSource(Head.class)
    void tenAdamStepsMatchJavaPath(Head head) {
        useDefault(DataType.FLOAT);
        ComputationGraph plain = graph(DataType.FLOAT, head);
        ComputationGraph fused = graph(DataType.FLOAT, head);
        fused.setParams(plain.params());
        FusedLstm helper = new FusedLstm(DataType.FLOAT);
        install(fused.getLayer("lstm"), helper);
        install(fused.getLayer("pre"), helper);
        MultiDataSet data = data(DataType.FLOAT, head, MaskKind.TRAILING);
        for (int i = 0; i < 10; i++) {
            plain.fit(data);
            fused.fit(data);
        }
        assertEquals(20, helper.fusedBackwardPasses());
        assertClose(plain.params(), fused.params(), 1e-4, head + " params after 10 Adam steps");
        assertTrue(plain.params().sub(graphParamsAtInit(head)).amaxNumber().doubleValue() > 1e-3,
                "training must move the parameters");
    }

    // ---------------------------------------------------------------- fixtures

    private static INDArray graphParamsAtInit(Head head) {
        return graph(DataType.FLOAT, head).params();
    }

    private record LayerRun(INDArray output, INDArray epsilon, INDArray gW, INDArray gRW, INDArray gb) {
        void assertClose(LayerRun other, double tolerance, String what) {
            FusedLstmTest.assertClose(output, other.output, tolerance, what + " output");
            FusedLstmTest.assertClose(epsilon, other.epsilon, tolerance, what + " epsilon");
            FusedLstmTest.assertClose(gW, other.gW, tolerance, what + " W gradient");
            FusedLstmTest.assertClose(gRW, other.gRW, tolerance, what + " RW gradient");
            FusedLstmTest.assertClose(gb, other.gb, tolerance, what + " b gradient");
        }
    }

    private static LayerRun runLayer(DataType type, INDArray x, INDArray mask, INDArray eps, FusedLstm helper) {
        return runLayer(type, RNNFormat.NCW, x, mask, eps, helper, -1);
    }

    /** One forward and backward pass of a lone LSTM layer; {@code tbptt > 0} back-propagates that many steps. */
    private static LayerRun runLayer(DataType type, RNNFormat format, INDArray x, INDArray mask, INDArray eps,
                                     FusedLstm helper, int tbptt) {
        MultiLayerNetwork net = layerNet(type, Activation.TANH, format);
        net.params().assign(Nd4j.rand(type, net.params().shape()).subi(0.5));
        Layer layer = net.getLayer(0);
        if (helper != null) {
            install(layer, helper);
        }
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        layer.setInput(x, mgr);
        layer.setMaskArray(mask);
        INDArray out = layer.activate(true, mgr).dup();
        Pair<Gradient, INDArray> p = tbptt > 0
                ? ((org.deeplearning4j.nn.layers.recurrent.LSTM) layer).tbpttBackpropGradient(eps, tbptt, mgr)
                : layer.backpropGradient(eps, mgr);
        Gradient g = p.getFirst();
        return new LayerRun(out, p.getSecond().dup(), g.getGradientFor("W").dup(), g.getGradientFor("RW").dup(),
                g.getGradientFor("b").dup());
    }

    private static MultiLayerNetwork layerNet(DataType type, Activation activation) {
        return layerNet(type, activation, RNNFormat.NCW);
    }

    private static MultiLayerNetwork layerNet(DataType type, Activation activation, RNNFormat format) {
        Nd4j.getRandom().setSeed(42);
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(type).seed(42)
                .weightInit(WeightInit.XAVIER).list()
                .layer(new LSTM.Builder().nIn(N_IN).nOut(N_OUT).activation(activation).dataFormat(format).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2)
                        .activation(Activation.IDENTITY).dataFormat(format).build())
                .setInputType(InputType.recurrent(N_IN, format))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    private static ComputationGraph graph(DataType type, Head head) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().dataType(type).seed(11)
                .updater(new Adam(0.01)).weightInit(WeightInit.XAVIER)
                .graphBuilder()
                .addInputs("in").setInputTypes(InputType.recurrent(N_IN))
                .addLayer("pre", new LSTM.Builder().nOut(3).activation(Activation.TANH).build(), "in");
        LSTM lstm = new LSTM.Builder().nOut(N_OUT).activation(Activation.TANH).build();
        if (head == Head.LAST_STEP) {
            b.addLayer("lstm", new LastTimeStep(lstm), "pre")
                    .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2)
                            .activation(Activation.IDENTITY).build(), "lstm");
        } else {
            b.addLayer("lstm", lstm, "pre")
                    .addLayer("out", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2)
                            .activation(Activation.IDENTITY).build(), "lstm");
        }
        ComputationGraph net = new ComputationGraph(b.setOutputs("out").build());
        net.init();
        Nd4j.getRandom().setSeed(5);
        net.params().assign(Nd4j.rand(type, net.params().shape()).subi(0.5));
        return net;
    }

    private static void computeGradient(ComputationGraph net, MultiDataSet data) {
        net.setInputs(data.getFeatures());
        net.setLabels(data.getLabels());
        net.setLayerMaskArrays(data.getFeaturesMaskArrays(), data.getLabelsMaskArrays());
        net.computeGradientAndScore();
    }

    private static MultiDataSet data(DataType type, Head head, MaskKind kind) {
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.rand(type, BATCH, N_IN, STEPS).subi(0.5);
        INDArray y = head == Head.LAST_STEP ? Nd4j.rand(type, BATCH, 2) : Nd4j.rand(type, BATCH, 2, STEPS);
        INDArray mask = mask(kind, type);
        INDArray labelMask = head == Head.PER_STEP ? mask : null;
        return new MultiDataSet(new INDArray[] {x}, new INDArray[] {y},
                mask == null ? null : new INDArray[] {mask}, labelMask == null ? null : new INDArray[] {labelMask});
    }

    /** NONE: null; TRAILING: lengths 5, 3, 1; GAP: the second row is 1 1 0 1 1; EMPTY_ROW: lengths 5, 0, 2. */
    private static INDArray mask(MaskKind kind, DataType type) {
        return switch (kind) {
            case NONE -> null;
            case TRAILING -> Nd4j.create(new double[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}, {1, 0, 0, 0, 0}})
                    .castTo(type);
            case GAP -> Nd4j.create(new double[][] {{1, 1, 1, 1, 1}, {1, 1, 0, 1, 1}, {1, 1, 1, 0, 0}})
                    .castTo(type);
            case EMPTY_ROW -> Nd4j.create(new double[][] {{1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}, {1, 1, 0, 0, 0}})
                    .castTo(type);
        };
    }

    /** Installs the helper into an LSTM layer, or the LSTM inside a wrapper such as {@code LastTimeStep}. */
    private static void install(Layer layer, FusedLstm helper) {
        LayerHelpers.set(layer, helper);
    }

    /** Asserts {@code max|a - b| <= tolerance * max(max|a|, 1e-3)}. */
    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), what);
        INDArray e = expected.castTo(DataType.DOUBLE);
        double scale = Math.max(e.amaxNumber().doubleValue(), 1e-3);
        double diff = e.sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= tolerance * scale, what + ": max difference " + diff + " for scale " + scale);
    }
}
