package org.mtl4j.core.testing;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bit-for-bit comparison of arrays. {@code INDArray.equals} compares with a tolerance of 1e-5, so it cannot
 * tell a resumed run from a slightly different one; this compares data type, shape and every value's bits.
 */
public final class Exact {

    private Exact() {
    }

    /** Fails unless {@code actual} has {@code expected}'s data type, shape and the same bits in every value. */
    public static void assertSameValues(INDArray expected, INDArray actual) {
        assertSameValues(expected, actual, "");
    }

    /** As {@link #assertSameValues(INDArray, INDArray)}, with a message. */
    public static void assertSameValues(INDArray expected, INDArray actual, String message) {
        String prefix = message.isEmpty() ? "" : message + ": ";
        assertEquals(expected.dataType(), actual.dataType(), prefix + "data type");
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), prefix + "shape");
        INDArray a = expected.reshape(expected.length());
        INDArray b = actual.reshape(actual.length());
        for (long i = 0; i < a.length(); i++) {
            double x = a.getDouble(i);
            double y = b.getDouble(i);
            boolean same = expected.dataType() == DataType.FLOAT
                    ? Float.floatToRawIntBits((float) x) == Float.floatToRawIntBits((float) y)
                    : Double.doubleToRawLongBits(x) == Double.doubleToRawLongBits(y);
            if (!same) {
                fail(prefix + "value " + i + " differs: expected " + x + " but was " + y + " (" + a.length()
                        + " values)");
            }
        }
    }

    /** Fails unless both maps (task name -> prediction) have the same tasks, in order, and the same values bit for bit. */
    public static void assertSameOutputs(Map<String, INDArray> expected, Map<String, INDArray> actual) {
        assertEquals(String.join(",", expected.keySet()), String.join(",", actual.keySet()), "tasks");
        expected.forEach((task, e) -> assertSameValues(e, actual.get(task), "task \"" + task + "\""));
    }
}
