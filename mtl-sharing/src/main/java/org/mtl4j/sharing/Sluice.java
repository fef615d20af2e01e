package org.mtl4j.sharing;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.sharing.graph.LayerStitchVertex;
import org.mtl4j.sharing.graph.MixingStageVertex;
import org.mtl4j.sharing.graph.SluiceUnit;
import org.mtl4j.sharing.graph.SluiceVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Sluice networks (Ruder, Bingel, Augenstein and Sogaard, "Latent Multi-task Architecture Learning",
 * AAAI 2019): one column per task, whose stage outputs are split into subspaces that a learned matrix mixes
 * across all tasks, and whose stages a learned layer stitch combines into the task's representation.
 *
 * <p>After every trunk stage each column's output is split into K subspaces along the feature dimension, and a
 * learned {@code (T K) x (T K)} matrix alpha mixes all subspaces of all tasks ({@link SluiceVertex}, named
 * {@code sluice_<stage>_<column>}, reading the stage's {@link MixingStageVertex} {@code sluice_<stage>}, which
 * mixes them all in one matrix product). A penalty on each stage's subspace outputs pushes the subspaces of a
 * column apart (the paper's orthogonality constraint):
 * <pre>
 *   lambda * sum_t sum_{k&lt;k'} ||G_{t,k}^T G_{t,k'}||_F^2
 * </pre>
 * Layer stitching ({@link Beta}) builds each task's representation from its column's stages: by default a
 * learned weighted sum ({@code sluice_beta_<column>}, {@link LayerStitchVertex}); or a plain sum, a
 * concatenation, or the last stage alone. The weighted and plain sums need stages of equal shape. With K = 1,
 * lambda = 0 and {@link Beta#LAST} a sluice network is a cross-stitch network. Read the learned weights with
 * {@link #alphas} and {@link #betas}.
 *
 * <p>Defaults:
 * <ul>
 *   <li>K = 2 subspaces (the paper's);</li>
 *   <li>lambda = 0 (the penalty is off), as in the authors' code: the penalty is not normalised, so its scale
 *       grows with the square of the minibatch's activations (on the bench's 256-wide MLP at batch 128, lambda
 *       0.01 gave a penalty of about 78,000 against task losses of about 7); choose lambda for your data and
 *       batch size;</li>
 *   <li>alpha starts at {@code 0.9} on each subspace's own entry and splits {@code 0.1} evenly over the other
 *       {@code T K - 1} entries of its row (with K = 1 this is {@link CrossStitch}'s default);
 *       {@link CrossStitch.Init} also offers identity and uniform;</li>
 *   <li>beta is a learned weighted sum ({@link Beta#WEIGHTED}) initialised to 0.9 on the last stage and the rest
 *       split evenly, where the trunk's stages have equal shapes; on a trunk whose stages differ (the README
 *       quickstart's 32 then 16 units) the default concatenates the stages instead ({@link Beta#CONCAT}, logged
 *       once at build), so any trunk works. An explicit {@link Builder#beta(Beta)} {@link Beta#WEIGHTED} keeps
 *       refusing stages of unequal shape.</li>
 * </ul>
 *
 * <p>Departures from the paper and the reference code:
 * <ul>
 *   <li>The paper leaves open whether G are weights or activations. Here the penalty is on each column's stage
 *       output (activations) before the alpha mixing, with every example (and time step or pixel) a row of G,
 *       unnormalised: it grows with the minibatch size and the sequence length, so lambda must be tuned
 *       together with them (a TensorFlow reimplementation in deepchem does the same).</li>
 *   <li>The authors' code (sebastianruder/sluice-networks) instead penalises LSTM weight matrices, only for
 *       K = 2: {@link Builder#orthogonality(Orthogonality)} with {@link Orthogonality#WEIGHTS} penalises the
 *       weights of every dense, convolution and LSTM column layer split by output units (LSTM gate blocks kept
 *       aligned), for any K.</li>
 *   <li>The authors' code initialises alpha uniformly by default ({@link CrossStitch.Init#UNIFORM} here) and
 *       beta as here (0.9 on the last layer, not normalised).</li>
 *   <li>The authors' code defaults to K = 1 and no penalty; this class follows the paper's K = 2 and the code's
 *       lambda = 0.</li>
 *   <li>K &gt; 2 sums the penalty over all pairs of subspaces.</li>
 * </ul>
 */
public final class Sluice implements SharingStrategy {

    private static final Logger log = LoggerFactory.getLogger(Sluice.class);

    /** What the orthogonality penalty constrains. */
    public enum Orthogonality {
        /** Each column's stage outputs (activations) before mixing: the paper's subspaces (default). */
        ACTIVATIONS,
        /** Each column layer's weights, split by output units: the authors' code (dense, convolution, LSTM). */
        WEIGHTS
    }

    /** How a task's representation combines its column's stage outputs (layer stitching). */
    public enum Beta {
        /** A learned weighted sum of the stage outputs (the paper's beta). */
        WEIGHTED,
        /** The plain sum of the stage outputs. */
        SUM,
        /** The stage outputs concatenated along the feature dimension. */
        CONCAT,
        /** The last stage's output alone (no layer stitching). */
        LAST
    }

    private final int subspaces;
    private final double lambda;
    private final CrossStitch.Init init;
    private final double alphaSelf;
    private final Beta beta;
    private final double betaLast;
    private final Orthogonality orthogonality;

    /**
     * Sluice with the defaults: 2 subspaces, no orthogonality penalty, alpha 0.9 self, learned beta 0.9 last
     * (concatenated stages where the stages' shapes differ).
     */
    public Sluice() {
        this(2, 0.0, CrossStitch.Init.PAPER, 0.9, null, 0.9, Orthogonality.ACTIVATIONS);
    }

    @JsonCreator
    private Sluice(@JsonProperty("subspaces") int subspaces, @JsonProperty("lambda") double lambda,
                   @JsonProperty("init") CrossStitch.Init init, @JsonProperty("alphaSelf") double alphaSelf,
                   @JsonProperty("beta") Beta beta, @JsonProperty("betaLast") double betaLast,
                   @JsonProperty("orthogonality") Orthogonality orthogonality) {
        if (subspaces < 1) {
            throw new IllegalArgumentException("sluice needs at least 1 subspace, got " + subspaces);
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("sluice orthogonality lambda must be finite and >= 0, got " + lambda);
        }
        if (!Double.isFinite(alphaSelf) || !Double.isFinite(betaLast)) {
            throw new IllegalArgumentException("sluice initial weights must be finite, got alphaSelf=" + alphaSelf
                    + ", betaLast=" + betaLast);
        }
        this.subspaces = subspaces;
        this.lambda = lambda;
        this.init = Objects.requireNonNull(init, "init");
        this.alphaSelf = alphaSelf;
        this.beta = beta;
        this.betaLast = betaLast;
        this.orthogonality = orthogonality == null ? Orthogonality.ACTIVATIONS : orthogonality;
    }

    /**
     * Starts a configuration.
     *
     * @return a builder with the defaults of {@link #Sluice()}
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks) {
        IUpdater updater = graph.getGlobalConfiguration().getIUpdater();
        List<List<String>> outputs = Columns.add(graph, input, trunk, tasks, (g, stage, active, stageOutputs, type) -> {
            long width = features(type);
            if (width % subspaces != 0) {
                throw new IllegalArgumentException("sluice: trunk stage " + stage + " outputs " + width + " features ("
                        + type + "), which " + subspaces + " subspaces cannot split evenly");
            }
            int columns = active.size();
            g.addVertex(stageName(stage), new MixingStageVertex(columns), stageOutputs.toArray(new String[0]));
            List<String> mixed = new ArrayList<>();
            for (int row = 0; row < columns; row++) {
                String name = unitName(stage, active.get(row));
                double unitLambda = orthogonality == Orthogonality.ACTIVATIONS ? lambda : 0;
                g.addVertex(name, new SluiceVertex(row, columns, subspaces, initialAlpha(row, columns), unitLambda,
                        updater.clone()), stageName(stage));
                mixed.add(name);
            }
            return mixed;
        });
        List<String> representations = new ArrayList<>();
        for (int t = 0; t < tasks.size(); t++) {
            representations.add(stitch(graph, tasks.get(t), t, outputs.get(t), updater));
        }
        return representations;
    }

    /** Layer stitching for one task over its column's stage outputs. */
    private String stitch(GraphBuilder graph, Task task, int column, List<String> stages, IUpdater updater) {
        Beta mode = beta == null ? Beta.WEIGHTED : beta;
        if (mode == Beta.LAST || stages.size() == 1) {
            return stages.get(stages.size() - 1);
        }
        String name = betaName(column);
        String[] inputs = stages.toArray(new String[0]);
        InputType first = Columns.typeOf(graph, stages.get(0));
        for (int s = 1; s < stages.size() && mode != Beta.CONCAT; s++) {
            InputType other = Columns.typeOf(graph, stages.get(s));
            if (!other.equals(first) && beta == null) {
                log.info("task \"{}\": sluice concatenates its column's stages (Beta.CONCAT): the default weighted"
                        + " layer stitch needs stages of equal shape, but stage 0 gives {} and stage {} gives {}",
                        task.name(), first, s, other);
                mode = Beta.CONCAT;
            } else if (!other.equals(first)) {
                throw new IllegalArgumentException("task \"" + task.name() + "\": sluice beta " + beta.name().toLowerCase()
                        + " needs trunk stages of equal shape, but stage 0 gives " + first + " and stage " + s + " gives "
                        + other + "; use Beta.CONCAT or Beta.LAST, or equal stage widths");
            }
        }
        if (mode == Beta.CONCAT) {
            graph.addVertex(name, new MergeVertex(), inputs);
        } else if (mode == Beta.SUM) {
            graph.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), inputs);
        } else {
            double[] b = new double[stages.size()];
            for (int s = 0; s < b.length; s++) {
                b[s] = s == b.length - 1 ? betaLast : (1 - betaLast) / (b.length - 1);
            }
            graph.addVertex(name, new LayerStitchVertex(b, updater.clone()), inputs);
        }
        return name;
    }

    private double[] initialAlpha(int row, int columns) {
        int width = columns * subspaces;
        double[] a = new double[subspaces * width];
        for (int k = 0; k < subspaces; k++) {
            int self = row * subspaces + k;
            for (int c = 0; c < width; c++) {
                a[k * width + c] = switch (init) {
                    case IDENTITY -> c == self ? 1 : 0;
                    case UNIFORM -> 1.0 / width;
                    case PAPER -> width == 1 ? 1 : c == self ? alphaSelf : (1 - alphaSelf) / (width - 1);
                };
            }
        }
        return a;
    }

    private static long features(InputType type) {
        if (type instanceof InputType.InputTypeFeedForward ff) {
            return ff.getSize();
        }
        if (type instanceof InputType.InputTypeRecurrent r) {
            return r.getSize();
        }
        if (type instanceof InputType.InputTypeConvolutional c) {
            return c.getChannels();
        }
        throw new IllegalArgumentException("sluice does not support stage outputs of type " + type);
    }

    @Override
    public void initParameters(ComputationGraph graph) {
        if (orthogonality == Orthogonality.WEIGHTS && lambda > 0) {
            WeightOrthogonality.check(graph, subspaces);
        }
    }

    /**
     * The orthogonality penalty: on activations, the sum of the units' penalties of the last forward pass
     * (they add its gradient in backprop); on weights, computed here with its gradient.
     */
    @Override
    public double penalty(ComputationGraph graph, INDArray gradient, double scale) {
        if (orthogonality == Orthogonality.WEIGHTS) {
            return lambda == 0 ? 0 : WeightOrthogonality.penalty(graph, subspaces, lambda, gradient, scale);
        }
        double sum = 0;
        for (GraphVertex v : graph.getVertices()) {
            if (v instanceof SluiceUnit unit) {
                sum += unit.penalty();
            }
        }
        return sum;
    }

    /** True when the orthogonality penalty is on and acts on activations (its gradient joins the backward pass). */
    @Override
    public boolean penalisesActivations() {
        return lambda > 0 && orthogonality == Orthogonality.ACTIVATIONS;
    }

    /**
     * The vertex name of stage {@code stage}'s unit producing column {@code column}.
     *
     * @param stage  the 0-based trunk stage
     * @param column the column's index (its task's index in task order)
     * @return {@code sluice_<stage>_<column>}
     */
    public static String unitName(int stage, int column) {
        return "sluice_" + stage + "_" + column;
    }

    /**
     * The vertex name of stage {@code stage}'s {@link MixingStageVertex}, which its units read.
     *
     * @param stage the 0-based trunk stage
     * @return {@code sluice_<stage>}
     */
    public static String stageName(int stage) {
        return "sluice_" + stage;
    }

    /**
     * The vertex name of column {@code column}'s layer-stitching unit.
     *
     * @param column the column's index (its task's index in task order)
     * @return {@code sluice_beta_<column>}
     */
    public static String betaName(int column) {
        return "sluice_beta_" + column;
    }

    /**
     * The learned alpha matrices, one per trunk stage, {@code [T K, T K]} with row {@code t K + k} the
     * weights of subspace k of column t's output (T counts the columns that reach the stage).
     *
     * @param network a network built with sluice sharing
     * @return copies of the alpha matrices, stage 0 first
     * @throws IllegalArgumentException if the network does not use sluice sharing
     */
    public static List<INDArray> alphas(MultiTaskNetwork network) {
        ComputationGraph graph = requireSluice(network).graph();
        List<INDArray> out = new ArrayList<>();
        for (int stage = 0; ; stage++) {
            List<INDArray> blocks = new ArrayList<>();
            for (int column = 0; column < network.tasks().size(); column++) {
                GraphVertex v = graph.getVertex(unitName(stage, column));
                if (v != null) {
                    blocks.add(v.paramTable(false).get(SluiceVertex.ALPHA).dup());
                }
            }
            if (blocks.isEmpty()) {
                return out;
            }
            out.add(Nd4j.vstack(blocks.toArray(new INDArray[0])));
        }
    }

    /**
     * Each task's learned layer-stitching weights over its column's stages (empty unless {@link Beta#WEIGHTED}).
     *
     * @param network a network built with sluice sharing
     * @return per task in task order, its beta per stage, stage 0 first
     * @throws IllegalArgumentException if the network does not use sluice sharing
     */
    public static List<double[]> betas(MultiTaskNetwork network) {
        ComputationGraph graph = requireSluice(network).graph();
        List<double[]> out = new ArrayList<>();
        for (int column = 0; column < network.tasks().size(); column++) {
            GraphVertex v = graph.getVertex(betaName(column));
            INDArray b = v == null ? null : v.paramTable(false).get(LayerStitchVertex.BETA);
            out.add(b == null ? new double[0] : b.dup().reshape(b.length()).toDoubleVector());
        }
        return out;
    }

    /**
     * Each stage's alphas as {@code alpha.s<stage>[<task i>.<k><-<task j>.<l>]}, the weight of subspace l of
     * task j's column in subspace k of task i's, then each task's betas as {@code beta[<task>.s<stage>]}.
     */
    @Override
    public Map<String, Double> learnedValues(MultiTaskNetwork network) {
        Map<String, Double> values = new LinkedHashMap<>();
        List<INDArray> alphas = alphas(network);
        for (int stage = 0; stage < alphas.size(); stage++) {
            List<String> columns = Columns.reaching(network, stage, Sluice::unitName);
            INDArray a = alphas.get(stage);
            for (int row = 0; row < a.rows(); row++) {
                for (int col = 0; col < a.columns(); col++) {
                    values.put("alpha.s" + stage + "[" + columns.get(row / subspaces) + "." + row % subspaces + "<-"
                            + columns.get(col / subspaces) + "." + col % subspaces + "]", a.getDouble(row, col));
                }
            }
        }
        List<double[]> betas = betas(network);
        for (int t = 0; t < betas.size(); t++) {
            for (int stage = 0; stage < betas.get(t).length; stage++) {
                values.put("beta[" + network.tasks().get(t).name() + ".s" + stage + "]", betas.get(t)[stage]);
            }
        }
        return values;
    }

    private static MultiTaskNetwork requireSluice(MultiTaskNetwork network) {
        if (!(network.sharing() instanceof Sluice)) {
            throw new IllegalArgumentException("the network uses " + network.sharing() + ", not sluice sharing");
        }
        return network;
    }

    /** {@return the number of subspaces per column} */
    @JsonProperty("subspaces")
    public int getSubspaces() {
        return subspaces;
    }

    /** {@return the orthogonality penalty's weight} */
    @JsonProperty("lambda")
    public double getLambda() {
        return lambda;
    }

    /** {@return the alpha initialisation scheme} */
    @JsonProperty("init")
    public CrossStitch.Init getInit() {
        return init;
    }

    /** {@return the initial weight of each subspace's own entry (with {@link CrossStitch.Init#PAPER})} */
    @JsonProperty("alphaSelf")
    public double getAlphaSelf() {
        return alphaSelf;
    }

    /**
     * The layer-stitching mode.
     *
     * @return the mode, or null when not set: {@link Beta#WEIGHTED} where the trunk's stages have equal shapes,
     *         else {@link Beta#CONCAT}
     */
    @JsonProperty("beta")
    public Beta getBeta() {
        return beta;
    }

    /** {@return the initial weight of the last stage in a {@link Beta#WEIGHTED} layer stitch} */
    @JsonProperty("betaLast")
    public double getBetaLast() {
        return betaLast;
    }

    /** {@return what the orthogonality penalty constrains} */
    @JsonProperty("orthogonality")
    public Orthogonality getOrthogonality() {
        return orthogonality;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sluice s && subspaces == s.subspaces && Double.compare(lambda, s.lambda) == 0
                && init == s.init && Double.compare(alphaSelf, s.alphaSelf) == 0 && beta == s.beta
                && Double.compare(betaLast, s.betaLast) == 0 && orthogonality == s.orthogonality;
    }

    @Override
    public int hashCode() {
        return Objects.hash(subspaces, lambda, init, alphaSelf, beta, betaLast, orthogonality);
    }

    @Override
    public String toString() {
        return "Sluice(subspaces=" + subspaces + ", lambda=" + lambda + " on " + orthogonality + ", init=" + init
                + ", beta=" + (beta == null ? "auto" : beta) + ")";
    }

    /** Builds a {@link Sluice}. */
    public static final class Builder {
        private int subspaces = 2;
        private double lambda = 0.0;
        private CrossStitch.Init init = CrossStitch.Init.PAPER;
        private double alphaSelf = 0.9;
        private Beta beta;
        private double betaLast = 0.9;
        private Orthogonality orthogonality = Orthogonality.ACTIVATIONS;

        private Builder() {
        }

        /**
         * The number of subspaces per column (the paper's default is 2).
         *
         * @param subspaces K, the subspaces each column's stage output is split into, at least 1
         * @return this builder
         */
        public Builder subspaces(int subspaces) {
            this.subspaces = subspaces;
            return this;
        }

        /**
         * The orthogonality penalty's weight (default 0: off).
         *
         * @param lambda the weight, finite and {@code >= 0}; unnormalised, so tune it with the batch size
         * @return this builder
         */
        public Builder lambda(double lambda) {
            this.lambda = lambda;
            return this;
        }

        /**
         * Alpha starts with {@code alphaSelf} on each subspace's own entry, the rest of its row split evenly.
         * Sets the initialisation scheme to {@link CrossStitch.Init#PAPER}.
         *
         * @param alphaSelf the initial own-entry weight, finite (default 0.9)
         * @return this builder
         */
        public Builder alphaSelf(double alphaSelf) {
            this.init = CrossStitch.Init.PAPER;
            this.alphaSelf = alphaSelf;
            return this;
        }

        /**
         * The alpha initialisation scheme.
         *
         * @param init paper (default), identity or uniform
         * @return this builder
         */
        public Builder init(CrossStitch.Init init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * The layer-stitching mode; when not set, {@link Beta#WEIGHTED} where the trunk's stages have equal
         * shapes, else {@link Beta#CONCAT}. An explicit {@link Beta#WEIGHTED} or {@link Beta#SUM} refuses stages
         * of unequal shape.
         *
         * @param beta how a task's representation combines its column's stage outputs
         * @return this builder
         */
        public Builder beta(Beta beta) {
            this.beta = Objects.requireNonNull(beta, "beta");
            return this;
        }

        /**
         * The initial weight of the last stage in a weighted layer stitch (the rest split evenly).
         *
         * @param betaLast the initial weight, finite (default 0.9)
         * @return this builder
         */
        public Builder betaLast(double betaLast) {
            this.betaLast = betaLast;
            return this;
        }

        /**
         * What the orthogonality penalty constrains (activations by default, or weights as the authors' code).
         *
         * @param orthogonality activations or weights
         * @return this builder
         */
        public Builder orthogonality(Orthogonality orthogonality) {
            this.orthogonality = Objects.requireNonNull(orthogonality, "orthogonality");
            return this;
        }

        /**
         * Builds the strategy.
         *
         * @return the immutable strategy
         * @throws IllegalArgumentException if the subspaces are fewer than 1, lambda is negative or not finite, or
         *                                  an initial weight is not finite
         */
        public Sluice build() {
            return new Sluice(subspaces, lambda, init, alphaSelf, beta, betaLast, orthogonality);
        }
    }
}
