package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.sharing.graph.CrossStitchVertex;
import org.mtl4j.sharing.graph.MixingStageVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Cross-stitch networks (Misra, Shrivastava, Gupta and Hebert, "Cross-stitch Networks for Multi-task
 * Learning", CVPR 2016): one column (copy of the trunk) per task, mixed after every trunk stage by a learned
 * unit.
 *
 * <p>The unit after a stage computes
 * <pre>
 *   x~_i = sum_j alpha_ij x_j        (eq. 1)
 * </pre>
 * with {@code alpha} a learned T x T matrix per stage, or one such matrix per channel
 * ({@link Builder#perChannel(boolean)}). Each task's head reads its own column's mixed output of the last stage
 * (or of the stage it names with {@link Task#withStage}).
 *
 * <p>Defaults:
 * <ul>
 *   <li>initialisation ({@link Init}): the paper's {@code (alpha_S, alpha_D)} with self weight 0.9 and the rest
 *       split evenly, {@code 0.1 / (T - 1)} (the paper's two-task choice (0.9, 0.1) generalised); the
 *       alternatives are identity (independent columns) and uniform {@code 1/T};</li>
 *   <li>learning rate: the paper trains the units with a larger learning rate than the columns;
 *       {@link Builder#learningRateMultiplier(double)} scales the network updater's learning rate for the units
 *       (default 1, i.e. no scaling).</li>
 * </ul>
 *
 * <p>Departures from the paper and the reference code:
 * <ul>
 *   <li>The paper reports that the units need a learning rate 10^2 to 10^3 times the base rate, and Vandenhende
 *       et al.'s PyTorch reimplementation trains them at 100x with SGD (noting that Adam failed). The default
 *       multiplier here is 1 because with adaptive updaters (Adam, the default) a large multiplier makes the
 *       units jump: set it, with SGD, to follow the paper. A multiplier cannot scale a learning-rate schedule
 *       (an error says so).</li>
 *   <li>LibMTL initialises alpha to all ones and puts no unit after the last stage; here every stage, the last
 *       included, ends with a unit (as in the paper's figure and in Vandenhende et al.), and the paper's convex
 *       {@code (alpha_S, alpha_D)} is the default.</li>
 *   <li>Columns start from a fresh initialisation; starting them from trained single-task networks, which the
 *       paper found better, is up to the user (copy parameters with {@code graph().setParam}).</li>
 * </ul>
 *
 * <p>The units are DL4J graph vertices ({@link CrossStitchVertex}, named {@code stitch_<stage>_<column>}), so
 * their weights sit in the network's flat parameter vector and are saved with it. They read one
 * {@link MixingStageVertex} per stage ({@code stitch_<stage>}), which mixes all columns in one matrix
 * product: a stage costs a few whole-array operations per column, not T^2. Read them with
 * {@link #alphas(MultiTaskNetwork)}.
 */
public final class CrossStitch implements SharingStrategy {

    /** How the mixing matrices start. */
    public enum Init {
        /** Self weight {@code alphaSelf}, others {@code alphaOther} (the paper's {@code (alpha_S, alpha_D)}). */
        PAPER,
        /** The identity: the columns start independent. */
        IDENTITY,
        /** Every weight {@code 1/T}. */
        UNIFORM
    }

    private final Init init;
    private final double alphaSelf;
    private final double alphaOther;
    private final boolean perChannel;
    private final double learningRateMultiplier;
    private final boolean frozen;

    /** Cross-stitch with the defaults: paper initialisation (0.9, 0.1/(T-1)), one scalar per column pair. */
    public CrossStitch() {
        this(Init.PAPER, 0.9, Double.NaN, false, 1.0, false);
    }

    @JsonCreator
    private CrossStitch(@JsonProperty("init") Init init, @JsonProperty("alphaSelf") double alphaSelf,
                        @JsonProperty("alphaOther") double alphaOther, @JsonProperty("perChannel") boolean perChannel,
                        @JsonProperty("learningRateMultiplier") double learningRateMultiplier,
                        @JsonProperty("frozen") boolean frozen) {
        this.init = Objects.requireNonNull(init, "init");
        if (!Double.isFinite(alphaSelf)) {
            throw new IllegalArgumentException("cross-stitch alphaSelf must be finite, got " + alphaSelf);
        }
        if (Double.isInfinite(alphaOther)) {
            throw new IllegalArgumentException("cross-stitch alphaOther must be finite, got " + alphaOther);
        }
        if (!(learningRateMultiplier > 0) || Double.isInfinite(learningRateMultiplier)) {
            throw new IllegalArgumentException("cross-stitch learning-rate multiplier must be finite and > 0, got "
                    + learningRateMultiplier);
        }
        this.alphaSelf = alphaSelf;
        this.alphaOther = alphaOther;
        this.perChannel = perChannel;
        this.learningRateMultiplier = learningRateMultiplier;
        this.frozen = frozen;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #CrossStitch()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks) {
        IUpdater updater = unitUpdater(graph.getGlobalConfiguration().getIUpdater());
        List<List<String>> outputs = Columns.add(graph, input, trunk, tasks, (g, stage, active, stageOutputs, type) -> {
            long channels = perChannel ? channels(type, stage) : 1;
            int columns = active.size();
            g.addVertex(stageName(stage), new MixingStageVertex(columns), stageOutputs.toArray(new String[0]));
            List<String> mixed = new ArrayList<>();
            for (int row = 0; row < columns; row++) {
                String name = unitName(stage, active.get(row));
                g.addVertex(name, new CrossStitchVertex(row, columns, channels, initialRow(row, columns), frozen,
                        updater.clone()), stageName(stage));
                mixed.add(name);
            }
            return mixed;
        });
        return Columns.representations(outputs);
    }

    /**
     * The vertex name of stage {@code stage}'s unit producing column {@code column}.
     *
     * @param stage  the 0-based trunk stage
     * @param column the column's index (its task's index in task order)
     * @return {@code stitch_<stage>_<column>}
     */
    public static String unitName(int stage, int column) {
        return "stitch_" + stage + "_" + column;
    }

    /**
     * The vertex name of stage {@code stage}'s {@link MixingStageVertex}, which its units read.
     *
     * @param stage the 0-based trunk stage
     * @return {@code stitch_<stage>}
     */
    public static String stageName(int stage) {
        return "stitch_" + stage;
    }

    /**
     * The learned mixing matrices of a cross-stitch network, one per trunk stage: {@code [T, T]} with
     * {@code alpha[i][j]} the weight of column j in column i's output, or {@code [T, T, C]} per channel.
     * At a stage that some low-level tasks' columns do not reach, T counts the columns that do, in task order.
     *
     * @param network a network built with cross-stitch sharing
     * @return copies of the mixing matrices, stage 0 first
     * @throws IllegalArgumentException if the network does not use cross-stitch sharing
     */
    public static List<INDArray> alphas(MultiTaskNetwork network) {
        if (!(network.sharing() instanceof CrossStitch)) {
            throw new IllegalArgumentException("the network uses " + network.sharing() + ", not cross-stitch sharing");
        }
        ComputationGraph graph = network.graph();
        int tasks = network.tasks().size();
        List<INDArray> out = new ArrayList<>();
        for (int stage = 0; ; stage++) {
            List<INDArray> rows = new ArrayList<>();
            for (int column = 0; column < tasks; column++) {
                if (graph.getVertex(unitName(stage, column)) != null) {
                    rows.add(graph.getVertex(unitName(stage, column)).paramTable(false).get(CrossStitchVertex.ALPHA)
                            .dup());
                }
            }
            if (rows.isEmpty()) {
                return out;
            }
            INDArray stacked = Nd4j.stack(0, rows.toArray(new INDArray[0]));
            out.add(stacked.size(2) == 1 ? stacked.reshape(rows.size(), rows.size()) : stacked);
        }
    }

    /**
     * Each stage's alphas as {@code alpha.s<stage>[<task i><-<task j>]}, the weight of task j's column in task
     * i's (the mean over channels for per-channel units).
     */
    @Override
    public Map<String, Double> learnedValues(MultiTaskNetwork network) {
        Map<String, Double> values = new LinkedHashMap<>();
        List<INDArray> alphas = alphas(network);
        for (int stage = 0; stage < alphas.size(); stage++) {
            List<String> columns = Columns.reaching(network, stage, CrossStitch::unitName);
            INDArray a = alphas.get(stage);
            for (int i = 0; i < columns.size(); i++) {
                for (int j = 0; j < columns.size(); j++) {
                    double v = a.rank() == 2 ? a.getDouble(i, j) : a.get(NDArrayIndex.point(i), NDArrayIndex.point(j),
                            NDArrayIndex.all()).meanNumber().doubleValue();
                    values.put("alpha.s" + stage + "[" + columns.get(i) + "<-" + columns.get(j) + "]", v);
                }
            }
        }
        return values;
    }

    private double[] initialRow(int row, int columns) {
        double[] r = new double[columns];
        for (int j = 0; j < columns; j++) {
            r[j] = switch (init) {
                case IDENTITY -> j == row ? 1 : 0;
                case UNIFORM -> 1.0 / columns;
                case PAPER -> j == row ? (columns == 1 ? 1 : alphaSelf)
                        : Double.isNaN(alphaOther) ? 0.1 / (columns - 1) : alphaOther;
            };
        }
        return r;
    }

    private IUpdater unitUpdater(IUpdater global) {
        IUpdater u = global.clone();
        if (learningRateMultiplier != 1.0) {
            if (frozen) {
                throw new IllegalArgumentException("frozen cross-stitch units take no learning-rate multiplier");
            }
            if (!u.hasLearningRate()) {
                throw new IllegalArgumentException("a cross-stitch learning-rate multiplier needs an updater with a"
                        + " learning rate, but the network uses " + u);
            }
            if (u.getLearningRate(0, 0) != u.getLearningRate(1_000_000, 1_000)) {
                throw new IllegalArgumentException("a cross-stitch learning-rate multiplier cannot scale a learning-rate"
                        + " schedule; use a fixed learning rate or multiplier 1");
            }
            u.setLrAndSchedule(u.getLearningRate(0, 0) * learningRateMultiplier, null);
        }
        return u;
    }

    private static long channels(InputType type, int stage) {
        if (type instanceof InputType.InputTypeFeedForward ff) {
            return ff.getSize();
        }
        if (type instanceof InputType.InputTypeRecurrent r) {
            if (r.getFormat() != RNNFormat.NCW) {
                throw new IllegalArgumentException("per-channel cross-stitch needs NCW recurrent activations, but stage "
                        + stage + " gives " + type);
            }
            return r.getSize();
        }
        if (type instanceof InputType.InputTypeConvolutional c) {
            if (c.getFormat() != CNN2DFormat.NCHW) {
                throw new IllegalArgumentException("per-channel cross-stitch needs NCHW activations, but stage " + stage
                        + " gives " + type);
            }
            return c.getChannels();
        }
        throw new IllegalArgumentException("per-channel cross-stitch does not support stage " + stage + " output " + type);
    }

    /** {@return the initialisation scheme} */
    @JsonProperty("init")
    public Init getInit() {
        return init;
    }

    /** {@return the paper's {@code alpha_S}, the initial self weight (with {@link Init#PAPER})} */
    @JsonProperty("alphaSelf")
    public double getAlphaSelf() {
        return alphaSelf;
    }

    /** {@return the paper's {@code alpha_D}, the initial weight of each other column; NaN means {@code 0.1/(T-1)}} */
    @JsonProperty("alphaOther")
    public double getAlphaOther() {
        return alphaOther;
    }

    /** {@return whether each column pair has one weight per channel} */
    @JsonProperty("perChannel")
    public boolean isPerChannel() {
        return perChannel;
    }

    /** {@return the factor applied to the network updater's learning rate for the units} */
    @JsonProperty("learningRateMultiplier")
    public double getLearningRateMultiplier() {
        return learningRateMultiplier;
    }

    /** {@return whether the units keep their initial weights (an ablation: identity and frozen = independent columns)} */
    @JsonProperty("frozen")
    public boolean isFrozen() {
        return frozen;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CrossStitch c && init == c.init && Double.compare(alphaSelf, c.alphaSelf) == 0
                && Double.compare(alphaOther, c.alphaOther) == 0 && perChannel == c.perChannel
                && Double.compare(learningRateMultiplier, c.learningRateMultiplier) == 0 && frozen == c.frozen;
    }

    @Override
    public int hashCode() {
        return Objects.hash(init, alphaSelf, alphaOther, perChannel, learningRateMultiplier, frozen);
    }

    @Override
    public String toString() {
        return "CrossStitch(init=" + init + (init == Init.PAPER ? "(" + alphaSelf + ", "
                + (Double.isNaN(alphaOther) ? "0.1/(T-1)" : alphaOther) + ")" : "") + ", perChannel=" + perChannel
                + ", lrMultiplier=" + learningRateMultiplier + (frozen ? ", frozen" : "") + ")";
    }

    /** Builds a {@link CrossStitch}. */
    public static final class Builder {
        private Init init = Init.PAPER;
        private double alphaSelf = 0.9;
        private double alphaOther = Double.NaN;
        private boolean perChannel;
        private double learningRateMultiplier = 1.0;
        private boolean frozen;

        private Builder() {
        }

        /**
         * The paper's initialisation with self weight {@code alphaSelf} and other weights {@code alphaOther}.
         *
         * @param alphaSelf  {@code alpha_S}, the initial weight of a column in its own output, finite (default 0.9)
         * @param alphaOther {@code alpha_D}, the initial weight of each other column, finite; NaN for
         *                   {@code 0.1/(T-1)} (the default)
         * @return this builder
         */
        public Builder init(double alphaSelf, double alphaOther) {
            this.init = Init.PAPER;
            this.alphaSelf = alphaSelf;
            this.alphaOther = alphaOther;
            return this;
        }

        /**
         * The initialisation scheme ({@link Init#PAPER} keeps the configured weights).
         *
         * @param init paper (default), identity or uniform
         * @return this builder
         */
        public Builder init(Init init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * One weight per channel (feature, or convolution channel) per column pair.
         *
         * @param perChannel true for a {@code [T, T, C]} matrix per stage, false (default) for {@code [T, T]}
         * @return this builder
         */
        public Builder perChannel(boolean perChannel) {
            this.perChannel = perChannel;
            return this;
        }

        /**
         * Scales the network updater's learning rate for the units.
         *
         * @param multiplier the factor, finite and {@code > 0} (default 1; the paper uses 100 to 1000 with SGD)
         * @return this builder
         */
        public Builder learningRateMultiplier(double multiplier) {
            this.learningRateMultiplier = multiplier;
            return this;
        }

        /**
         * Keeps the units at their initial weights (they are not trained).
         *
         * @param frozen true to freeze the units (default false)
         * @return this builder
         */
        public Builder frozen(boolean frozen) {
            this.frozen = frozen;
            return this;
        }

        /**
         * Builds the strategy.
         *
         * @return the immutable strategy
         * @throws IllegalArgumentException if {@code alphaSelf} is not finite, {@code alphaOther} is infinite, or the
         *                                  multiplier is not finite and positive
         */
        public CrossStitch build() {
            return new CrossStitch(init, alphaSelf, alphaOther, perChannel, learningRateMultiplier, frozen);
        }
    }
}
