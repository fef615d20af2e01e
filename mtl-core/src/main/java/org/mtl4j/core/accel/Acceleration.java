package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.recurrent.LSTM;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Puts native implementations under the layers of a DL4J network: oneDNN convolution and batch normalisation
 * where the ND4J natives are built with oneDNN, and libnd4j's own max pooling and fused LSTM on any CPU
 * natives. The layers' configurations, parameters, JSON and saved files stay DL4J's own; only the code that
 * runs them changes.
 *
 * <p>DL4J 1.0.0-M2.1 ships oneDNN helpers for convolution and batch normalisation ({@code MKLDNNConvHelper},
 * {@code MKLDNNBatchNormHelper}) but never uses them: its {@code HelperUtils.createHelper} returns null unless
 * {@code -Dorg.eclipse.deeplearning4j.helpers.disable=false}, and then the helpers' support check looks for a
 * class that M2.1 no longer has ({@code org.nd4j.nativeblas.Nd4jCpu$Environment}), so they are dropped.
 * {@link #install(ComputationGraph)} sets the {@code helper} field of each layer directly, as DL4J's own
 * initialisation would have. Pooling and LSTM layers have the same hook; {@link NativePooling} and
 * {@link FusedLstm} fill it with libnd4j's own ops.
 *
 * <p>What runs where:
 * <ul>
 *   <li>Exactly DL4J's {@code ConvolutionLayer} and {@code BatchNormalization} (not with locked gamma and
 *       beta) get oneDNN, where the natives have it ({@link #oneDnnAvailable()}); the helpers run float
 *       networks only and return every other call to DL4J's Java code (a helper may decline a call).</li>
 *   <li>Exactly DL4J's {@code SubsamplingLayer} gets {@link NativePooling} for its backward pass (unpadded,
 *       undilated max pooling; the rest declines), on any CPU natives: oneDNN's pooling was slower than
 *       libnd4j's own. DL4J's forward pass runs libnd4j's pooling op itself, oneDNN's where the natives have
 *       it.</li>
 *   <li>Exactly DL4J's {@code LSTM} (not {@code GravesLSTM}) gets {@link FusedLstm}, in float and double, on
 *       any CPU natives; what it runs fused and what it hands back to DL4J's Java code is in its Javadoc.</li>
 *   <li>Layers inside frozen, {@code LastTimeStep} and other wrapper layers get theirs too; subclasses
 *       (1-d, 3-d, depthwise, separable, deconvolution) keep DL4J's code. A layer that already has a helper
 *       keeps it. Nothing is installed on a backend other than ND4J's CPU one.</li>
 *   <li>{@code -Dmtl4j.acceleration=off} turns all of it off, {@code -Dmtl4j.acceleration=convolution}
 *       installs the convolution helpers only (see {@link #PROPERTY}).</li>
 * </ul>
 *
 * <p>mtl4j calls this for every network it builds or loads; call it yourself on a plain DL4J network to get
 * the same speed.
 */
public final class Acceleration {

    /**
     * The system property that chooses what is accelerated: {@code auto}, the default, installs every kind the
     * natives support; {@code off} keeps DL4J's Java code everywhere; a comma-separated list of {@link Kind}
     * names ({@code convolution,batch_normalization}) installs those kinds only.
     */
    public static final String PROPERTY = "mtl4j.acceleration";

    /** What a native implementation can be put under; {@link #PROPERTY} names them in lower case. */
    public enum Kind {
        /** DL4J's {@code ConvolutionLayer} (2-d). */
        CONVOLUTION,
        /** DL4J's {@code SubsamplingLayer}'s backward pass, on libnd4j's own kernels ({@link NativePooling}). */
        POOLING,
        /** DL4J's {@code BatchNormalization}. */
        BATCH_NORMALIZATION,
        /** DL4J's {@code LSTM}, on libnd4j's fused {@code lstmLayer} ops ({@link FusedLstm}). */
        LSTM
    }

    /**
     * How many layers of a network got a native implementation, by kind.
     *
     * @param installed the count per kind (kinds with none are absent)
     */
    public record Report(Map<Kind, Integer> installed) {

        /**
         * A report over a copy of the counts.
         *
         * @param installed the count per kind
         */
        public Report {
            installed = Collections.unmodifiableMap(installed.isEmpty() ? new EnumMap<>(Kind.class)
                    : new EnumMap<>(installed));
        }

        /**
         * The number of layers of one kind that got a native implementation.
         *
         * @param kind the kind
         * @return the count, 0 when none
         */
        public int count(Kind kind) {
            return installed.getOrDefault(kind, 0);
        }

        /**
         * The number of layers that got a native implementation.
         *
         * @return the sum over the kinds
         */
        public int total() {
            return installed.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Acceleration.class);

    private static final Field CONV_HELPER = field(ConvolutionLayer.class);
    private static final Field POOL_HELPER = field(SubsamplingLayer.class);
    private static final Field NORM_HELPER = field(BatchNormalization.class);
    private static final Field LSTM_HELPER = field(LSTM.class);

    private static volatile Set<Kind> available;

    private Acceleration() {
    }

    /**
     * Whether the ND4J natives in use are the CPU backend built with oneDNN (the
     * {@code linux-x86_64-onednn-avx2} classifier, for example): libnd4j's build information names
     * {@code HAVE_ONEDNN}.
     *
     * @return true when oneDNN runs under libnd4j's convolution, pooling and batch-normalisation ops
     */
    public static boolean oneDnnAvailable() {
        return hasOneDnn(backend(), NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo());
    }

    private static String backend() {
        return Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend");
    }

    /**
     * The kinds this process accelerates: those {@link #PROPERTY} names (every kind by default) that the natives
     * support: {@link Kind#POOLING} and {@link Kind#LSTM} on ND4J's CPU backend, the others where
     * {@link #oneDnnAvailable()}.
     *
     * @return the kinds, read once per process
     */
    public static Set<Kind> availableKinds() {
        Set<Kind> kinds = available;
        if (kinds == null) {
            boolean oneDnn = oneDnnAvailable();
            kinds = kinds(System.getProperty(PROPERTY, "auto"), "CPU".equalsIgnoreCase(backend()), oneDnn);
            log.info("mtl4j runs these DL4J layers natively: {} (oneDNN in the natives: {}; -D{}=off turns this off)",
                    kinds, oneDnn, PROPERTY);
            available = kinds;
        }
        return kinds;
    }

    /**
     * Installs native implementations under the layers of an initialised graph, as far as
     * {@link #availableKinds()} allows; a layer that already has a helper keeps it. Calling it again does
     * nothing more.
     *
     * @param graph an initialised graph
     * @return what was installed
     * @throws IllegalStateException if the graph is not initialised
     */
    public static Report install(ComputationGraph graph) {
        if (graph.getLayers() == null) {
            throw new IllegalStateException("the graph is not initialised: call init() before installing acceleration");
        }
        return install(graph.getLayers(), graph.getConfiguration().getDataType(), availableKinds());
    }

    /**
     * Installs native implementations under the layers of an initialised multi-layer network, as
     * {@link #install(ComputationGraph)} does for a graph.
     *
     * @param network an initialised network
     * @return what was installed
     * @throws IllegalStateException if the network is not initialised
     */
    public static Report install(MultiLayerNetwork network) {
        if (network.getLayers() == null) {
            throw new IllegalStateException("the network is not initialised: call init() before installing acceleration");
        }
        return install(network.getLayers(), network.getLayerWiseConfigurations().getDataType(), availableKinds());
    }

    /** Installs the given kinds under the layers, unwrapping wrapper layers. */
    static Report install(Layer[] layers, DataType dataType, Set<Kind> kinds) {
        Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
        for (Layer layer : layers) {
            Kind done = installOne(unwrap(layer), dataType, kinds);
            if (done != null) {
                counts.merge(done, 1, Integer::sum);
            }
        }
        if (!counts.isEmpty()) {
            log.debug("installed native layer implementations: {}", counts);
        }
        return new Report(counts);
    }

    /**
     * The kinds for a property value and the natives: {@code auto} (or empty) all, {@code off} none, else a
     * comma-separated list of kind names (case-insensitive), less those the natives lack; an unknown value is
     * refused.
     */
    static Set<Kind> kinds(String property, boolean cpu, boolean oneDnn) {
        String v = property.trim().toLowerCase(Locale.ROOT);
        Set<Kind> chosen = EnumSet.noneOf(Kind.class);
        if (v.equals("auto") || v.isEmpty()) {
            chosen = EnumSet.allOf(Kind.class);
        } else if (!v.equals("off")) {
            for (String name : v.split(",")) {
                try {
                    chosen.add(Kind.valueOf(name.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("-D" + PROPERTY + "=" + property + " is not understood; use"
                            + " auto, off or a comma-separated list of " + Arrays.toString(Kind.values()), e);
                }
            }
        }
        if (!cpu) {
            chosen.clear();
        } else if (!oneDnn) {
            chosen.retainAll(EnumSet.of(Kind.POOLING, Kind.LSTM));
        }
        return Collections.unmodifiableSet(chosen);
    }

    /** Whether a backend name and libnd4j build information describe the CPU backend with oneDNN. */
    static boolean hasOneDnn(String backend, String buildInfo) {
        return "CPU".equalsIgnoreCase(backend) && buildInfo != null && buildInfo.contains("HAVE_ONEDNN");
    }

    private static Layer unwrap(Layer layer) {
        Layer l = layer;
        while (true) {
            if (l instanceof FrozenLayer f) {
                l = f.getInsideLayer();
            } else if (l instanceof BaseWrapperLayer w) {
                l = w.getUnderlying();
            } else {
                return l;
            }
        }
    }

    private static Kind installOne(Layer layer, DataType dataType, Set<Kind> kinds) {
        if (layer.getClass() == ConvolutionLayer.class && kinds.contains(Kind.CONVOLUTION)) {
            return set(CONV_HELPER, layer, new MKLDNNConvHelper(dataType)) ? Kind.CONVOLUTION : null;
        }
        if (layer.getClass() == SubsamplingLayer.class && kinds.contains(Kind.POOLING)) {
            return set(POOL_HELPER, layer, new NativePooling(dataType)) ? Kind.POOLING : null;
        }
        if (layer.getClass() == BatchNormalization.class && kinds.contains(Kind.BATCH_NORMALIZATION)) {
            BatchNormalization bn = (BatchNormalization) layer;
            if (bn.layerConf().isLockGammaBeta()) {
                return null;
            }
            return set(NORM_HELPER, layer, new MKLDNNBatchNormHelper(dataType)) ? Kind.BATCH_NORMALIZATION : null;
        }
        if (layer.getClass() == LSTM.class && kinds.contains(Kind.LSTM)) {
            return set(LSTM_HELPER, layer, new FusedLstm(dataType)) ? Kind.LSTM : null;
        }
        return null;
    }

    private static boolean set(Field field, Layer layer, Object helper) {
        try {
            if (field.get(layer) != null) {
                return false;
            }
            field.set(layer, helper);
            return true;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set " + field + " of DL4J's " + layer.getClass().getName(), e);
        }
    }

    private static Field field(Class<?> layer) {
        try {
            Field f = layer.getDeclaredField("helper");
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("DL4J's " + layer.getName() + " has no helper field; mtl4j expects"
                    + " DL4J 1.0.0-M2.1", e);
        }
    }
}
