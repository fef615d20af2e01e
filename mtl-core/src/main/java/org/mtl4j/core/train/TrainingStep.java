package org.mtl4j.core.train;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.graph.MultiTaskGraph;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;

/**
 * One training step of a multi-task network, following the data flow in docs/design.md ("The data flow of
 * one training step"): a forward pass of the whole graph, each task's loss and its error at the task's output
 * computed explicitly ({@link MaskedTaskLoss}), the combinator's weights applied to those errors, one backward
 * pass of the graph from the weighted errors, and one updater step. With fixed weights 1 and no masks this is
 * exactly what {@code ComputationGraph.fit} does with one output layer per task.
 *
 * <p>When the combinator reads per-task gradients ({@link LossCombinator#gradients(boolean)}, asked once here
 * with whether every task reads one representation, and logged), the backward pass is split: each head alone
 * with its unweighted error, each task's gradient of the requested kind, the combinator, then the encoder
 * trained on the weighted combination ({@link TaskGradientPass}).
 */
public final class TrainingStep {

    private static final Logger log = LoggerFactory.getLogger(TrainingStep.class);

    /**
     * The losses of a forward pass and each task's unweighted error at its output.
     *
     * @param losses the per-task losses
     * @param errors each task's error at its output projection (per-example-sum convention)
     */
    public record Forward(TaskLosses losses, INDArray[] errors) {
    }

    /**
     * The gradient of one step's objective, without an update.
     *
     * @param losses   the per-task losses
     * @param weights  the weights applied
     * @param penalty  the sharing strategy's penalty
     * @param gradient the gradient of {@code sum_t w_t L_t + penalty} w.r.t. the flat parameter vector (a copy)
     */
    public record GradientResult(TaskLosses losses, TaskWeights weights, double penalty, INDArray gradient) {
    }

    private static final String PENALTY_WORKSPACE = "MTL4J_PENALTY";

    private final MultiTaskGraph graph;
    private final List<Task> tasks;
    private final List<String> taskNames;
    private final String[] outputs;
    private final LossCombinator combinator;
    private final SharingStrategy sharing;
    private final BatchValidator validator;
    private final TaskGradientPass split;

    /**
     * A step over {@code graph}, whose outputs are the tasks' output projections in task order, each
     * task reading the representation vertex named in {@code representations}.
     *
     * @param graph           the initialised graph, one output per task in task order
     * @param tasks           the tasks, in graph-output order
     * @param outputs         the vertex names of the tasks' output projections, in task order
     * @param representations the vertex names of the tasks' representations (each head's input), in task order
     * @param sharing         the sharing strategy, whose penalty joins the objective
     * @param combinator      the loss combinator, already initialised for {@code tasks}
     * @param validator       checks each minibatch against the tasks before the step reads it
     * @throws IllegalArgumentException when the combinator asks for task gradients this network cannot give
     */
    public TrainingStep(MultiTaskGraph graph, List<Task> tasks, List<String> outputs, List<String> representations,
                        SharingStrategy sharing, LossCombinator combinator, BatchValidator validator) {
        this.graph = graph;
        this.tasks = List.copyOf(tasks);
        this.taskNames = tasks.stream().map(Task::name).toList();
        this.outputs = outputs.toArray(new String[0]);
        this.sharing = sharing;
        this.combinator = combinator;
        this.validator = validator;
        SharedGradients kind = gradientKind(combinator, representations, sharing);
        this.split = kind == SharedGradients.NONE ? null
                : new TaskGradientPass(graph, this.tasks, outputs, representations, sharing, combinator, kind);
    }

    /** The kind of task gradient the combinator reads on this network, logged once when it reads any. */
    private static SharedGradients gradientKind(LossCombinator combinator, List<String> representations,
                                                SharingStrategy sharing) {
        boolean one = representations.stream().distinct().count() <= 1;
        SharedGradients kind = combinator.gradients(one);
        if (kind != SharedGradients.NONE) {
            log.info("{} reads {} gradients: {} ({})", combinator, kind,
                    one ? "every task reads one representation" : "tasks read different representations", sharing);
        }
        return kind;
    }

    /** The losses, the weights applied and the gradient of one backward pass (before the updater). */
    private record Backward(TaskLosses losses, TaskWeights weights, double penalty, Gradient gradient) {
    }

    /**
     * Trains on one minibatch: validates it, then updates every parameter once.
     *
     * @param data one minibatch: the features, then the labels (and optional labels masks) the tasks read
     * @return the step's per-task losses, the weights applied, the sharing penalty and the minibatch size
     */
    public StepResult fit(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        int iteration = graph.getIterationCount();
        int epoch = graph.getEpochCount();
        try {
            Backward b = backward(batch, iteration, epoch);
            graph.getUpdater().update(b.gradient(), iteration, epoch, batch.size(), graph.trainingWorkspaces());
            graph.params().subi(b.gradient().gradient());
            setIterationCount(iteration + 1);
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                combinator.update(b.losses(), b.weights());
            }
            return new StepResult(iteration, epoch, b.losses().withoutGradients(), b.weights(), b.penalty(),
                    batch.size());
        } finally {
            graph.clearLayerMaskArrays();
            graph.clearLayersStates();
        }
    }

    /**
     * The gradient of the weighted objective on one minibatch; no parameter, state or count changes but the combinator's.
     *
     * @param data one minibatch, laid out as for {@link #fit(MultiDataSet)}
     * @return the per-task losses, the weights applied, the sharing penalty and a copy of the flat gradient
     */
    public GradientResult gradient(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        try {
            Backward b = backward(batch, graph.getIterationCount(), graph.getEpochCount());
            return new GradientResult(b.losses().withoutGradients(), b.weights(), b.penalty(),
                    b.gradient().gradient().dup().divi(batch.size()));
        } finally {
            graph.clearLayerMaskArrays();
            graph.clearLayersStates();
        }
    }

    private Backward backward(BatchValidator.Batch batch, int iteration, int epoch) {
        Backward b = unpenalised(batch, iteration, epoch);
        double penalty;
        // a strategy's temporaries (soft sharing's column sums) live in a workspace reused from step to step
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(MultiTaskGraph.STEP_WORKSPACE_CONFIG,
                PENALTY_WORKSPACE)) {
            penalty = sharing.penalty(graph, b.gradient().gradient(), batch.size());
        }
        if (!Double.isFinite(penalty)) {
            throw new IllegalStateException(sharing + ": penalty is " + penalty + " at iteration " + iteration + " (epoch "
                    + epoch + "); training stopped before the update, parameters are unchanged");
        }
        return new Backward(b.losses(), b.weights(), penalty, b.gradient());
    }

    /** The forward pass, the losses and the backward pass, inside the graph's training workspaces. */
    private Backward unpenalised(BatchValidator.Batch batch, int iteration, int epoch) {
        return graph.trainingPass(batch.features(), batch.featuresMask(), activations -> {
            Forward forward = forward(batch, activations, iteration, epoch);
            if (split == null) {
                return whole(forward);
            }
            TaskGradientPass.Result r = split.run(forward.losses(), forward.errors(), batch.size(), this::weigh);
            return new Backward(r.losses(), r.weights(), 0, r.gradient());
        });
    }

    /** One backward pass of the whole graph from the weighted errors. */
    private Backward whole(Forward forward) {
        INDArray[] errors = forward.errors();
        TaskWeights weights = weigh(forward.losses());
        if (!weights.uniform()) {
            throw new IllegalStateException(combinator + " weighs heads and shared parameters differently, which needs"
                    + " task gradients: its gradients() must not be NONE");
        }
        for (int t = 0; t < errors.length; t++) {
            if (weights.weight(t) != 1.0) {
                errors[t].muli(weights.weight(t));
            }
        }
        return new Backward(forward.losses(), weights, 0, graph.backpropagate(errors));
    }

    /**
     * The per-task losses on one minibatch (inference mode: no dropout), without any gradient.
     *
     * @param data one minibatch, laid out as for {@link #fit(MultiDataSet)}
     * @return each task's mean loss over its labelled examples
     */
    public TaskLosses losses(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        INDArray[] out = graph.output(false, new INDArray[]{batch.features()},
                batch.featuresMask() == null ? null : new INDArray[]{batch.featuresMask()});
        double[] losses = new double[tasks.size()];
        int[] labelled = new int[tasks.size()];
        for (int t = 0; t < tasks.size(); t++) {
            MaskedTaskLoss.Result r = MaskedTaskLoss.score(tasks.get(t), batch.labels()[t], out[t], batch.masks()[t]);
            losses[t] = r.loss();
            labelled[t] = r.labelled();
        }
        return new TaskLosses(taskNames, losses, labelled, graph.getIterationCount(), graph.getEpochCount());
    }

    private Forward forward(BatchValidator.Batch batch, Map<String, INDArray> activations, int iteration, int epoch) {
        double[] losses = new double[tasks.size()];
        int[] labelled = new int[tasks.size()];
        INDArray[] errors = new INDArray[tasks.size()];
        for (int t = 0; t < tasks.size(); t++) {
            MaskedTaskLoss.Result r = MaskedTaskLoss.evaluate(tasks.get(t), batch.labels()[t],
                    activations.get(outputs[t]), batch.masks()[t]);
            if (!Double.isFinite(r.loss())) {
                throw new IllegalStateException("task \"" + taskNames.get(t) + "\": loss is " + r.loss()
                        + " at iteration " + iteration + " (epoch " + epoch + "); training stopped before the update,"
                        + " parameters are unchanged. Check the learning rate and that labels fit the task's loss ("
                        + tasks.get(t).loss() + ")");
            }
            losses[t] = r.loss();
            labelled[t] = r.labelled();
            errors[t] = r.gradient();
        }
        return new Forward(new TaskLosses(taskNames, losses, labelled, iteration, epoch), errors);
    }

    private TaskWeights weigh(TaskLosses losses) {
        TaskWeights weights;
        // arrays a combinator makes (and may keep as state) must not live in the step's workspace
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            weights = combinator.combine(losses);
        }
        if (weights == null || weights.size() != tasks.size()) {
            throw new IllegalStateException(combinator + " returned " + (weights == null ? "no" : weights.size())
                    + " weights for " + tasks.size() + " tasks");
        }
        return weights;
    }

    /** Sets the iteration count on the graph and its layers (layer counts drive schedules such as dropout's). */
    private void setIterationCount(int iteration) {
        graph.getConfiguration().setIterationCount(iteration);
        for (Layer layer : graph.getLayers()) {
            layer.setIterationCount(iteration);
        }
    }
}
