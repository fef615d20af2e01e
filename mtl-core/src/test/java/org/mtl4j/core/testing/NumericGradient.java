package org.mtl4j.core.testing;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.TaskLosses;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.function.LongFunction;

/**
 * A central finite-difference check of {@link MultiTaskNetwork#gradient} against the objective
 * {@code sum_t w_t L_t + penalty} computed by {@link MultiTaskNetwork#losses} and
 * {@link MultiTaskNetwork#penalty}, over every parameter. Use double
 * precision, smooth activations and no dropout or batch normalisation (inference and training passes
 * must agree).
 */
public final class NumericGradient {

    /** The worst parameter found by a check. */
    public record Report(int checked, int failed, long worstIndex, double worstRelativeError, double analytic,
                         double numeric) {
    }

    private NumericGradient() {
    }

    /**
     * Checks every parameter. A parameter fails when the relative error {@code |a - n| / max(|a|, |n|)}
     * exceeds {@code maxRelError} and the absolute error exceeds {@code minAbsError}.
     */
    public static Report check(MultiTaskNetwork net, MultiDataSet data, double[] weights, double epsilon,
                               double maxRelError, double minAbsError) {
        return check(net, data, net.gradient(data).gradient(), i -> weights, epsilon, maxRelError, minAbsError);
    }

    /**
     * Checks every parameter of {@code analytic}, a gradient of {@code net} on {@code data}, against the objective
     * {@code sum_t w_t L_t + penalty} with the weights {@code weightsOf(i)} of parameter {@code i} (a gradient-level
     * combinator weighs the encoder and the heads differently).
     */
    public static Report check(MultiTaskNetwork net, MultiDataSet data, INDArray analytic, LongFunction<double[]> weightsOf,
                               double epsilon, double maxRelError, double minAbsError) {
        INDArray params = net.params();
        int failed = 0;
        long worst = -1;
        double worstRel = 0;
        double worstA = 0;
        double worstN = 0;
        for (long i = 0; i < params.length(); i++) {
            double original = params.getDouble(i);
            params.putScalar(i, original + epsilon);
            double[] weights = weightsOf.apply(i);
            double plus = objective(net, data, weights);
            params.putScalar(i, original - epsilon);
            double minus = objective(net, data, weights);
            params.putScalar(i, original);
            double numeric = (plus - minus) / (2 * epsilon);
            double a = analytic.getDouble(i);
            double abs = Math.abs(a - numeric);
            double rel = abs == 0 ? 0 : abs / Math.max(Math.abs(a), Math.abs(numeric));
            if (rel > maxRelError && abs > minAbsError) {
                failed++;
            }
            if (abs > minAbsError && rel > worstRel) {
                worstRel = rel;
                worst = i;
                worstA = a;
                worstN = numeric;
            }
        }
        return new Report((int) params.length(), failed, worst, worstRel, worstA, worstN);
    }

    private static double objective(MultiTaskNetwork net, MultiDataSet data, double[] weights) {
        TaskLosses losses = net.losses(data);
        double sum = net.penalty();
        for (int t = 0; t < losses.size(); t++) {
            sum += weights[t] * losses.loss(t);
        }
        return sum;
    }
}
