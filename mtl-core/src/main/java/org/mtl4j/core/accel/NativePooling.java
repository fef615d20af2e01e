package org.mtl4j.core.accel;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingHelper;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Collections;
import java.util.Map;

/**
 * Runs the backward pass of DL4J's {@code SubsamplingLayer} (2-d max pooling) on libnd4j's own
 * {@code maxpool2d_bp} op, with oneDNN's platform implementation switched off for the call.
 *
 * <p>The layer computes {@code y[n, c, i, j] = max over the window of x}, the window of kernel {@code kH x kW}
 * at {@code (i sH, j sW)}; the error at {@code y} goes to each window's maximum. DL4J M2.1 calls a pooling
 * helper in the backward pass only: its forward pass runs libnd4j's {@code maxpool2d} op itself, so with the
 * oneDNN natives the forward pass stays oneDNN's. {@link #activate} runs the same op as DL4J's forward pass,
 * without oneDNN, for callers that use the helper directly. libnd4j's generic kernels loop over the plain
 * NCHW or NHWC layout, where oneDNN's pooling in the {@code linux-x86_64-onednn-avx2} 1.0.0-M2.1 natives takes
 * a slow reference path for plain layouts: on hard-cnn's pooling shapes, one thread, libnd4j's backward took
 * 11.9 and 3.3 ms against oneDNN's 36.4 and 10.4 ms (forward: 2.9 and 0.8 against 23.4 and 6.5 ms).
 *
 * <p>What runs where:
 * <ul>
 *   <li>Max pooling, float or double, NCHW or NHWC, any window and stride runs natively when no window
 *       reaches into padding (no explicit padding; in Same mode, sizes that need none) and there is no
 *       dilation.</li>
 *   <li>Padded or dilated max pooling, average, sum and p-norm pooling, and other data types, return
 *       {@code null}: DL4J's Java path runs them (DL4J's contract for a helper that declines). With padding or
 *       dilation, DL4J's Java backward pass and libnd4j's sent the error at the output to different inputs in
 *       tests (where a window's values were all negative, with padding), so they stay DL4J's.</li>
 * </ul>
 */
public final class NativePooling implements SubsamplingHelper {

    /**
     * A helper for one layer.
     *
     * @param dataType the network's data type (unused: each call reads its arrays' type)
     */
    public NativePooling(DataType dataType) {
        // one instance per layer; nothing to keep between calls
    }

    /**
     * Always true: libnd4j's generic pooling kernels are in every CPU build.
     *
     * @return true
     */
    @Override
    public boolean checkSupported() {
        return true;
    }

    /**
     * The forward pass, or null where DL4J's Java path must run.
     *
     * @param input           {@code [mb, c, h, w]} (NCHW) or {@code [mb, h, w, c]} (NHWC)
     * @param training        unused
     * @param kernel          the window
     * @param strides         the strides
     * @param pad             the padding (a padded or dilated layer declines)
     * @param poolingType     only {@code MAX} runs here
     * @param convolutionMode the convolution mode
     * @param dilation        the dilation
     * @param format          the data layout
     * @param workspaceMgr    the layer's workspaces (the output is an activation)
     * @return the pooled activations, or null
     */
    @Override
    public INDArray activate(INDArray input, boolean training, int[] kernel, int[] strides, int[] pad,
                             PoolingType poolingType, ConvolutionMode convolutionMode, int[] dilation,
                             CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
        int[] out = outputSizeIfNative(input, kernel, strides, pad, poolingType, convolutionMode, dilation, format);
        if (out == null) {
            return null;
        }
        long mb = input.size(0);
        long channels = input.size(format == CNN2DFormat.NCHW ? 1 : 3);
        long[] shape = format == CNN2DFormat.NCHW ? new long[]{mb, channels, out[0], out[1]}
                : new long[]{mb, out[0], out[1], channels};
        INDArray output = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), shape);
        run("maxpool2d", args(kernel, strides, format), new INDArray[]{input}, output);
        return output;
    }

    /**
     * The backward pass, or null where DL4J's Java path must run.
     *
     * @param input           the forward pass's input
     * @param epsilon         the error at the output
     * @param kernel          the window
     * @param strides         the strides
     * @param pad             the padding (a padded or dilated layer declines)
     * @param poolingType     only {@code MAX} runs here
     * @param convolutionMode the convolution mode
     * @param dilation        the dilation
     * @param format          the data layout
     * @param workspaceMgr    the layer's workspaces (the input error is an activation gradient)
     * @return an empty gradient (pooling has no parameters) and the error at the input, or null
     */
    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, int[] kernel, int[] strides,
                                                     int[] pad, PoolingType poolingType,
                                                     ConvolutionMode convolutionMode, int[] dilation,
                                                     CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
        if (epsilon.dataType() != input.dataType()
                || outputSizeIfNative(input, kernel, strides, pad, poolingType, convolutionMode, dilation, format) == null) {
            return null;
        }
        INDArray gradAtInput = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
                input.shape());
        run("maxpool2d_bp", args(kernel, strides, format), new INDArray[]{input, epsilon}, gradAtInput);
        return new Pair<>(new DefaultGradient(), gradAtInput);
    }

    /**
     * Nothing beyond the layer's own arrays.
     *
     * @return an empty map
     */
    @Override
    public Map<String, Long> helperMemoryUse() {
        return Collections.emptyMap();
    }

    /**
     * The output's height and width when the call runs here, else null: max pooling of a rank-4 float or double
     * input with no window reaching into padding (explicit padding, or the implicit padding of Same mode) and no
     * dilation. With padding or dilation, DL4J's Java backward pass and libnd4j's sent the error to different
     * inputs in tests, so those layers stay DL4J's.
     */
    private static int[] outputSizeIfNative(INDArray input, int[] kernel, int[] strides, int[] pad,
                                            PoolingType poolingType, ConvolutionMode mode, int[] dilation,
                                            CNN2DFormat format) {
        if (poolingType != PoolingType.MAX || input.rank() != 4
                || input.dataType() != DataType.FLOAT && input.dataType() != DataType.DOUBLE
                || dilation[0] != 1 || dilation[1] != 1
                || mode != ConvolutionMode.Same && (pad[0] != 0 || pad[1] != 0)) {
            return null;
        }
        int[] out = ConvolutionUtils.getOutputSize(input, kernel, strides, mode == ConvolutionMode.Same ? null : pad,
                mode, dilation, format);
        int h = (int) input.size(format == CNN2DFormat.NCHW ? 2 : 1);
        int w = (int) input.size(format == CNN2DFormat.NCHW ? 3 : 2);
        boolean samePadding = (out[0] - 1) * strides[0] + kernel[0] > h || (out[1] - 1) * strides[1] + kernel[1] > w;
        return samePadding ? null : out;
    }

    /**
     * libnd4j's pooling arguments: kH, kW, sH, sW, pH, pW, dH, dW, isSame, extra (unused by max), isNHWC; no
     * padding and no dilation (such layers decline), so Same mode is Truncate here.
     */
    private static long[] args(int[] kernel, int[] strides, CNN2DFormat format) {
        return new long[]{kernel[0], kernel[1], strides[0], strides[1], 0, 0, 1, 1, 0, 0,
                format == CNN2DFormat.NHWC ? 1 : 0};
    }

    private static void run(String op, long[] iArgs, INDArray[] inputs, INDArray output) {
        try (OpContext ctx = Nd4j.getExecutioner().buildContext()) {
            ctx.allowHelpers(false);   // libnd4j's own kernel, not oneDNN's platform implementation
            ctx.setIArguments(iArgs);
            for (int i = 0; i < inputs.length; i++) {
                ctx.setInputArray(i, inputs[i]);
            }
            ctx.setOutputArray(0, output);
            Nd4j.exec(DynamicCustomOp.builder(op).build(), ctx);
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(op + " failed", e);
        }
    }
}
