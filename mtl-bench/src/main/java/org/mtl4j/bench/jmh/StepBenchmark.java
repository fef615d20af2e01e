package org.mtl4j.bench.jmh;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.sharing.CrossStitch;
import org.mtl4j.sharing.Sluice;
import org.mtl4j.sharing.SoftSharing;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One training step of the bench's small MLP (input 64, dense 256-256 ReLU, batch 128, four tasks alternating
 * 10-way classification and regression) for each sharing strategy with equal weights, and for hard sharing
 * with each gradient-level combinator. Differences between the configurations are the cost of the mixing
 * units, the penalties, the split backward pass and the per-task gradients.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class StepBenchmark {

    /** The configuration: a sharing strategy (equal weights) or a combinator (hard sharing). */
    @Param({"hard", "soft", "cross-stitch", "sluice", "mgda-ub", "pcgrad"})
    public String config;

    private MultiTaskNetwork net;
    private final List<MultiDataSet> batches = new ArrayList<>();
    private int next;

    /** Builds the network and four random minibatches. */
    @Setup
    public void setUp() {
        SharingStrategy sharing = switch (config) {
            case "soft" -> SoftSharing.of(1e-3);
            case "cross-stitch" -> new CrossStitch();
            case "sluice" -> new Sluice();
            default -> new HardSharing();
        };
        LossCombinator losses = switch (config) {
            case "mgda-ub" -> new Mgda();
            case "pcgrad" -> new PcGrad();
            default -> FixedWeights.equal();
        };
        List<Task> tasks = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            tasks.add(t % 2 == 0 ? Task.classification("cls" + t, 10) : Task.regression("reg" + t));
        }
        net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.feedForward(64))
                        .layer(new DenseLayer.Builder().nOut(256).activation(Activation.RELU).build())
                        .layer(new DenseLayer.Builder().nOut(256).activation(Activation.RELU).build())
                        .build())
                .tasks(tasks.toArray(new Task[0]))
                .sharing(sharing).losses(losses).updater(new Adam(1e-3)).dataType(DataType.FLOAT).seed(42).build();
        Nd4j.getRandom().setSeed(7);
        for (int i = 0; i < 4; i++) {
            INDArray[] labels = new INDArray[tasks.size()];
            for (int t = 0; t < tasks.size(); t++) {
                labels[t] = t % 2 == 0 ? oneHot(128, 10, i * 10 + t) : Nd4j.randn(DataType.FLOAT, 128, 1);
            }
            batches.add(new MultiDataSet(new INDArray[]{Nd4j.randn(DataType.FLOAT, 128, 64)}, labels));
        }
    }

    private static INDArray oneHot(int rows, int classes, int seed) {
        INDArray out = Nd4j.zeros(DataType.FLOAT, rows, classes);
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < rows; i++) {
            out.putScalar(i, r.nextInt(classes), 1f);
        }
        return out;
    }

    /** One training step. */
    @Benchmark
    public double step() {
        return net.fit(batches.get(next++ & 3)).totalLoss();
    }
}
