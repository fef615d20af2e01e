package org.mtl4j.core;

import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Fixed task weights: the step minimises a weighted sum of the task losses with constant weights.
 *
 * <pre>
 *   sum_t w_t * L_t,   w_t constant
 * </pre>
 * The default combinator, with every weight 1 ({@link #equal()}), which is what a hand-wired multi-output DL4J
 * {@code ComputationGraph} trains.
 *
 * <p>Weights are given in task order ({@link #of(double...)}) or by task name ({@link #of(Map)}; tasks not
 * named keep weight 1). Every weight must be finite and non-negative.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class FixedWeights implements LossCombinator {

    private final double[] weights;
    private final Map<String, Double> weightsByName;
    private transient double[] resolved;

    @JsonCreator
    private FixedWeights(@JsonProperty("weights") double[] weights,
                         @JsonProperty("weightsByName") Map<String, Double> weightsByName) {
        if (weights != null && weightsByName != null) {
            throw new IllegalArgumentException("give fixed weights either in task order or by task name, not both");
        }
        if (weights != null) {
            for (int t = 0; t < weights.length; t++) {
                checkWeight("task " + t, weights[t]);
            }
            this.weights = weights.clone();
        } else {
            this.weights = null;
        }
        if (weightsByName != null) {
            Map<String, Double> copy = new LinkedHashMap<>();
            weightsByName.forEach((name, w) -> {
                Objects.requireNonNull(name, "a fixed weight is given for a null task name");
                checkWeight("task \"" + name + "\"", w);
                copy.put(name, w);
            });
            this.weightsByName = Map.copyOf(copy);
        } else {
            this.weightsByName = null;
        }
    }

    private static void checkWeight(String what, Double w) {
        if (w == null || !(w >= 0) || Double.isInfinite(w)) {
            throw new IllegalArgumentException(what + ": a fixed weight must be finite and >= 0, got " + w);
        }
    }

    /**
     * Weight 1 for every task.
     *
     * @return fixed weights that train {@code sum_t L_t}
     */
    public static FixedWeights equal() {
        return new FixedWeights(null, null);
    }

    /**
     * One weight per task, in task order.
     *
     * @param weights each task's weight, finite and {@code >= 0}; as many as the network has tasks
     * @return fixed weights in task order
     * @throws IllegalArgumentException if a weight is negative, NaN or infinite
     */
    public static FixedWeights of(double... weights) {
        Objects.requireNonNull(weights, "weights");
        return new FixedWeights(weights, null);
    }

    /**
     * Weights by task name; tasks not named keep weight 1.
     *
     * @param weightsByName weight by task name, each finite and {@code >= 0}; every name must be one of the
     *                      network's tasks
     * @return fixed weights by task name
     * @throws IllegalArgumentException if a weight is null, negative, NaN or infinite
     */
    public static FixedWeights of(Map<String, Double> weightsByName) {
        Objects.requireNonNull(weightsByName, "weightsByName");
        return new FixedWeights(null, weightsByName);
    }

    @Override
    public void init(List<Task> tasks) {
        double[] w = new double[tasks.size()];
        Arrays.fill(w, 1.0);
        if (weights != null) {
            if (weights.length != tasks.size()) {
                throw new IllegalArgumentException("FixedWeights has " + weights.length + " weights, but the network has "
                        + tasks.size() + " tasks " + tasks.stream().map(Task::name).toList());
            }
            w = weights.clone();
        }
        if (weightsByName != null) {
            List<String> names = tasks.stream().map(Task::name).toList();
            for (Map.Entry<String, Double> e : weightsByName.entrySet()) {
                int t = names.indexOf(e.getKey());
                if (t < 0) {
                    throw new IllegalArgumentException("FixedWeights names task \"" + e.getKey()
                            + "\", but the network's tasks are " + names);
                }
                w[t] = e.getValue();
            }
        }
        resolved = w;
    }

    @Override
    public TaskWeights combine(TaskLosses losses) {
        if (resolved == null || resolved.length != losses.size()) {
            throw new IllegalStateException("FixedWeights.init(tasks) must be called before combine");
        }
        return new TaskWeights(resolved);
    }

    /** {@return the weights in task order as configured (a copy), or null when given by name or equal} */
    @JsonProperty("weights")
    public double[] getWeights() {
        return weights == null ? null : weights.clone();
    }

    /** {@return the weights by task name as configured, or null when given in order or equal} */
    @JsonProperty("weightsByName")
    public Map<String, Double> getWeightsByName() {
        return weightsByName;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FixedWeights f && Arrays.equals(weights, f.weights)
                && Objects.equals(weightsByName, f.weightsByName);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(weights) + Objects.hashCode(weightsByName);
    }

    @Override
    public String toString() {
        if (weights != null) {
            return "FixedWeights" + Arrays.toString(weights);
        }
        return weightsByName != null ? "FixedWeights" + weightsByName : "FixedWeights(equal)";
    }
}
