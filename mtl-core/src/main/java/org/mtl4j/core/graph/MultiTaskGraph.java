package org.mtl4j.core.graph;

import org.deeplearning4j.nn.api.FwdPassType;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.mtl4j.core.accel.Acceleration;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.function.Function;

/**
 * The DL4J graph of a multi-task network: a {@link ComputationGraph} that can also run the mtl4j training
 * step the way {@code ComputationGraph.fit} runs its own, inside DL4J's training workspaces. The forward
 * pass's activations live in the all-layers workspace, which stays open while the step computes the task
 * losses and back-propagates their errors, and is reused from step to step; no activation is copied out.
 * Measured against a detached forward pass, this removes the per-step native allocations (page faults)
 * that made the step slower than plain {@code fit} (see mtl-bench).
 */
public class MultiTaskGraph extends ComputationGraph {

    /**
     * A graph for the given configuration; call {@link #init()} before use.
     *
     * @param configuration the assembled multi-task graph configuration
     */
    public MultiTaskGraph(ComputationGraphConfiguration configuration) {
        super(configuration);
    }

    /**
     * Initialises the graph as DL4J does, then puts native implementations under its layers where the natives
     * have them ({@link Acceleration#install(ComputationGraph)}).
     *
     * @param parameters             the parameters to use, or null to initialise them
     * @param cloneParametersArray whether to copy {@code parameters}
     */
    @Override
    public void init(INDArray parameters, boolean cloneParametersArray) {
        super.init(parameters, cloneParametersArray);
        Acceleration.install(this);
    }

    /**
     * The number of parameters, those of vertices with parameters (mixing units) included:
     * {@code ComputationGraph.numParams()} counts layer parameters only.
     */
    @Override
    public long numParams() {
        return params().length();
    }

    /**
     * Runs a training forward pass and then {@code body}, with every activation valid (inside the training
     * workspace) until {@code body} returns. {@code body} computes the errors at the outputs and calls
     * {@link #backpropagate(INDArray[])} (or back-propagates vertex by vertex); arrays it returns must not
     * live in the workspace (return numbers, or {@code detach()}).
     *
     * @param <T>          what {@code body} returns
     * @param features     the minibatch's features
     * @param featuresMask the features' time-step mask, or null
     * @param body         receives each vertex's activations by vertex name
     * @return what {@code body} returned
     */
    public <T> T trainingPass(INDArray features, INDArray featuresMask, Function<Map<String, INDArray>, T> body) {
        synchronizeIterEpochCounts();
        MemoryWorkspace entry = Nd4j.getMemoryManager().getCurrentWorkspace();
        LayerWorkspaceMgr mgr = trainingWorkspaces();
        INDArray[] masks = featuresMask == null ? null : new INDArray[]{featuresMask};
        try (MemoryWorkspace ws = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
            Map<String, INDArray> activations = ffToLayerActivationsInWS(true, -1, null, FwdPassType.STANDARD, false,
                    new INDArray[]{features}, masks, null, false);
            return body.apply(activations);
        } finally {
            for (GraphVertex v : getVertices()) {
                v.clear();
            }
            // nothing of the step stays the thread's current workspace, even when DL4J's backprop misbehaves
            Nd4j.getMemoryManager().setCurrentWorkspace(entry);
        }
    }

    /**
     * Back-propagates external errors at the graph's outputs (one per output, in output order) during a
     * {@link #trainingPass}; returns the gradient over the graph's flat gradient view.
     *
     * @param errors the error at each graph output, in output order
     * @return the gradient, whose arrays are views of the graph's flat gradient
     */
    public Gradient backpropagate(INDArray[] errors) {
        calcBackpropGradients(false, false, errors);
        return gradient;
    }

    /**
     * The workspace of every activation gradient of a split backward pass (each head alone, per-task passes, the
     * encoder): opened once for the whole pass, reused from step to step, so the pass allocates no fresh native
     * memory per step.
     */
    public static final String WS_SPLIT_BACKWARD = "MTL4J_SPLIT_BACKWARD";

    /**
     * The configuration of mtl4j's own step workspaces (the split backward pass, sharing penalties): sized by the
     * first step, reused by every later one, spilling to fresh memory only when a step needs more.
     */
    public static final WorkspaceConfiguration STEP_WORKSPACE_CONFIG = WorkspaceConfiguration.builder()
            .initialSize(0)
            .overallocationLimit(0.05)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .build();

    /**
     * The workspace manager of a split backward pass, which runs vertex by vertex inside a {@link #trainingPass}:
     * activation gradients in {@link #WS_SPLIT_BACKWARD} (open the {@code ACTIVATION_GRAD} scope around the whole
     * pass), working memory and the forward recomputations some layers do in backprop (LSTM) in DL4J's layer
     * working-memory workspaces, as {@code ComputationGraph.calcBackpropGradients} places them.
     *
     * @return a new workspace manager (without workspaces when the graph's training workspace mode is NONE)
     */
    public LayerWorkspaceMgr splitBackwardWorkspaces() {
        if (getConfiguration().getTrainingWorkspaceMode() == WorkspaceMode.NONE) {
            return LayerWorkspaceMgr.noWorkspaces(helperWorkspaces);
        }
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.builder()
                .with(ArrayType.INPUT, WS_ALL_LAYERS_ACT, WS_ALL_LAYERS_ACT_CONFIG)
                .with(ArrayType.ACTIVATION_GRAD, WS_SPLIT_BACKWARD, STEP_WORKSPACE_CONFIG)
                .with(ArrayType.ACTIVATIONS, WS_LAYER_WORKING_MEM, WS_LAYER_WORKING_MEM_CONFIG)
                .with(ArrayType.FF_WORKING_MEM, WS_LAYER_WORKING_MEM, WS_LAYER_WORKING_MEM_CONFIG)
                .with(ArrayType.BP_WORKING_MEM, WS_LAYER_WORKING_MEM, WS_LAYER_WORKING_MEM_CONFIG)
                .with(ArrayType.RNN_FF_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM_CONFIG)
                .with(ArrayType.RNN_BP_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM_CONFIG)
                .build();
        mgr.setHelperWorkspacePointers(helperWorkspaces);
        return mgr;
    }

    /**
     * The workspace manager of a training step, as {@code ComputationGraph.computeGradientAndScore} builds it.
     *
     * @return a new workspace manager (without workspaces when the graph's training workspace mode is NONE)
     */
    public LayerWorkspaceMgr trainingWorkspaces() {
        LayerWorkspaceMgr mgr;
        if (getConfiguration().getTrainingWorkspaceMode() == WorkspaceMode.NONE) {
            mgr = LayerWorkspaceMgr.noWorkspaces();
        } else {
            mgr = LayerWorkspaceMgr.builder()
                    .with(ArrayType.ACTIVATIONS, WS_ALL_LAYERS_ACT, WS_ALL_LAYERS_ACT_CONFIG)
                    .with(ArrayType.INPUT, WS_ALL_LAYERS_ACT, WS_ALL_LAYERS_ACT_CONFIG)
                    .with(ArrayType.FF_WORKING_MEM, WS_LAYER_WORKING_MEM, WS_LAYER_WORKING_MEM_CONFIG)
                    .with(ArrayType.BP_WORKING_MEM, WS_LAYER_WORKING_MEM, WS_LAYER_WORKING_MEM_CONFIG)
                    .with(ArrayType.RNN_FF_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM_CONFIG)
                    .with(ArrayType.RNN_BP_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM, WS_RNN_LOOP_WORKING_MEM_CONFIG)
                    .with(ArrayType.UPDATER_WORKING_MEM, WS_ALL_LAYERS_ACT, WS_ALL_LAYERS_ACT_CONFIG)
                    .build();
        }
        mgr.setHelperWorkspacePointers(helperWorkspaces);
        return mgr;
    }
}
