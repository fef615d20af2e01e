package org.mtl4j.core.train;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.mtl4j.core.Task;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

import java.util.Arrays;
import java.util.List;

/**
 * Checks a {@code MultiDataSet} against the network before any parameter is touched, and hands the
 * training step each task's labels and mask in the form it uses. Every error names the task, the array
 * and the shapes.
 *
 * <p>NaN labels are accepted where the task's mask is 0 (a common way to write "no label"): they are
 * replaced by 0 in a copy. NaN or infinite features, and NaN labels that no mask excludes, are errors.
 *
 * <p>Classification labels are checked by the task's loss, on every labelled example (or time step; an
 * example or step whose labels mask is 0 may hold anything):
 * <ul>
 *   <li>a softmax task (loss {@code LossMCXENT} or a subclass such as {@code LossNegativeLogLikelihood},
 *       except {@code LossSparseMCXENT}) takes a distribution over its classes: every value in [0, 1] and
 *       the row summing to 1 within {@value #SUM_TOLERANCE} (absolute). One-hot rows and label-smoothed
 *       rows pass; an all-zero row (write "no label" with a 0 in the labels mask instead), a value of 2
 *       or -1, or two classes set in one row are refused;</li>
 *   <li>a binary cross-entropy task ({@code LossBinaryXENT}, multi-label or binary) takes values in
 *       [0, 1], soft targets included;</li>
 *   <li>any other loss (regression) is not checked beyond shapes and NaN.</li>
 * </ul>
 * The check costs a few whole-array reductions per task and step; the offending example is looked up only
 * when it fails.
 */
public final class BatchValidator {

    /** How far a softmax task's label row may sum from 1 (absolute), for label smoothing in float. */
    public static final double SUM_TOLERANCE = 1e-3;

    /**
     * A validated minibatch.
     *
     * @param features     the features
     * @param featuresMask the features mask (null when absent)
     * @param labels       each task's labels, in task order
     * @param masks        each task's labels mask, in task order (null when absent)
     */
    public record Batch(INDArray features, INDArray featuresMask, INDArray[] labels, INDArray[] masks) {
        /** {@return the number of examples} */
        public int size() {
            return (int) features.size(0);
        }
    }

    private final InputType inputType;
    private final List<Task> tasks;
    private final int[] labelsIndex;
    private final boolean[] sequence;
    private final boolean defaultIndices;

    /**
     * A validator for a network with these tasks.
     *
     * @param inputType   the type of the features the trunk reads
     * @param tasks       the network's tasks, in task order
     * @param labelsIndex which labels array each task reads
     * @param sequence    whether each task predicts per time step
     */
    public BatchValidator(InputType inputType, List<Task> tasks, int[] labelsIndex, boolean[] sequence) {
        this.inputType = inputType;
        this.tasks = List.copyOf(tasks);
        this.labelsIndex = labelsIndex.clone();
        this.sequence = sequence.clone();
        boolean defaults = true;
        for (Task t : tasks) {
            defaults &= t.labelsIndex() < 0;
        }
        this.defaultIndices = defaults;
    }

    /**
     * Validates a minibatch with labels, for training and evaluation.
     *
     * @param data the minibatch: one features array, and at least as many labels arrays as the tasks read
     * @return the features and, per task in task order, its labels and mask (NaN labels under a 0 mask replaced
     *         by 0 in a copy)
     * @throws IllegalArgumentException when an array is missing or misshaped, naming the task, array and shapes
     */
    public Batch validate(MultiDataSet data) {
        if (data == null) {
            throw new IllegalArgumentException("the MultiDataSet is null");
        }
        INDArray features = checkFeatures(data.getFeatures(), data.getFeaturesMaskArrays());
        INDArray featuresMask = data.getFeaturesMaskArrays() == null ? null : data.getFeaturesMaskArrays()[0];
        long mb = features.size(0);
        INDArray[] all = data.getLabels();
        int available = all == null ? 0 : all.length;
        int needed = Arrays.stream(labelsIndex).max().orElse(-1) + 1;
        if (defaultIndices ? available != tasks.size() : available < needed) {
            throw new IllegalArgumentException("the network has " + tasks.size() + " tasks " + names()
                    + " reading labels[0.." + (needed - 1) + "], but the MultiDataSet has " + available + " labels arrays");
        }
        INDArray[] allMasks = data.getLabelsMaskArrays();
        if (allMasks != null && allMasks.length != available) {
            throw new IllegalArgumentException("the MultiDataSet has " + available + " labels arrays but "
                    + allMasks.length + " labels mask arrays");
        }
        INDArray[] labels = new INDArray[tasks.size()];
        INDArray[] masks = new INDArray[tasks.size()];
        for (int t = 0; t < tasks.size(); t++) {
            int i = labelsIndex[t];
            masks[t] = checkMask(t, allMasks == null ? null : allMasks[i], mb, all[i]);
            labels[t] = checkLabels(t, all[i], masks[t], mb, features);
            checkClassLabels(t, labels[t], masks[t]);
        }
        return new Batch(features, featuresMask, labels, masks);
    }

    /**
     * Validates features for prediction.
     *
     * @param features      the features arrays: exactly one, of the trunk's input type
     * @param featuresMasks null, or the features masks: the first, if any, is {@code [mb, time]} of 0 and 1
     * @return the one features array
     * @throws IllegalArgumentException when there is not exactly one features array, it does not fit the
     *                                  trunk's input type or holds NaN or infinite values, or the mask does not fit it
     */
    public INDArray checkFeatures(INDArray[] features, INDArray[] featuresMasks) {
        if (features == null || features.length != 1) {
            throw new IllegalArgumentException("the network has 1 input (the trunk's, " + inputType + "), but "
                    + (features == null ? "no" : features.length) + " features arrays were given");
        }
        INDArray f = features[0];
        if (f == null) {
            throw new IllegalArgumentException("features[0] is null");
        }
        long[] expected = inputType.getShape(true);
        long[] shape = f.shape();
        boolean ok = shape.length == expected.length;
        for (int d = 1; ok && d < shape.length; d++) {
            ok = expected[d] < 0 || expected[d] == shape[d];
        }
        if (!ok) {
            throw new IllegalArgumentException("features[0] has shape " + Arrays.toString(shape) + ", but the trunk reads "
                    + inputType + ", i.e. " + Arrays.toString(expected) + " (-1: any)");
        }
        if (f.size(0) == 0) {
            throw new IllegalArgumentException("features[0] has no examples (shape " + Arrays.toString(shape) + ")");
        }
        if (!isFinite(f)) {
            long at = firstNonFiniteExample(f);
            throw new IllegalArgumentException("features[0] has NaN or infinite values (first at example " + at + ")");
        }
        if (featuresMasks != null && featuresMasks.length > 0 && featuresMasks[0] != null) {
            INDArray m = featuresMasks[0];
            if (m.size(0) != f.size(0)) {
                throw new IllegalArgumentException("features mask [0] has " + m.size(0) + " examples, but features[0] has "
                        + f.size(0));
            }
            if (f.rank() == 3 && (m.rank() != 2 || m.size(1) != f.size(2))) {
                throw new IllegalArgumentException("features mask [0] has shape " + Arrays.toString(m.shape())
                        + ", but features[0] of shape " + Arrays.toString(shape) + " take [mb, time] = ["
                        + f.size(0) + ", " + f.size(2) + "]");
            }
            if (!isZeroOne(m)) {
                throw new IllegalArgumentException("features mask [0] must hold only 0 (padding) and 1 (a real step)");
            }
        }
        return f;
    }

    private INDArray checkMask(int t, INDArray mask, long mb, INDArray labels) {
        if (mask == null) {
            return null;
        }
        String where = "task \"" + tasks.get(t).name() + "\": labels mask[" + labelsIndex[t] + "]";
        if (mask.rank() == 1) {
            mask = mask.reshape(mask.length(), 1);
        }
        if (mask.size(0) != mb) {
            throw new IllegalArgumentException(where + " has " + mask.size(0) + " examples, but features[0] has " + mb);
        }
        boolean shapeOk;
        if (sequence[t]) {
            shapeOk = labels != null && (mask.rank() == 2 && labels.rank() == 3 && mask.size(1) == labels.size(2)
                    || Arrays.equals(mask.shape(), labels.shape()));
        } else {
            shapeOk = mask.rank() == 2 && (mask.size(1) == 1 || labels != null && mask.size(1) == labels.size(1));
        }
        if (!shapeOk) {
            throw new IllegalArgumentException(where + " has shape " + Arrays.toString(mask.shape())
                    + ", but labels of shape " + (labels == null ? "null" : Arrays.toString(labels.shape()))
                    + " take " + (sequence[t] ? "[mb, time] or the labels' shape" : "[mb, 1] or the labels' shape"));
        }
        if (!isZeroOne(mask)) {
            throw new IllegalArgumentException(where + " must hold only 0 (no label) and 1 (labelled); to weight a task,"
                    + " use the loss combinator, not the mask");
        }
        return mask;
    }

    private static boolean isZeroOne(INDArray mask) {
        for (double x : values(mask)) {
            if (x != 0 && x != 1) {
                return false;
            }
        }
        return true;
    }

    private INDArray checkLabels(int t, INDArray labels, INDArray mask, long mb, INDArray features) {
        Task task = tasks.get(t);
        String where = "task \"" + task.name() + "\": labels[" + labelsIndex[t] + "]";
        if (labels == null) {
            throw new IllegalArgumentException(where + " is null");
        }
        int rank = sequence[t] ? 3 : 2;
        if (labels.rank() != rank) {
            throw new IllegalArgumentException(where + " has shape " + Arrays.toString(labels.shape()) + ", but the task"
                    + (sequence[t] ? " predicts per time step: [mb, " + task.nOut() + ", time]"
                    : " predicts one output per example: [mb, " + task.nOut() + "]"));
        }
        if (labels.size(0) != mb) {
            throw new IllegalArgumentException(where + " has " + labels.size(0) + " examples, but features[0] has " + mb);
        }
        if (labels.size(1) != task.nOut()) {
            throw new IllegalArgumentException(where + " has " + labels.size(1) + " columns, but its head outputs "
                    + task.nOut());
        }
        if (sequence[t] && features.rank() == 3 && labels.size(2) != features.size(2)) {
            throw new IllegalArgumentException(where + " has " + labels.size(2) + " time steps, but features[0] has "
                    + features.size(2));
        }
        if (isFinite(labels)) {
            return labels;
        }
        // NaN * 0 and inf * 0 are NaN, finite * 0 is 0: 1 marks each non-finite label
        INDArray nonFinite = labels.mul(0);
        BooleanIndexing.replaceWhere(nonFinite, 1.0, Conditions.isNan());
        INDArray unmasked = mask == null ? nonFinite : nonFinite.muli(broadcastMask(mask, labels));
        if (unmasked.sumNumber().doubleValue() > 0) {
            throw new IllegalArgumentException(where + " has NaN or infinite values at example " + firstNonZeroExample(unmasked)
                    + " that its labels mask does not exclude");
        }
        INDArray clean = labels.dup();
        BooleanIndexing.replaceWhere(clean, 0.0, Conditions.isNan());
        BooleanIndexing.replaceWhere(clean, 0.0, Conditions.isInfinite());
        return clean;
    }

    private void checkClassLabels(int t, INDArray labels, INDArray mask) {
        ILossFunction loss = tasks.get(t).loss();
        boolean softmax = loss instanceof LossMCXENT && !(loss instanceof LossSparseMCXENT);
        if (!softmax && !(loss instanceof LossBinaryXENT)) {
            return;
        }
        // one pass in Java over a copy of the values: a handful of ND4J reductions cost more on small batches
        INDArray labelled = mask == null ? null : rowMask(mask, labels);
        double[] v = values(labels);
        double[] rowLabelled = labelled == null ? null : values(labelled);
        int classes = (int) labels.size(1);
        int steps = labels.rank() == 3 ? (int) labels.size(2) : 1;
        int rows = (int) labels.size(0) * steps;
        for (int r = 0; r < rows; r++) {
            if (rowLabelled != null && rowLabelled[r] == 0) {
                continue;
            }
            int base = (r / steps) * classes * steps + r % steps;   // c order: [example][class][step]
            double sum = 0;
            boolean ok = true;
            for (int c = 0; c < classes; c++) {
                double x = v[base + c * steps];
                ok &= x >= 0 && x <= 1;
                sum += x;
            }
            if (!ok || softmax && Math.abs(sum - 1) > SUM_TOLERANCE) {
                throw new IllegalArgumentException(describeBadRow(t, labels, labelled, softmax));
            }
        }
    }

    /** The values of {@code a} in c order, as doubles (a copy). */
    private static double[] values(INDArray a) {
        INDArray c = a.ordering() == 'c' && !a.isView() && a.data().length() == a.length() ? a : a.dup('c');
        return c.data().asDouble();
    }

    /** 1 where an example (rank 2 labels: {@code [mb]}) or a step (rank 3: {@code [mb, time]}) is labelled. */
    private static INDArray rowMask(INDArray mask, INDArray labels) {
        INDArray m = mask;
        if (Arrays.equals(mask.shape(), labels.shape())) {
            m = mask.max(1);   // a per-output mask: the row is labelled where any output is
        } else if (labels.rank() == 2) {
            m = mask.reshape(mask.length());
        }
        return m.castTo(DataType.DOUBLE);
    }

    private String describeBadRow(int t, INDArray labels, INDArray labelled, boolean softmax) {
        String where = "task \"" + tasks.get(t).name() + "\": labels[" + labelsIndex[t] + "]";
        String rule = softmax
                ? "a softmax task's labels must be a distribution over its classes on every labelled "
                + (labels.rank() == 3 ? "step" : "example") + ": values in [0, 1] summing to 1 (within "
                + SUM_TOLERANCE + "), e.g. one-hot; write \"no label\" as a 0 in the labels mask"
                : "a binary cross-entropy task's labels must lie in [0, 1]";
        long mb = labels.size(0);
        long steps = labels.rank() == 3 ? labels.size(2) : 1;
        for (long i = 0; i < mb; i++) {
            for (long s = 0; s < steps; s++) {
                if (labelled != null && (labels.rank() == 3 ? labelled.getDouble(i, s) : labelled.getDouble(i)) == 0) {
                    continue;
                }
                INDArray row = labels.rank() == 3
                        ? labels.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.point(s))
                        : labels.getRow(i);
                String at = " at example " + i + (labels.rank() == 3 ? ", time step " + s : "");
                for (long c = 0; c < row.length(); c++) {
                    double v = row.getDouble(c);
                    if (v < 0 || v > 1) {
                        return where + " holds " + format(v, labels) + at + ", class " + c + "; " + rule;
                    }
                }
                double sum = row.sumNumber().doubleValue();
                if (softmax && Math.abs(sum - 1) > SUM_TOLERANCE) {
                    StringBuilder values = new StringBuilder();
                    for (long c = 0; c < row.length(); c++) {
                        values.append(c == 0 ? "" : ", ").append(format(row.getDouble(c), labels));
                    }
                    return where + " sums to " + format(sum, labels) + at + " ([" + values + "]); " + rule;
                }
            }
        }
        return where + " holds labels outside the allowed range; " + rule;   // not reached: the reductions found one
    }

    private static String format(double v, INDArray labels) {
        return labels.dataType() == DataType.DOUBLE ? Double.toString(v) : Float.toString((float) v);
    }

    private static long firstNonZeroExample(INDArray a) {
        INDArray rows = a.reshape(a.ordering(), a.size(0), a.length() / a.size(0)).max(1);
        for (long i = 0; i < rows.length(); i++) {
            if (rows.getDouble(i) != 0) {
                return i;
            }
        }
        return -1;
    }

    private static INDArray broadcastMask(INDArray mask, INDArray labels) {
        if (Arrays.equals(mask.shape(), labels.shape())) {
            return mask;
        }
        if (labels.rank() == 2) {
            return mask.broadcast(labels.shape());
        }
        long mb = labels.size(0);
        long time = labels.size(2);
        return mask.reshape(mb, 1, time).broadcast(labels.shape());
    }

    private static boolean isFinite(INDArray a) {
        if (!a.dataType().isFPType() || Double.isFinite(a.sumNumber().doubleValue())) {
            return true;   // one reduction, no copy: a NaN or an infinity makes the sum non-finite
        }
        // the sum may also overflow with finite values: NaN * 0 and inf * 0 are NaN, finite * 0 is 0
        return !Double.isNaN(a.mul(0).sumNumber().doubleValue());
    }

    private static long firstNonFiniteExample(INDArray a) {
        long mb = a.size(0);
        for (long i = 0; i < mb; i++) {
            INDArray row = a.get(NDArrayIndex.point(i));
            if (!isFinite(row)) {
                return i;
            }
        }
        return -1;
    }

    private String names() {
        return tasks.stream().map(Task::name).toList().toString();
    }
}
