package org.mtl4j.bench;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.losses.CaGrad;
import org.mtl4j.losses.DynamicWeightAverage;
import org.mtl4j.losses.GradNorm;
import org.mtl4j.losses.Imtl;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.losses.UncertaintyWeighting;
import org.mtl4j.sharing.CrossStitch;
import org.mtl4j.sharing.Sluice;
import org.mtl4j.sharing.SoftSharing;
import org.nd4j.linalg.activations.Activation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The standard side-by-side cases, by name, in run order: the hard-sharing cases ({@code hard-*}), then the
 * multi-column cases on the small MLP ({@code cross-stitch-T}, {@code soft-T} for T = 2, 4, 8, and
 * {@code sluice-4}), each against T single-task DL4J graphs trained side by side, with a default budget of
 * {@value #COLUMNS_BUDGET_S} s per case; then the loss combinators on the small MLP ({@code uncertainty},
 * {@code dwa}, {@code gradnorm}, {@code mgda-ub}, {@code imtl}, {@code pcgrad}, {@code cagrad}), each against
 * the same network with fixed equal weights, {@value #COMBINATOR_BUDGET_S} s per case.
 */
public final class Cases {

    /** The wall-time budget of a multi-column case, in seconds, when none is given on the command line. */
    public static final double COLUMNS_BUDGET_S = 30;

    /** The wall-time budget of a combinator case, in seconds, when none is given on the command line. */
    public static final double COMBINATOR_BUDGET_S = 20;

    private static final Map<String, BenchCase> ALL = new LinkedHashMap<>();

    static {
        add(BenchCase.hard("hard-mlp-small", "input 64, dense 256-256 ReLU, heads cls(10) + reg(1), batch 128",
                128, 0, () -> mlp(64, 256), List.of(Task.classification("cls", 10), Task.regression("reg"))));
        add(BenchCase.hard("hard-mlp-large", "input 512, dense 1024-1024 ReLU, heads cls(10) + reg(1), batch 512",
                512, 0, () -> mlp(512, 1024), List.of(Task.classification("cls", 10), Task.regression("reg"))));
        add(BenchCase.hard("hard-cnn", "36x36x1, conv5x5/16+pool2, conv5x5/32+pool2, dense 256, heads cls(10) x2,"
                + " batch 128", 128, 0, Cases::cnn,
                List.of(Task.classification("a", 10), Task.classification("b", 10))));
        Head last = Head.linear().lastTimeStep();
        add(BenchCase.hard("hard-lstm", "recurrent(32) x 20 steps, LSTM(64), last-step heads cls(10) + reg(1), batch 64",
                64, 20, Cases::lstm,
                List.of(Task.classification("cls", 10).withHead(last), Task.regression("reg").withHead(last))));
        for (int t : new int[]{2, 4, 8}) {
            add(columns("cross-stitch-" + t, t, "cross-stitch units (paper init 0.9 self) after each stage",
                    CrossStitch::new));
        }
        for (int t : new int[]{2, 4, 8}) {
            add(columns("soft-" + t, t, "soft sharing, lambda 1e-3 (mean form, weights)", () -> SoftSharing.of(1e-3)));
        }
        add(columns("sluice-4", 4, "sluice defaults (2 subspaces, lambda 0, learned beta)", Sluice::new));
        add(combinator("uncertainty", "uncertainty weighting (Kendall et al.)", UncertaintyWeighting::new));
        add(combinator("dwa", "dynamic weight average (Liu et al.)", DynamicWeightAverage::new));
        add(combinator("gradnorm", "GradNorm alpha 1.5 on the last shared layer", GradNorm::new));
        add(combinator("mgda-ub", "MGDA-UB on representation gradients", Mgda::new));
        add(combinator("imtl", "IMTL (hybrid) on representation gradients", Imtl::new));
        add(combinator("pcgrad", "PCGrad on shared-parameter gradients (one encoder backward per task)", PcGrad::new));
        add(combinator("cagrad", "CAGrad c 0.5 on shared-parameter gradients", CaGrad::new));
    }

    private Cases() {
    }

    /** The names of all cases, in run order. */
    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** The case with the given name. */
    public static BenchCase named(String name) {
        BenchCase c = ALL.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown case \"" + name + "\"; valid cases: " + String.join(", ", names()));
        }
        return c;
    }

    /** The cases with the given names, in the given order. */
    public static List<BenchCase> select(List<String> names) {
        List<BenchCase> out = new ArrayList<>();
        for (String n : names) {
            out.add(named(n));
        }
        return out;
    }

    private static void add(BenchCase c) {
        ALL.put(c.name(), c);
    }

    /**
     * A multi-column case on the small MLP with {@code count} tasks, alternately cls(10) and reg(1)
     * ({@code cls0}, {@code reg1}, {@code cls2}, ...).
     */
    private static BenchCase columns(String name, int count, String sharing, Supplier<SharingStrategy> strategy) {
        List<Task> tasks = new ArrayList<>();
        for (int t = 0; t < count; t++) {
            tasks.add(t % 2 == 0 ? Task.classification("cls" + t, 10) : Task.regression("reg" + t));
        }
        return BenchCase.columns(name, "input 64, " + count + " columns of dense 256-256 ReLU, " + sharing + ", "
                        + count + " heads cls(10)/reg(1) alternating, batch 128; baseline: " + count
                        + " single-task graphs, one fit each per step",
                128, () -> mlp(64, 256), tasks, strategy, COLUMNS_BUDGET_S);
    }

    /** A combinator case on the small MLP (hard-mlp-small's trunk, heads and batch). */
    private static BenchCase combinator(String name, String combinator, Supplier<LossCombinator> losses) {
        return BenchCase.combinator(name, "hard-mlp-small with " + combinator + "; baseline: the same network with"
                        + " fixed equal weights", 128, () -> mlp(64, 256),
                List.of(Task.classification("cls", 10), Task.regression("reg")), losses, COMBINATOR_BUDGET_S);
    }

    private static SharedTrunk mlp(int in, int width) {
        return SharedTrunk.builder(InputType.feedForward(in))
                .layer(new DenseLayer.Builder().nOut(width).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(width).activation(Activation.RELU).build())
                .build();
    }

    private static SharedTrunk cnn() {
        return SharedTrunk.builder(InputType.convolutional(36, 36, 1))
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(32).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(256).activation(Activation.RELU).build())
                .build();
    }

    private static SharedTrunk lstm() {
        return SharedTrunk.builder(InputType.recurrent(32))
                .layer(new LSTM.Builder().nOut(64).activation(Activation.TANH).build())
                .build();
    }
}
