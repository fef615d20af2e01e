package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;

import java.lang.reflect.Field;

/** Sets the {@code helper} field of a DL4J layer (inside wrapper layers) in tests, as {@link Acceleration} does. */
final class LayerHelpers {

    private LayerHelpers() {
    }

    /** The layer inside any wrapper layers. */
    static Layer unwrapped(Layer layer) {
        Layer l = layer;
        while (l instanceof BaseWrapperLayer w) {
            l = w.getUnderlying();
        }
        return l;
    }

    /** Sets the helper of {@code layer} (or of the layer it wraps); null puts DL4J's Java code back. */
    static void set(Layer layer, Object helper) {
        Layer l = unwrapped(layer);
        for (Class<?> c = l.getClass(); c != Object.class; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField("helper");
                f.setAccessible(true);
                f.set(l, helper);
                return;
            } catch (NoSuchFieldException e) {
                // declared higher up, or not at all
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        if (helper != null) {
            throw new AssertionError(l.getClass().getName() + " has no helper field");
        }
    }
}
