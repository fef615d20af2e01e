package org.mtl4j.losses;

import org.mtl4j.core.TaskLosses;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * One learned scalar per task (uncertainty weighting's log variances, IMTL-L's loss scales, GradNorm's
 * weights), trained by gradient steps of an ND4J updater, in double precision. The values and the
 * updater's state are plain numbers ({@link #state()}), saved with the model so that resumed training
 * equals uninterrupted.
 */
final class LearnedScalars {

    private final INDArray values;
    private final INDArray updaterState;
    private final GradientUpdater<?> updater;
    private final INDArray gradientRow;

    /**
     * {@code n} scalars starting at {@code initial}, trained by (a copy of) {@code config}.
     */
    LearnedScalars(int n, double initial, IUpdater config) {
        IUpdater chosen = config.clone();
        values = Nd4j.valueArrayOf(new long[]{1, n}, initial, DataType.DOUBLE);
        long stateSize = chosen.stateSize(n);
        if (stateSize % n != 0) {
            throw new IllegalArgumentException("updater " + chosen + " keeps " + stateSize + " state values for " + n
                    + " parameters, not a whole number per parameter");
        }
        updaterState = stateSize == 0 ? null : Nd4j.zeros(DataType.DOUBLE, 1, stateSize);
        updater = chosen.instantiate(updaterState, true);
        gradientRow = Nd4j.create(DataType.DOUBLE, 1, n);
    }

    /** The number of scalars. */
    int size() {
        return (int) values.length();
    }

    /** Scalar {@code t}. */
    double get(int t) {
        return values.getDouble(0, t);
    }

    /** Sets scalar {@code t} (outside the updater: a projection or renormalisation after a step). */
    void set(int t, double value) {
        values.putScalar(0, t, value);
    }

    /** The scalars (a copy). */
    double[] values() {
        return values.toDoubleVector();
    }

    /**
     * One updater step down {@code gradient} (one entry per scalar) for the scalars marked {@code active}; the
     * others are left alone, value and updater state (a momentum updater would otherwise keep moving them).
     */
    void step(double[] gradient, boolean[] active, long iteration, int epoch) {
        int n = gradient.length;
        boolean all = true;
        for (boolean a : active) {
            all &= a;
        }
        double[] before = all ? null : state();
        for (int t = 0; t < n; t++) {
            gradientRow.putScalar(0, t, active[t] ? gradient[t] : 0);
        }
        updater.applyUpdater(gradientRow, (int) iteration, epoch);
        values.subi(gradientRow);
        for (int t = 0; !all && t < n; t++) {
            if (!active[t]) {
                values.putScalar(0, t, before[t]);
                for (long i = t; updaterState != null && i < updaterState.length(); i += n) {
                    updaterState.putScalar(0, i, before[(int) (n + i)]);
                }
            }
        }
    }

    /** Which tasks have a labelled example in the step: the scalars a step may move. */
    static boolean[] labelled(TaskLosses losses) {
        boolean[] active = new boolean[losses.size()];
        for (int t = 0; t < active.length; t++) {
            active[t] = losses.labelled()[t] > 0;
        }
        return active;
    }

    /** How many numbers {@link #state()} holds. */
    int stateLength() {
        return (int) (values.length() + (updaterState == null ? 0 : updaterState.length()));
    }

    /** The scalars, then the updater's state. */
    double[] state() {
        double[] out = new double[stateLength()];
        double[] v = values.toDoubleVector();
        System.arraycopy(v, 0, out, 0, v.length);
        if (updaterState != null) {
            double[] u = updaterState.toDoubleVector();
            System.arraycopy(u, 0, out, v.length, u.length);
        }
        return out;
    }

    /** Restores {@link #stateLength()} numbers of {@code state} from {@code offset}, as {@link #state()} wrote them. */
    void restore(double[] state, int offset) {
        int n = (int) values.length();
        for (int t = 0; t < n; t++) {
            values.putScalar(0, t, state[offset + t]);
        }
        for (int i = 0; updaterState != null && i < updaterState.length(); i++) {
            updaterState.putScalar(0, i, state[offset + n + i]);
        }
    }
}
