package org.mtl4j.core.train;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * Lets a vertex run its backward pass more than once after one forward pass, as the per-task passes of
 * {@link org.mtl4j.core.SharedGradients#SHARED_PARAMETERS} and {@code LAST_SHARED_LAYER} do. DL4J 1.0.0-M2.1
 * layers consume per-pass state in backprop: dropout clears its mask ("Dropout mask array is absent (already
 * cleared?)" on a second pass), and batch normalisation modifies its centred input in place and then drops
 * it. Captured before a vertex's first backward of a step, the state is put back before each later one: the
 * dropout noise arrays as they were (the same masks, so every pass differentiates the same function), and
 * batch normalisation's statistics recomputed from its unchanged input by its own training forward pass.
 */
final class BackwardReplay {

    /** The array fields of each dropout class (its masks or noise), found once per class. */
    private static final ClassValue<List<Field>> ARRAY_FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (!Modifier.isStatic(f.getModifiers()) && INDArray.class.isAssignableFrom(f.getType())) {
                        f.setAccessible(true);
                        fields.add(f);
                    }
                }
            }
            return List.copyOf(fields);
        }
    };

    private final Layer layer;
    private final IDropout dropout;
    private final List<Field> dropoutFields;
    private final Object[] dropoutValues;

    private BackwardReplay(Layer layer) {
        this.layer = layer;
        this.dropout = layer == null || layer.conf() == null || layer.conf().getLayer() == null ? null
                : layer.conf().getLayer().getIDropout();
        this.dropoutFields = dropout == null ? List.of() : ARRAY_FIELDS.get(dropout.getClass());
        this.dropoutValues = new Object[dropoutFields.size()];
        for (int i = 0; i < dropoutValues.length; i++) {
            try {
                dropoutValues[i] = dropoutFields.get(i).get(dropout);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot keep the state of " + dropout.getClass().getSimpleName()
                        + " for a repeated backward pass", e);
            }
        }
    }

    /** The state of {@code vertex}'s layer before its first backward pass of a step. */
    static BackwardReplay capture(GraphVertex vertex) {
        return new BackwardReplay(vertex.hasLayer() ? vertex.getLayer() : null);
    }

    /** Puts the state back before another backward pass of the same step. */
    void restore(LayerWorkspaceMgr workspaces) {
        for (int i = 0; i < dropoutFields.size(); i++) {
            try {
                dropoutFields.get(i).set(dropout, dropoutValues[i]);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot restore the state of " + dropout.getClass().getSimpleName(), e);
            }
        }
        if (layer instanceof BatchNormalization) {
            layer.activate(true, workspaces);
        }
    }
}
