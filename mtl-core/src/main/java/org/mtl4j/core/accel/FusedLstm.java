package org.mtl4j.core.accel;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.BaseRecurrentLayer;
import org.deeplearning4j.nn.layers.recurrent.FwdPassReturn;
import org.deeplearning4j.nn.layers.recurrent.LSTMHelper;
import org.deeplearning4j.nn.layers.recurrent.LSTMHelpers;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs DL4J's {@code LSTM} layer on libnd4j's fused {@code lstmLayer} and {@code lstmLayer_bp} ops, through
 * DL4J's {@link LSTMHelper} hook, with the outputs and gradients of DL4J's own Java implementation.
 *
 * <p>The layer computes, for input {@code x_t} of shape {@code [batch, nIn]}, with {@code sigma} the gate
 * activation (sigmoid) and {@code act} the layer activation (tanh):
 * <pre>
 *   a_t = act  (x_t W_a + h_{t-1} RW_a + b_a)     block input
 *   f_t = sigma(x_t W_f + h_{t-1} RW_f + b_f)     forget gate
 *   o_t = sigma(x_t W_o + h_{t-1} RW_o + b_o)     output gate
 *   g_t = sigma(x_t W_g + h_{t-1} RW_g + b_g)     input gate
 *   c_t = f_t * c_{t-1} + g_t * a_t
 *   h_t = o_t * act(c_t)
 * </pre>
 * DL4J stores {@code W [nIn, 4n]}, {@code RW [n, 4n]} and {@code b [4n]} with the column blocks in the order
 * {@code a, f, o, g}; libnd4j expects {@code i, f, c', o}, that is {@code g, f, a, o}. The helper copies each
 * parameter once per call into libnd4j's order (block {@code k} of libnd4j's array is block {@code ORDER[k]} of
 * DL4J's, {@code ORDER = {3, 1, 0, 2}}), keeps the copies from the forward pass of a training step for its
 * backward pass, and writes the op's gradients back into the layer's gradient views in DL4J's order. Data are
 * in DL4J's NCW layout {@code [batch, size, time]}, libnd4j's {@code dataFormat = 2}; DL4J permutes NWC
 * layers to NCW before it calls a helper, so both layouts run fused.
 *
 * <p>What runs fused, and what falls back to DL4J's Java path (the helper returns {@code null}, which DL4J
 * treats as "not handled", with no warning and no failure count):
 * <ul>
 *   <li>Fused: sigmoid gates with a tanh layer activation, no peepholes, float or double data of the helper's
 *       data type, forward direction, training and inference, with or without a stored state
 *       ({@code rnnTimeStep}, truncated BPTT's state), and an input mask that is absent or, in every row,
 *       ones followed by zeros (trailing padding; passed to libnd4j as sequence lengths).</li>
 *   <li>Falls back in the forward pass: any other gate or layer activation, peepholes, other data types,
 *       and masks with gaps, leading zeros or values other than 0 and 1.</li>
 *   <li>Falls back in the backward pass (the helper recomputes DL4J's Java forward pass, then runs DL4J's Java
 *       backward pass): truncated BPTT whose backward length is shorter than the sequence, and a
 *       trailing-padding mask with a non-zero error at a masked step. DL4J's {@code LSTM} hands its backward
 *       pass no mask, so such an error reaches the parameters and the earlier steps as if the step were not
 *       masked; libnd4j ignores it. Masked losses, {@code LastTimeStep} and {@code RnnOutputLayer} with a label
 *       mask send zero error there, so they run fused.</li>
 *   <li>An exception in the fused backward pass is logged and handled by the same Java fallback, so DL4J never
 *       meets a fused forward pass it cannot back-propagate. An exception in the fused forward pass is DL4J's
 *       to handle: it logs a warning, runs its Java path and, when the layer allows fallback (the default),
 *       never calls the helper of that layer again.</li>
 * </ul>
 *
 * <p>Departures from DL4J's Java path:
 * <ul>
 *   <li>The {@link FwdPassReturn} of a fused pass holds the output and the last and initial states only;
 *       the per-step arrays ({@code iz}, {@code fa}, ...) stay {@code null}, since the fused backward pass
 *       recomputes them natively.</li>
 *   <li>With a trailing-padding mask, masked steps output zeros as in DL4J, and the state returned for
 *       {@code rnnTimeStep} is zero for padded rows, as in DL4J (libnd4j itself would keep the state of the
 *       last unmasked step).</li>
 *   <li>Results agree with the Java path to rounding, not bit for bit: the ops sum in another order.</li>
 *   <li>Memory: libnd4j's ops allocate their per-step temporaries themselves, outside DL4J's workspaces, and
 *       the allocator keeps most of it: on the bench's hard-lstm (64 units, 20 steps, batch 64) the process's
 *       peak grew by about 109 MB against DL4J's 17 MB, about 104 MB of it still held after the network was
 *       dropped. {@code -Dmtl4j.acceleration=convolution,pooling,batch_normalization} keeps DL4J's LSTM.</li>
 * </ul>
 */
public final class FusedLstm implements LSTMHelper {

    private static final Logger log = LoggerFactory.getLogger(FusedLstm.class);

    private static final int DATA_FORMAT_NCW = 2;
    private static final int ACT_TANH = 0;
    private static final int ACT_SIGMOID = 2;

    private final DataType dataType;
    private final AtomicLong fusedForward = new AtomicLong();
    private final AtomicLong fusedBackward = new AtomicLong();
    private final AtomicLong declined = new AtomicLong();

    /**
     * Creates a helper for layers whose parameters and activations have the given data type.
     *
     * @param dataType the data type of the layer (FLOAT or DOUBLE run fused; any other declines every call)
     */
    public FusedLstm(DataType dataType) {
        this.dataType = dataType;
    }

    /**
     * Says whether the fused ops implement a layer with these activations.
     *
     * @param gateActivationFn the gate activation; only sigmoid is supported
     * @param activationFn the layer (block input and cell output) activation; only tanh is supported
     * @param hasPeepholeConnections whether the layer has peephole weights (GravesLSTM); unsupported
     * @return true when the fused ops compute the same function as DL4J's Java path
     */
    @Override
    public boolean checkSupported(IActivation gateActivationFn, IActivation activationFn,
                                  boolean hasPeepholeConnections) {
        return gateActivationFn instanceof ActivationSigmoid && activationFn instanceof ActivationTanH
                && !hasPeepholeConnections && (dataType == DataType.FLOAT || dataType == DataType.DOUBLE);
    }

    /**
     * Says whether this helper can run at all; the per-call checks are in {@link #activate}.
     *
     * @return true
     */
    @Override
    public boolean checkSupported() {
        return true;
    }

    /**
     * Reports the helper's persistent memory: none, since all its arrays live in DL4J's workspaces per call.
     *
     * @return an empty map
     */
    @Override
    public Map<String, Long> helperMemoryUse() {
        return Collections.emptyMap();
    }

    /**
     * Runs the forward pass with libnd4j's {@code lstmLayer}, or declines.
     *
     * @param layer the DL4J layer
     * @param conf the layer's configuration
     * @param gateActivationFn the gate activation
     * @param input the input, {@code [batch, nIn, time]}
     * @param recurrentWeights {@code RW}, {@code [n, 4n]}
     * @param inputWeights {@code W}, {@code [nIn, 4n]}
     * @param biases {@code b}, {@code [4n]}
     * @param training whether this is a training pass
     * @param prevOutputActivations the initial output {@code h_{-1}}, {@code [batch, n]} (zeros if no state)
     * @param prevMemCellState the initial cell state {@code c_{-1}}, {@code [batch, n]} (zeros if no state)
     * @param forBackprop whether {@link #backpropGradient} follows
     * @param forwards whether time runs forwards; backwards declines
     * @param inputWeightKey the name of {@code W}
     * @param maskArray the input mask {@code [batch, time]}, or null
     * @param hasPeepholeConnections whether the layer has peepholes; declines if so
     * @param workspaceMgr DL4J's workspace manager of this pass
     * @return the forward pass, or null to let DL4J's Java path run
     */
    @Override
    public FwdPassReturn activate(Layer layer, NeuralNetConfiguration conf, IActivation gateActivationFn,
                                  INDArray input, INDArray recurrentWeights, INDArray inputWeights, INDArray biases,
                                  boolean training, INDArray prevOutputActivations, INDArray prevMemCellState,
                                  boolean forBackprop, boolean forwards, String inputWeightKey, INDArray maskArray,
                                  boolean hasPeepholeConnections, LayerWorkspaceMgr workspaceMgr) {
        IActivation act = ((BaseLayer) conf.getLayer()).getActivationFn();
        String reason = declineReason(gateActivationFn, act, hasPeepholeConnections, forwards, input,
                recurrentWeights, inputWeights);
        int[] lengths = null;
        if (reason == null && maskArray != null) {
            lengths = TrailingMask.lengths(maskArray, input.size(0), input.size(2));
            if (lengths == null) {
                reason = "the mask is not trailing padding";
            }
        }
        if (reason != null) {
            declined.incrementAndGet();
            log.debug("LSTM {}: Java path, {}", layer.getIndex(), reason);
            return null;
        }
        ArrayType work = forBackprop ? ArrayType.BP_WORKING_MEM : ArrayType.FF_WORKING_MEM;
        DataType type = input.dataType();
        long batch = input.size(0);
        long n = recurrentWeights.size(0);
        long steps = input.size(2);

        FusedPass pass = new FusedPass();
        pass.layer = (BaseRecurrentLayer<?>) layer;
        pass.biases = biases;
        pass.training = training;
        pass.mask = maskArray;
        pass.wx = GateOrder.toLibnd4j(inputWeights, n, work, workspaceMgr);
        pass.wr = GateOrder.toLibnd4j(recurrentWeights, n, work, workspaceMgr);
        pass.b = GateOrder.toLibnd4j(biases.reshape(1, 4 * n), n, work, workspaceMgr).reshape(4 * n);
        pass.hI = prevOutputActivations.dataType() == type ? prevOutputActivations
                : prevOutputActivations.castTo(type);
        pass.cI = prevMemCellState.dataType() == type ? prevMemCellState : prevMemCellState.castTo(type);
        pass.seqLen = lengths == null || TrailingMask.full(lengths, steps) ? null
                : TrailingMask.toArray(lengths, work, workspaceMgr);
        pass.prevAct = pass.hI;
        pass.prevMemCell = pass.cI;

        INDArray h = workspaceMgr.create(ArrayType.ACTIVATIONS, type, new long[] {batch, n, steps}, 'f');
        INDArray hL = workspaceMgr.createUninitialized(work, type, new long[] {batch, n}, 'c');
        INDArray cL = workspaceMgr.createUninitialized(work, type, new long[] {batch, n}, 'c');
        Nd4j.exec(DynamicCustomOp.builder("lstmLayer")
                .addInputs(pass.inputs(input))
                .addOutputs(h, hL, cL)
                .addIntegerArguments(DATA_FORMAT_NCW, 0, ACT_SIGMOID, ACT_TANH, ACT_TANH)
                .addBooleanArguments(true, pass.seqLen != null, true, true, false, true, true, true)
                .addFloatingPointArguments(0.0)
                .build());
        if (pass.seqLen != null) {
            INDArray last = maskArray.get(NDArrayIndex.all(), NDArrayIndex.point(steps - 1)).reshape(batch, 1);
            hL.muliColumnVector(last);
            cL.muliColumnVector(last);
        }
        pass.fwdPassOutput = h;
        pass.lastAct = hL;
        pass.lastMemCell = cL;
        fusedForward.incrementAndGet();
        return pass;
    }

    /**
     * Runs the backward pass with libnd4j's {@code lstmLayer_bp} after a fused forward pass, writing the
     * gradients of {@code W}, {@code RW} and {@code b} into the layer's gradient views.
     *
     * @param conf the layer's configuration
     * @param gateActivationFn the gate activation
     * @param input the input, {@code [batch, nIn, time]}
     * @param recurrentWeights {@code RW}
     * @param inputWeights {@code W}
     * @param epsilon the error at the layer's output, {@code [batch, n, time]}
     * @param truncatedBPTT whether this is truncated back-propagation through time
     * @param tbpttBackwardLength the number of steps to back-propagate through when truncated
     * @param fwdPass the forward pass; a pass that this helper did not compute declines
     * @param forwards whether time runs forwards
     * @param inputWeightKey the name of {@code W}
     * @param recurrentWeightKey the name of {@code RW}
     * @param biasWeightKey the name of {@code b}
     * @param gradientViews the layer's gradient views by parameter name
     * @param maskArray the mask DL4J's {@code LSTM} hands its backward pass: always null in DL4J 1.0.0-M2.1
     * @param hasPeepholeConnections whether the layer has peepholes
     * @param workspaceMgr DL4J's workspace manager of this pass
     * @return the gradient and the error at the input, or null to let DL4J's Java path run
     */
    @Override
    public Pair<Gradient, INDArray> backpropGradient(NeuralNetConfiguration conf, IActivation gateActivationFn,
                                                     INDArray input, INDArray recurrentWeights,
                                                     INDArray inputWeights, INDArray epsilon, boolean truncatedBPTT,
                                                     int tbpttBackwardLength, FwdPassReturn fwdPass,
                                                     boolean forwards, String inputWeightKey,
                                                     String recurrentWeightKey, String biasWeightKey,
                                                     Map<String, INDArray> gradientViews, INDArray maskArray,
                                                     boolean hasPeepholeConnections,
                                                     LayerWorkspaceMgr workspaceMgr) {
        if (!(fwdPass instanceof FusedPass pass)) {
            return null;
        }
        long steps = input.size(2);
        String reason = null;
        if (truncatedBPTT && tbpttBackwardLength < steps) {
            reason = "truncated BPTT shorter than the sequence";
        } else if (epsilon.rank() != 3) {
            reason = "the error has rank " + epsilon.rank();
        } else if (pass.seqLen != null && errorAtMaskedSteps(epsilon, pass.mask, workspaceMgr)) {
            reason = "non-zero error at masked steps";
        }
        if (reason == null) {
            try {
                Pair<Gradient, INDArray> fused = fusedBackward(input, recurrentWeights, inputWeights, epsilon, pass,
                        inputWeightKey, recurrentWeightKey, biasWeightKey, gradientViews, workspaceMgr);
                fusedBackward.incrementAndGet();
                return fused;
            } catch (RuntimeException e) {
                if (String.valueOf(e.getMessage()).contains("Failed to allocate")) {
                    throw e;
                }
                reason = "the fused op failed: " + e;
                log.warn("LSTM {}: fused backward pass failed, running DL4J's Java path", pass.layer.getIndex(), e);
            }
        }
        declined.incrementAndGet();
        log.debug("LSTM {}: Java backward pass, {}", pass.layer.getIndex(), reason);
        FwdPassReturn javaPass = LSTMHelpers.activateHelper(pass.layer, conf, gateActivationFn, input,
                recurrentWeights, inputWeights, pass.biases, pass.training, pass.prevAct, pass.prevMemCell,
                true, forwards, inputWeightKey, pass.mask, hasPeepholeConnections, null, CacheMode.NONE,
                workspaceMgr, true);
        return LSTMHelpers.backpropGradientHelper(pass.layer, conf, gateActivationFn, input, recurrentWeights,
                inputWeights, epsilon, truncatedBPTT, tbpttBackwardLength, javaPass, forwards, inputWeightKey,
                recurrentWeightKey, biasWeightKey, gradientViews, maskArray, hasPeepholeConnections, null,
                workspaceMgr, true);
    }

    private Pair<Gradient, INDArray> fusedBackward(INDArray input, INDArray recurrentWeights, INDArray inputWeights,
                                                   INDArray epsilon, FusedPass pass, String inputWeightKey,
                                                   String recurrentWeightKey, String biasWeightKey,
                                                   Map<String, INDArray> gradientViews,
                                                   LayerWorkspaceMgr workspaceMgr) {
        long steps = input.size(2);
        DataType type = input.dataType();
        long batch = input.size(0);
        long nIn = inputWeights.size(0);
        long n = recurrentWeights.size(0);
        ArrayType work = ArrayType.BP_WORKING_MEM;
        INDArray dx = workspaceMgr.create(ArrayType.ACTIVATION_GRAD, type, new long[] {batch, nIn, steps}, 'f');
        INDArray dWx = workspaceMgr.createUninitialized(work, type, new long[] {nIn, 4 * n}, 'c');
        INDArray dWr = workspaceMgr.createUninitialized(work, type, new long[] {n, 4 * n}, 'c');
        INDArray db = workspaceMgr.createUninitialized(work, type, new long[] {4 * n}, 'c');
        INDArray dhI = workspaceMgr.createUninitialized(work, type, new long[] {batch, n}, 'c');
        INDArray dcI = workspaceMgr.createUninitialized(work, type, new long[] {batch, n}, 'c');
        INDArray[] outputs = pass.seqLen == null ? new INDArray[] {dx, dWx, dWr, db, dhI, dcI}
                : new INDArray[] {dx, dWx, dWr, db, workspaceMgr.createUninitialized(work, type, batch), dhI, dcI};
        INDArray[] inputs = pass.inputs(input);
        INDArray[] withError = Arrays.copyOf(inputs, inputs.length + 1);
        withError[inputs.length] = epsilon;
        Nd4j.exec(DynamicCustomOp.builder("lstmLayer_bp")
                .addInputs(withError)
                .addOutputs(outputs)
                .addIntegerArguments(DATA_FORMAT_NCW, 0, ACT_SIGMOID, ACT_TANH, ACT_TANH)
                .addBooleanArguments(true, pass.seqLen != null, true, true, false, true, false, false)
                .addFloatingPointArguments(0.0)
                .build());

        INDArray gW = gradientViews.get(inputWeightKey);
        INDArray gRW = gradientViews.get(recurrentWeightKey);
        INDArray gB = gradientViews.get(biasWeightKey);
        GateOrder.toDl4j(dWx, gW, n);
        GateOrder.toDl4j(dWr, gRW, n);
        GateOrder.toDl4j(db, gB, n);
        Gradient gradient = new DefaultGradient();
        gradient.gradientForVariable().put(inputWeightKey, gW);
        gradient.gradientForVariable().put(recurrentWeightKey, gRW);
        gradient.gradientForVariable().put(biasWeightKey, gB);
        return new Pair<>(gradient, dx);
    }

    /** The number of forward passes that ran fused. */
    long fusedForwardPasses() {
        return fusedForward.get();
    }

    /** The number of backward passes that ran fused. */
    long fusedBackwardPasses() {
        return fusedBackward.get();
    }

    /** The number of passes, forward or backward, that this helper handed to DL4J's Java path. */
    long declinedPasses() {
        return declined.get();
    }

    private String declineReason(IActivation gate, IActivation act, boolean peepholes, boolean forwards,
                                 INDArray input, INDArray recurrentWeights, INDArray inputWeights) {
        if (!checkSupported(gate, act, peepholes)) {
            return "unsupported activations " + gate + "/" + act + ", peepholes " + peepholes + " or type "
                    + dataType;
        }
        if (!forwards) {
            return "backwards direction";
        }
        if (input.rank() != 3) {
            return "input of rank " + input.rank();
        }
        if (input.dataType() != dataType || inputWeights.dataType() != dataType
                || recurrentWeights.dataType() != dataType) {
            return "data type " + input.dataType() + " for a helper of " + dataType;
        }
        if (recurrentWeights.size(1) != 4 * recurrentWeights.size(0)) {
            return "recurrent weights of shape " + Arrays.toString(recurrentWeights.shape());
        }
        return null;
    }

    /** Whether {@code epsilon [batch, n, time]} is non-zero anywhere that {@code mask [batch, time]} is zero. */
    private static boolean errorAtMaskedSteps(INDArray epsilon, INDArray mask, LayerWorkspaceMgr workspaceMgr) {
        INDArray outside = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, epsilon.dataType(),
                mask.shape(), 'c');
        outside.assign(mask).rsubi(1.0);
        INDArray masked = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, epsilon.dataType(),
                epsilon.shape(), 'f');
        Broadcast.mul(epsilon, outside, masked, 0, 2);
        return masked.amaxNumber().doubleValue() != 0;
    }

    /** A forward pass computed by this helper: the libnd4j-ordered parameters and states its backward pass reuses. */
    private static final class FusedPass extends FwdPassReturn {
        BaseRecurrentLayer<?> layer;
        INDArray biases;
        boolean training;
        INDArray wx;
        INDArray wr;
        INDArray b;
        INDArray seqLen;
        INDArray hI;
        INDArray cI;
        INDArray mask;

        INDArray[] inputs(INDArray x) {
            return seqLen == null ? new INDArray[] {x, wx, wr, b, hI, cI}
                    : new INDArray[] {x, wx, wr, b, seqLen, hI, cI};
        }
    }
}
