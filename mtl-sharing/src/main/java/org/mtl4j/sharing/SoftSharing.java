package org.mtl4j.sharing;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.graph.ParamLayout;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Soft parameter sharing: every task gets its own copy ("column") of the trunk, and a penalty on the distance
 * between the columns' parameters keeps them close without tying them (Duong et al. 2015, "Low Resource
 * Dependency Parsing: Cross-lingual Parameter Sharing in a Neural Network Parser", ACL; Ruder 2017, "An
 * Overview of Multi-Task Learning in Deep Neural Networks", sec. 3.2).
 *
 * <p>With {@code W_t} one trunk parameter in column {@code t} (of {@code T} columns) and
 * {@code mean W = (1/T) sum_t W_t}, the penalty added to the step objective {@code sum_t w_t L_t} is
 * <pre>
 *   mean form (default):  lambda * sum_params sum_t ||W_t - mean W||_F^2      gradient 2 lambda (W_t - mean W)
 *   pairwise form:        lambda * sum_params sum_{a&lt;b} ||W_a - W_b||_F^2   gradient 2 lambda T (W_t - mean W)
 * </pre>
 * (the pairwise sum equals {@code T} times the mean form's). For two tasks the pairwise form is Duong et
 * al.'s {@code lambda ||W_1 - W_2||^2}; the mean form is the usual generalisation to {@code T} tasks, half as
 * strong at {@code T = 2}.
 *
 * <p>What is penalised: by default the trunk layers' weight parameters (those their DL4J parameter
 * initializer calls weights: dense and convolution kernels {@code W}, an LSTM's {@code W} and {@code RW});
 * {@link Builder#includeBiases(boolean)} adds the biases. Parameters that are neither (batch normalisation's
 * gamma, beta and running statistics) are never penalised. Heads are task-specific and not penalised.
 *
 * <p>Defaults:
 * <ul>
 *   <li>{@code lambda} {@value #DEFAULT_LAMBDA}: the order of a usual L2 weight decay, a gentle pull that
 *       leaves the columns room to specialise; tune it on held-out data, as Duong et al. did. With
 *       {@code lambda = 0} the network is {@code T} independent single-task networks;</li>
 *   <li>biases not penalised;</li>
 *   <li>the mean form;</li>
 *   <li>columns starting from independent initialisations.</li>
 * </ul>
 *
 * <p>Departures from the paper and from other implementations:
 * <ul>
 *   <li>Duong et al. also penalise selected embeddings and give each parameter group its own lambda; here one
 *       lambda covers every penalised trunk parameter.</li>
 *   <li>Duong et al. pull a target-language parser towards a source parser; here all columns train jointly and
 *       pull on each other symmetrically.</li>
 *   <li>The penalty is a sum over parameter entries, not a mean (as some reimplementations use), so lambda
 *       values do not transfer between the two.</li>
 * </ul>
 *
 * <p>The encoder is {@link Columns}' with no mixing: column {@code t} ({@code col<t>_<stage>_<layer>}) serves
 * task {@code t} and ends at the stage the task reads ({@link Task#withStage(int)}); a layer is penalised over
 * the columns that have it, so {@code T} and {@code mean W} above count only those. Immutable; saved with the
 * model as JSON ({@code lambda}, {@code includeBiases}, {@code pairwise}, {@code identicalInit}).
 */
public final class SoftSharing implements SharingStrategy {

    /** The default penalty coefficient. */
    public static final double DEFAULT_LAMBDA = 1e-3;

    private static final Pattern COLUMN_LAYER = Pattern.compile("col(\\d+)_(\\d+)_(\\d+)");

    private final double lambda;
    private final boolean includeBiases;
    private final boolean pairwise;
    private final boolean identicalInit;
    private transient volatile Plan plan;

    /** Soft sharing with every default: lambda {@value #DEFAULT_LAMBDA}, weights only, mean form, independent init. */
    public SoftSharing() {
        this(DEFAULT_LAMBDA, false, false, false);
    }

    @JsonCreator
    private SoftSharing(@JsonProperty(value = "lambda", required = true) double lambda,
                        @JsonProperty("includeBiases") boolean includeBiases,
                        @JsonProperty("pairwise") boolean pairwise,
                        @JsonProperty("identicalInit") boolean identicalInit) {
        this.lambda = checkLambda(lambda);
        this.includeBiases = includeBiases;
        this.pairwise = pairwise;
        this.identicalInit = identicalInit;
    }

    /**
     * Soft sharing with penalty coefficient {@code lambda} (finite, {@code >= 0}) and the other defaults.
     *
     * @param lambda the penalty coefficient; 0 gives independent columns
     * @return soft sharing with weights only, the mean form and independent initialisations
     * @throws IllegalArgumentException if {@code lambda} is negative, NaN or infinite
     */
    public static SoftSharing of(double lambda) {
        return new SoftSharing(lambda, false, false, false);
    }

    /**
     * Starts a builder with the defaults.
     *
     * @return a builder with the defaults of {@link #SoftSharing()}
     */
    public static Builder builder() {
        return new Builder();
    }

    private static double checkLambda(double lambda) {
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("soft sharing: lambda must be finite and >= 0, got " + lambda);
        }
        return lambda;
    }

    // ---------------------------------------------------------------- SharingStrategy

    /** Adds one independent column of the trunk per task; task {@code t} reads the last stage of column {@code t}. */
    @Override
    public List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks) {
        List<List<String>> stageOutputs = Columns.add(graph, input, trunk, tasks, Columns.INDEPENDENT);
        return Columns.representations(stageOutputs);
    }

    /**
     * With {@code identicalInit}, copies every parameter of each trunk layer of the first column that has it
     * (column 0, unless task 0 reads an earlier stage) into the same layer of every other column, so that all
     * columns start equal; otherwise leaves DL4J's independent initialisations. Heads are left alone.
     */
    @Override
    public void initParameters(ComputationGraph graph) {
        if (!identicalInit) {
            return;
        }
        INDArray params = flat(graph.params());
        for (Param p : plan(graph).params()) {
            INDArray first = p.segment(params, 0);
            for (int c = 1; c < p.columns(); c++) {
                p.segment(params, c).assign(first);
            }
        }
    }

    /**
     * The distance penalty ({@code lambda * sum_t ||W_t - mean W||^2}, or the pairwise form) over the
     * penalised trunk parameters; when {@code gradient} is not null, adds {@code scale} times its gradient
     * ({@code 2 lambda (W_t - mean W)}, times {@code T} in the pairwise form) at each parameter's place in
     * the flat gradient.
     */
    @Override
    public double penalty(ComputationGraph graph, INDArray gradient, double scale) {
        if (lambda == 0) {
            return 0;
        }
        INDArray params = flat(graph.params());
        INDArray grad = null;
        if (gradient != null) {
            if (gradient.length() != params.length()) {
                throw new IllegalArgumentException("soft sharing: the gradient has " + gradient.length()
                        + " values, but the network has " + params.length() + " parameters");
            }
            grad = flat(gradient);
        }
        double total = 0;
        for (Param p : plan(graph).params()) {
            int columns = p.columns();
            if (!penalised(p) || columns < 2) {
                continue;
            }
            // legacy Axpy (z = a x + y) and SquaredNorm ops: a handful of native calls per parameter
            INDArray[] w = new INDArray[columns];
            for (int c = 0; c < columns; c++) {
                w[c] = p.segment(params, c);
            }
            INDArray sum = Nd4j.createUninitialized(params.dataType(), p.length());
            Nd4j.exec(new Axpy(w[0], w[1], sum, 1.0));
            for (int c = 2; c < columns; c++) {
                Nd4j.exec(new Axpy(w[c], sum, sum, 1.0));
            }
            double coefficient = pairwise ? lambda * columns : lambda;
            INDArray diff = Nd4j.createUninitialized(params.dataType(), p.length());
            double squares = 0;
            for (int c = 0; c < columns; c++) {
                Nd4j.exec(new Axpy(sum, w[c], diff, -1.0 / columns));
                squares += Nd4j.getExecutioner().exec(new SquaredNorm(diff)).getDouble(0);
                if (grad != null) {
                    INDArray g = p.segment(grad, c);
                    Nd4j.exec(new Axpy(diff, g, g, 2 * coefficient * scale));
                }
            }
            total += coefficient * squares;
        }
        return total;
    }

    /**
     * The trunk parameters the penalty covers in {@code graph}, named by stage, layer and parameter key
     * ({@code "<stage>_<layer>_<key>"}, e.g. {@code "0_0_W"}), each standing for that parameter in every column.
     *
     * @param graph the graph of a network built with this strategy
     * @return the names of the penalised parameters that at least two columns have
     */
    public List<String> penalisedParameters(ComputationGraph graph) {
        List<String> names = new ArrayList<>();
        for (Param p : plan(graph).params()) {
            if (penalised(p) && p.columns() >= 2) {
                names.add(p.name());
            }
        }
        return names;
    }

    private boolean penalised(Param p) {
        return p.weight() || (includeBiases && p.bias());
    }

    // ---------------------------------------------------------------- options

    /** {@return the penalty coefficient lambda; {@value #DEFAULT_LAMBDA} by default} */
    @JsonProperty("lambda")
    public double lambda() {
        return lambda;
    }

    /** {@return whether the penalty covers the trunk's biases as well as its weights; false by default} */
    @JsonProperty("includeBiases")
    public boolean includeBiases() {
        return includeBiases;
    }

    /**
     * {@return whether the penalty sums the distances between every pair of columns instead of to their mean;
     * false by default}
     */
    @JsonProperty("pairwise")
    public boolean pairwise() {
        return pairwise;
    }

    /**
     * {@return whether every column starts from column 0's initial parameters; false (independent
     * initialisations) by default}
     */
    @JsonProperty("identicalInit")
    public boolean identicalInit() {
        return identicalInit;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SoftSharing s && Double.compare(lambda, s.lambda) == 0 && includeBiases == s.includeBiases
                && pairwise == s.pairwise && identicalInit == s.identicalInit;
    }

    @Override
    public int hashCode() {
        return Objects.hash(lambda, includeBiases, pairwise, identicalInit);
    }

    @Override
    public String toString() {
        return "SoftSharing{lambda=" + lambda + ", includeBiases=" + includeBiases + ", pairwise=" + pairwise
                + ", identicalInit=" + identicalInit + "}";
    }

    // ---------------------------------------------------------------- where the columns' parameters are

    /**
     * One trunk parameter across the columns that have it: its offset in the flat vector for each column, in
     * column order, and its length.
     */
    private record Param(String name, boolean weight, boolean bias, long[] offsets, long length) {
        int columns() {
            return offsets.length;
        }

        INDArray segment(INDArray flat, int column) {
            return flat.get(NDArrayIndex.interval(offsets[column], offsets[column] + length));
        }
    }

    /** The column parameters of one graph (kept weakly, so a strategy shared by networks does not hold them). */
    private record Plan(WeakReference<ComputationGraph> graph, List<Param> params) {
    }

    private Plan plan(ComputationGraph graph) {
        Plan p = plan;
        if (p == null || p.graph().get() != graph) {
            p = new Plan(new WeakReference<>(graph), locate(graph));
            plan = p;
        }
        return p;
    }

    /** A layer's place in the trunk. */
    private record Position(int stage, int layer) implements Comparable<Position> {
        @Override
        public int compareTo(Position o) {
            return stage != o.stage ? Integer.compare(stage, o.stage) : Integer.compare(layer, o.layer);
        }

        @Override
        public String toString() {
            return stage + "_" + layer;
        }
    }

    /** Finds every column layer {@code col<c>_<s>_<l>} and groups its parameters by position and key. */
    private static List<Param> locate(ComputationGraph graph) {
        Map<Position, TreeMap<Integer, Layer>> byPosition = new TreeMap<>();
        for (GraphVertex v : graph.getVertices()) {
            Matcher m = COLUMN_LAYER.matcher(v.getVertexName());
            if (v.hasLayer() && m.matches()) {
                Position position = new Position(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
                byPosition.computeIfAbsent(position, k -> new TreeMap<>()).put(Integer.parseInt(m.group(1)), v.getLayer());
            }
        }
        List<Param> params = new ArrayList<>();
        for (Map.Entry<Position, TreeMap<Integer, Layer>> position : byPosition.entrySet()) {
            TreeMap<Integer, Layer> columns = position.getValue();
            Layer first = columns.firstEntry().getValue();
            org.deeplearning4j.nn.conf.layers.Layer conf = first.conf().getLayer();
            ParamInitializer initializer = conf.initializer();
            for (Map.Entry<String, INDArray> e : first.paramTable(false).entrySet()) {
                String key = e.getKey();
                long[] offsets = new long[columns.size()];
                int i = 0;
                for (Map.Entry<Integer, Layer> column : columns.entrySet()) {
                    String name = "col" + column.getKey() + "_" + position.getKey();
                    INDArray view = column.getValue().getParam(key);
                    if (view == null || view.length() != e.getValue().length()) {
                        throw new IllegalStateException("soft sharing: layer " + name + " has parameter " + key + " of "
                                + (view == null ? "no" : view.length()) + " values, but column " + columns.firstKey()
                                + " has " + e.getValue().length() + "; the columns must be copies of one trunk");
                    }
                    offsets[i++] = ParamLayout.offset(graph, name + "_" + key);
                }
                params.add(new Param(position.getKey() + "_" + key, initializer.isWeightParam(conf, key),
                        initializer.isBiasParam(conf, key), offsets, e.getValue().length()));
            }
        }
        return List.copyOf(params);
    }

    /** A rank-1 view of a flat parameter or gradient vector ({@code [1, n]} or {@code [n]}). */
    private static INDArray flat(INDArray vector) {
        return vector.rank() == 1 ? vector : vector.reshape(vector.length());
    }

    // ---------------------------------------------------------------- builder

    /** Builds a {@link SoftSharing}; starts from the defaults. */
    public static final class Builder {
        private double lambda = DEFAULT_LAMBDA;
        private boolean includeBiases;
        private boolean pairwise;
        private boolean identicalInit;

        private Builder() {
        }

        /**
         * The penalty coefficient (finite, {@code >= 0}); {@value SoftSharing#DEFAULT_LAMBDA} by default.
         *
         * @param lambda the coefficient; 0 gives independent columns
         * @return this builder
         * @throws IllegalArgumentException if {@code lambda} is negative, NaN or infinite
         */
        public Builder lambda(double lambda) {
            this.lambda = checkLambda(lambda);
            return this;
        }

        /**
         * Whether biases are penalised as well as weights; false by default.
         *
         * @param includeBiases true to penalise the trunk layers' biases too
         * @return this builder
         */
        public Builder includeBiases(boolean includeBiases) {
            this.includeBiases = includeBiases;
            return this;
        }

        /**
         * Whether to use the pairwise form {@code lambda sum_{a<b} ||W_a - W_b||^2}; false (mean form) by default.
         *
         * @param pairwise true for the pairwise form, {@code T} times as strong as the mean form
         * @return this builder
         */
        public Builder pairwise(boolean pairwise) {
            this.pairwise = pairwise;
            return this;
        }

        /**
         * Whether all columns start from column 0's initial parameters; false by default.
         *
         * @param identicalInit true to copy column 0's initial parameters into every column
         * @return this builder
         */
        public Builder identicalInit(boolean identicalInit) {
            this.identicalInit = identicalInit;
            return this;
        }

        /**
         * The strategy.
         *
         * @return the immutable strategy
         */
        public SoftSharing build() {
            return new SoftSharing(lambda, includeBiases, pairwise, identicalInit);
        }
    }
}
