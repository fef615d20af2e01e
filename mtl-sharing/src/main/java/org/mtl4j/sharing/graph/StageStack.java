package org.mtl4j.sharing.graph;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Function;

/**
 * Shares the stacked inputs of a training forward pass among the sluice units of one stage: every unit of a
 * stage reads the same T column outputs, in the same order, so the first unit stacks them and the others
 * reuse the result instead of stacking T times. Only for training passes, whose activations live in one
 * workspace for the whole step (or in none), so the stacked array stays valid while the step lasts; entries
 * are matched by the identity of the input arrays, which a new forward pass never repeats. A few entries per
 * thread.
 */
final class StageStack {

    private static final int ENTRIES = 8;

    private record Entry(INDArray[] inputs, int subspaces, INDArray stacked) {
    }

    private static final ThreadLocal<Deque<Entry>> RECENT = ThreadLocal.withInitial(ArrayDeque::new);

    private StageStack() {
    }

    /** The stacked {@code inputs} ({@code stack} applied to them), made once per forward pass and stage. */
    static INDArray shared(INDArray[] inputs, int subspaces, Function<INDArray[], INDArray> stack) {
        Deque<Entry> recent = RECENT.get();
        for (Entry e : recent) {
            if (e.subspaces() == subspaces && sameArrays(e.inputs(), inputs)) {
                return e.stacked();
            }
        }
        INDArray stacked = stack.apply(inputs);
        recent.addFirst(new Entry(inputs.clone(), subspaces, stacked));
        if (recent.size() > ENTRIES) {
            recent.removeLast();
        }
        return stacked;
    }

    private static boolean sameArrays(INDArray[] a, INDArray[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }
}
