package org.mtl4j.core.testing;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

/** Seeded random arrays and MultiDataSets for tests. */
public final class RandomData {

    private final Random random;
    private final DataType dataType;

    /** A generator with the given seed, making arrays of the given type. */
    public RandomData(long seed, DataType dataType) {
        this.random = new Random(seed);
        this.dataType = dataType;
    }

    /** Gaussian values of the given shape. */
    public INDArray gaussian(long... shape) {
        INDArray a = Nd4j.create(dataType, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, random.nextGaussian());
        }
        return a;
    }

    /** One-hot rows {@code [mb, nClasses]}. */
    public INDArray oneHot(int mb, int nClasses) {
        INDArray a = Nd4j.create(dataType, mb, nClasses);
        for (int i = 0; i < mb; i++) {
            a.putScalar(i, random.nextInt(nClasses), 1.0);
        }
        return a;
    }

    /** One-hot per time step {@code [mb, nClasses, time]}. */
    public INDArray oneHotSequence(int mb, int nClasses, int time) {
        INDArray a = Nd4j.create(dataType, mb, nClasses, time);
        for (int i = 0; i < mb; i++) {
            for (int t = 0; t < time; t++) {
                a.putScalar(new long[]{i, random.nextInt(nClasses), t}, 1.0);
            }
        }
        return a;
    }

    /** A column mask {@code [mb, 1]} with the given 0/1 values. */
    public INDArray mask(double... values) {
        return Nd4j.create(values, new long[]{values.length, 1}, dataType);
    }

    /** A MultiDataSet with one features array and the given labels (and masks, may be null). */
    public static MultiDataSet dataSet(INDArray features, INDArray[] labels, INDArray[] labelsMasks) {
        return new MultiDataSet(new INDArray[]{features}, labels, null, labelsMasks);
    }

    /** The underlying random source. */
    public Random random() {
        return random;
    }
}
