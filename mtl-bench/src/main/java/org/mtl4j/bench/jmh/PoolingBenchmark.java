package org.mtl4j.bench.jmh;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * libnd4j's 2x2 max pooling (stride 2, float, NCHW) on hard-cnn's two pooling inputs, forward and backward, with
 * the natives' platform implementation (oneDNN's, where the natives have it) and with libnd4j's own kernels:
 * why {@code NativePooling} switches oneDNN off for pooling.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolingBenchmark {

    /** The input shape: hard-cnn's first ({@code 128x16x32x32}) or second ({@code 128x32x12x12}) pooling. */
    @Param({"128x16x32x32", "128x32x12x12"})
    public String shape;

    /** Whether the natives' platform implementation may run (oneDNN's in the onednn natives). */
    @Param({"true", "false"})
    public boolean platform;

    private INDArray input;
    private INDArray output;
    private INDArray epsilon;
    private INDArray gradient;
    private OpContext forward;
    private OpContext backward;

    /** Makes the arrays and the two op contexts. */
    @Setup
    public void setUp() {
        String[] d = shape.split("x");
        long n = Long.parseLong(d[0]);
        long c = Long.parseLong(d[1]);
        long h = Long.parseLong(d[2]);
        long w = Long.parseLong(d[3]);
        Nd4j.getRandom().setSeed(1);
        input = Nd4j.rand(DataType.FLOAT, n, c, h, w);
        output = Nd4j.create(DataType.FLOAT, n, c, h / 2, w / 2);
        epsilon = Nd4j.rand(DataType.FLOAT, n, c, h / 2, w / 2);
        gradient = Nd4j.create(DataType.FLOAT, n, c, h, w);
        forward = context(new INDArray[]{input}, output);
        backward = context(new INDArray[]{input, epsilon}, gradient);
    }

    /** Closes the op contexts. */
    @TearDown
    public void tearDown() throws Exception {
        forward.close();
        backward.close();
    }

    /**
     * The forward pass.
     *
     * @return the pooled array
     */
    @Benchmark
    public INDArray maxpool2d() {
        Nd4j.exec(DynamicCustomOp.builder("maxpool2d").build(), forward);
        return output;
    }

    /**
     * The backward pass.
     *
     * @return the error at the input
     */
    @Benchmark
    public INDArray maxpool2dBp() {
        Nd4j.exec(DynamicCustomOp.builder("maxpool2d_bp").build(), backward);
        return gradient;
    }

    private OpContext context(INDArray[] inputs, INDArray out) {
        OpContext ctx = Nd4j.getExecutioner().buildContext();
        ctx.allowHelpers(platform);
        ctx.setIArguments(2, 2, 2, 2, 0, 0, 1, 1, 0, 0, 0);
        for (int i = 0; i < inputs.length; i++) {
            ctx.setInputArray(i, inputs[i]);
        }
        ctx.setOutputArray(0, out);
        return ctx;
    }
}
