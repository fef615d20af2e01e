package org.mtl4j.core.train;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;
import java.util.Map;

/**
 * One training step of a multi-task network, following DESIGN.md's data flow: a forward pass of the
 * whole graph, each task's loss and its error at the task's output computed explicitly
 * ({@link MaskedTaskLoss}), the combinator's weights applied to those errors, one backward pass of the
 * graph from the weighted errors, and one updater step. With fixed weights 1 and no masks this is
 * exactly what {@code ComputationGraph.fit} does with one output layer per task.
 */
public final class TrainingStep {

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
     * @param gradient the gradient of {@code sum_t w_t L_t} w.r.t. the flat parameter vector (a copy)
     */
    public record GradientResult(TaskLosses losses, TaskWeights weights, INDArray gradient) {
    }

    private final ComputationGraph graph;
    private final List<Task> tasks;
    private final List<String> taskNames;
    private final String[] outputs;
    private final LossCombinator combinator;
    private final BatchValidator validator;

    /** A step over {@code graph}, whose outputs are the tasks' output projections in task order. */
    public TrainingStep(ComputationGraph graph, List<Task> tasks, List<String> outputs, LossCombinator combinator,
                        BatchValidator validator) {
        this.graph = graph;
        this.tasks = List.copyOf(tasks);
        this.taskNames = tasks.stream().map(Task::name).toList();
        this.outputs = outputs.toArray(new String[0]);
        this.combinator = combinator;
        this.validator = validator;
    }

    /** Trains on one minibatch: validates it, then updates every parameter once. */
    public StepResult fit(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        int iteration = graph.getIterationCount();
        int epoch = graph.getEpochCount();
        try {
            Forward forward = forward(batch, iteration, epoch);
            TaskWeights weights = weigh(forward);
            Gradient gradient = graph.backpropGradient(forward.errors());
            graph.getUpdater().update(gradient, iteration, epoch, batch.size(), LayerWorkspaceMgr.noWorkspaces());
            graph.params().subi(gradient.gradient());
            setIterationCount(iteration + 1);
            return new StepResult(iteration, epoch, forward.losses(), weights, batch.size());
        } finally {
            graph.clearLayerMaskArrays();
            graph.clearLayersStates();
        }
    }

    /** The gradient of the weighted objective on one minibatch; no parameter, state or count changes but the combinator's. */
    public GradientResult gradient(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        try {
            Forward forward = forward(batch, graph.getIterationCount(), graph.getEpochCount());
            TaskWeights weights = weigh(forward);
            Gradient gradient = graph.backpropGradient(forward.errors());
            return new GradientResult(forward.losses(), weights, gradient.gradient().dup().divi(batch.size()));
        } finally {
            graph.clearLayerMaskArrays();
            graph.clearLayersStates();
        }
    }

    /** The per-task losses on one minibatch (inference mode: no dropout), without any gradient. */
    public TaskLosses losses(MultiDataSet data) {
        BatchValidator.Batch batch = validator.validate(data);
        INDArray[] out = graph.output(false, new INDArray[]{batch.features()},
                batch.featuresMask() == null ? null : new INDArray[]{batch.featuresMask()});
        double[] losses = new double[tasks.size()];
        int[] labelled = new int[tasks.size()];
        for (int t = 0; t < tasks.size(); t++) {
            MaskedTaskLoss.Result r = MaskedTaskLoss.evaluate(tasks.get(t), batch.labels()[t], out[t], batch.masks()[t]);
            losses[t] = r.loss();
            labelled[t] = r.labelled();
        }
        return new TaskLosses(taskNames, losses, labelled, graph.getIterationCount(), graph.getEpochCount());
    }

    private Forward forward(BatchValidator.Batch batch, int iteration, int epoch) {
        graph.setLayerMaskArrays(batch.featuresMask() == null ? null : new INDArray[]{batch.featuresMask()}, null);
        Map<String, INDArray> activations = graph.feedForward(new INDArray[]{batch.features()}, true, false);
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

    private TaskWeights weigh(Forward forward) {
        TaskWeights weights = combinator.combine(forward.losses());
        if (weights == null || weights.size() != tasks.size()) {
            throw new IllegalStateException(combinator + " returned " + (weights == null ? "no" : weights.size())
                    + " weights for " + tasks.size() + " tasks");
        }
        INDArray[] errors = forward.errors();
        for (int t = 0; t < errors.length; t++) {
            double w = weights.weight(t);
            if (w != 1.0) {
                errors[t].muli(w);
            }
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
