package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer.PoolingType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Max pooling on libnd4j's own kernels computes exactly what DL4J's Java pooling computes. */
class NativePoolingTest {

    /** Pooling configurations on a 9x9 input: window, stride, padding, dilation, mode, layout, and whether it runs here. */
    enum Config {
        TRUNCATE_2X2(new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0}, new int[]{1, 1}, ConvolutionMode.Truncate,
                CNN2DFormat.NCHW, true),
        SAME_3X3_STRIDE_3(new int[]{3, 3}, new int[]{3, 3}, new int[]{0, 0}, new int[]{1, 1}, ConvolutionMode.Same,
                CNN2DFormat.NCHW, true),
        OVERLAPPING_STRIDE_1_2(new int[]{2, 3}, new int[]{1, 2}, new int[]{0, 0}, new int[]{1, 1},
                ConvolutionMode.Truncate, CNN2DFormat.NCHW, true),
        DILATED(new int[]{2, 3}, new int[]{1, 2}, new int[]{0, 0}, new int[]{2, 1}, ConvolutionMode.Truncate,
                CNN2DFormat.NCHW, false),
        NHWC(new int[]{3, 2}, new int[]{2, 1}, new int[]{0, 0}, new int[]{1, 1}, ConvolutionMode.Truncate,
                CNN2DFormat.NHWC, true),
        EXPLICIT_PADDING(new int[]{2, 2}, new int[]{2, 2}, new int[]{1, 1}, new int[]{1, 1},
                ConvolutionMode.Truncate, CNN2DFormat.NCHW, false),
        SAME_WITH_PADDING(new int[]{3, 3}, new int[]{2, 2}, new int[]{0, 0}, new int[]{1, 1}, ConvolutionMode.Same,
                CNN2DFormat.NCHW, false);

        final int[] kernel;
        final int[] stride;
        final int[] pad;
        final int[] dilation;
        final ConvolutionMode mode;
        final CNN2DFormat format;
        final boolean native_;

        Config(int[] kernel, int[] stride, int[] pad, int[] dilation, ConvolutionMode mode, CNN2DFormat format,
               boolean runsHere) {
            this.kernel = kernel;
            this.stride = stride;
            this.pad = pad;
            this.dilation = dilation;
            this.mode = mode;
            this.format = format;
            this.native_ = runsHere;
        }
    }

    @ParameterizedTest
    @EnumSource(Config.class)
    void outputsAndInputErrorsEqualDl4jsJavaPoolingInDouble(Config config) {
        compare(config, DataType.DOUBLE, 0);
    }

    @ParameterizedTest
    @EnumSource(Config.class)
    void outputsAndInputErrorsEqualDl4jsJavaPoolingInFloat(Config config) {
        compare(config, DataType.FLOAT, 0);
    }

    @Test
    void aTrunkWithNativePoolingPassesANumericGradientCheckInDouble() {
        MultiTaskNetwork net = MultiTaskNetwork.builder().dataType(DataType.DOUBLE).seed(4)
                .trunk(SharedTrunk.builder(InputType.convolutional(6, 6, 1))
                        .stage(new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.TANH).build(),
                                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                        .build())
                .task(Task.classification("c", 3))
                .task(Task.regression("r", 2))
                .build();
        assertInstanceOf(NativePooling.class, net.graph().getLayer("trunk_0_1").getHelper());
        RandomData d = new RandomData(8, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(4, 1, 6, 6),
                new INDArray[]{d.oneHot(4, 3), d.gaussian(4, 2)}, null);
        NumericGradient.Report report = NumericGradient.check(net, batch, new double[]{1, 1}, 1e-6, 1e-5, 1e-9);
        assertEquals(0, report.failed(), report.toString());
    }

    @Test
    void averageSumAndPNormPoolingDeclineToDl4jsJavaPath() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 6, 6);
        NativePooling helper = new NativePooling(DataType.FLOAT);
        for (org.deeplearning4j.nn.conf.layers.PoolingType type : new org.deeplearning4j.nn.conf.layers.PoolingType[]{
                org.deeplearning4j.nn.conf.layers.PoolingType.AVG, org.deeplearning4j.nn.conf.layers.PoolingType.SUM,
                org.deeplearning4j.nn.conf.layers.PoolingType.PNORM}) {
            assertNull(helper.activate(x, true, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0}, type,
                    ConvolutionMode.Truncate, new int[]{1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces()),
                    type.toString());
            assertNull(helper.backpropGradient(x, Nd4j.rand(DataType.FLOAT, 2, 3, 3, 3), new int[]{2, 2},
                    new int[]{2, 2}, new int[]{0, 0}, type, ConvolutionMode.Truncate, new int[]{1, 1},
                    CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces()), type.toString());
        }
    }

    /** The network's output and the error at its input, with the helper and with DL4J's Java pooling. */
    private static void compare(Config config, DataType type, long seed) {
        MultiLayerNetwork fast = network(config, type);
        MultiLayerNetwork java = network(config, type);
        java.setParams(fast.params().dup());
        Layer pooling = fast.getLayer(0);
        LayerHelpers.set(pooling, new NativePooling(type));
        assertInstanceOf(NativePooling.class, pooling.getHelper());
        assertNull(java.getLayer(0).getHelper());

        Nd4j.getRandom().setSeed(seed);
        long[] shape = config.format == CNN2DFormat.NCHW ? new long[]{3, 2, 9, 9} : new long[]{3, 9, 9, 2};
        INDArray x = Nd4j.rand(type, shape).subi(0.5);
        INDArray direct = new NativePooling(type).activate(x, true, config.kernel, config.stride, config.pad,
                org.deeplearning4j.nn.conf.layers.PoolingType.MAX, config.mode, config.dilation, config.format,
                LayerWorkspaceMgr.noWorkspaces());
        assertEquals(config.native_, direct != null, "runs natively");
        INDArray y = Nd4j.rand(type, 3, 4);
        double tolerance = type == DataType.DOUBLE ? 1e-14 : 1e-6;
        assertClose(java.output(x), fast.output(x), tolerance, "output");
        Pair<Gradient, INDArray> g = java.calculateGradients(x, y, null, null);
        Pair<Gradient, INDArray> f = fast.calculateGradients(x, y, null, null);
        assertClose(g.getSecond(), f.getSecond(), tolerance, "error at the input");
        assertClose(g.getFirst().gradient(), f.getFirst().gradient(), tolerance, "parameter gradient");
    }

    private static MultiLayerNetwork network(Config config, DataType type) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(type).seed(3)
                .list()
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(config.kernel).stride(config.stride)
                        .padding(config.pad).dilation(config.dilation).convolutionMode(config.mode)
                        .dataFormat(config.format).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(4)
                        .activation(Activation.IDENTITY).build())
                .setInputType(InputType.convolutional(9, 9, 2, config.format))
                .build());
        net.init();
        return net;
    }

    private static void assertClose(INDArray expected, INDArray actual, double rel, String what) {
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), what);
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= rel * scale, what + ": max difference " + diff);
    }
}
