package org.mtl4j.bench.jmh;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.losses.CaGrad;
import org.mtl4j.losses.GradNorm;
import org.mtl4j.losses.Imtl;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
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
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * A gradient-level combinator's own arithmetic for one step, on the Gram matrix of T random task gradients
 * (conflicting: a shared component plus task-specific noise): what it adds to a step beyond computing the
 * task gradients.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CombinatorBenchmark {

    /** The combinator. */
    @Param({"mgda-ub", "pcgrad", "cagrad", "imtl", "gradnorm"})
    public String method;

    /** The number of tasks. */
    @Param({"2", "8"})
    public int tasks;

    private LossCombinator combinator;
    private TaskLosses losses;

    /** Builds the combinator and the losses with their Gram matrix. */
    @Setup
    public void setUp() {
        combinator = switch (method) {
            case "mgda-ub" -> new Mgda();
            case "pcgrad" -> new PcGrad();
            case "cagrad" -> new CaGrad();
            case "imtl" -> Imtl.builder().mode(Imtl.Mode.GRADIENT).build();
            case "gradnorm" -> GradNorm.builder().updater(new Sgd(1e-3)).build();
            default -> throw new IllegalArgumentException(method);
        };
        List<Task> taskList = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            taskList.add(Task.regression("t" + t));
            names.add("t" + t);
        }
        combinator.init(taskList);
        Random r = new Random(3);
        double[][] g = new double[tasks][64];
        for (int t = 0; t < tasks; t++) {
            for (int i = 0; i < 64; i++) {
                g[t][i] = (i < 8 ? 1 : 0) + r.nextGaussian();
            }
        }
        double[][] gram = new double[tasks][tasks];
        List<INDArray> rows = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            rows.add(Nd4j.create(g[i]).castTo(DataType.FLOAT));
            for (int j = 0; j < tasks; j++) {
                for (int k = 0; k < 64; k++) {
                    gram[i][j] += g[i][k] * g[j][k];
                }
            }
        }
        double[] values = new double[tasks];
        int[] labelled = new int[tasks];
        for (int t = 0; t < tasks; t++) {
            values[t] = 1 + t;
            labelled[t] = 128;
        }
        losses = new TaskLosses(names, values, labelled, 0, 0, rows, gram);
    }

    /** One combine (and, for GradNorm, its weight update). */
    @Benchmark
    public Object combine() {
        Object w = combinator.combine(losses);
        if (combinator instanceof GradNorm) {
            combinator.update(losses, null);
        }
        return w;
    }
}
