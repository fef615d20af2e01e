package org.mtl4j.core;

import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One task of a multi-task network: a name, a {@link Head}, an output width with its activation and
 * loss (any ND4J {@link ILossFunction}: MCXENT, binary XENT, MSE, L1, L2, hinge, Poisson, ...), the labels array of the
 * {@code MultiDataSet} it reads, what kind of prediction it makes, and whether it is a main or an
 * auxiliary task.
 *
 * <p>The loss of a task on a minibatch is the mean over the examples that carry a label for it (a 0 in
 * the task's labels mask removes an example); a minibatch with no labelled example contributes a loss
 * and gradient of zero. For per-time-step tasks an example is labelled when any of its steps is, and
 * its loss is the sum over its labelled steps (as DL4J's {@code RnnOutputLayer} sums over time).
 *
 * <p>Labels are checked by the loss on every labelled example or step (a 0 in the labels mask excuses any
 * value): a softmax task ({@code LossMCXENT}, as {@link #classification}) takes a distribution over its
 * classes, values in [0, 1] summing to 1 within {@value org.mtl4j.core.train.BatchValidator#SUM_TOLERANCE}
 * (one-hot or label-smoothed; an all-zero row is refused, write "no label" in the mask); a binary
 * cross-entropy task ({@code LossBinaryXENT}, as {@link #multiLabel}) takes values in [0, 1]; other losses
 * are not range-checked. See {@link org.mtl4j.core.train.BatchValidator}.
 *
 * <p>Tasks are immutable; the {@code with...} methods return modified copies.
 */
public final class Task {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final String name;
    private final Head head;
    private final int nOut;
    private final IActivation activation;
    private final ILossFunction loss;
    private final TaskKind kind;
    private final TaskRole role;
    private final int labelsIndex;
    private final int stage;

    private Task(String name, Head head, int nOut, IActivation activation, ILossFunction loss, TaskKind kind,
                 TaskRole role, int labelsIndex, int stage) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a task needs a non-empty name");
        }
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("task \"" + name + "\": a name may hold letters, digits, '.', '_' and '-'"
                    + " and must start with a letter or digit");
        }
        if (nOut < 1) {
            throw new IllegalArgumentException("task \"" + name + "\": output width must be at least 1, got " + nOut);
        }
        if (labelsIndex < -1) {
            throw new IllegalArgumentException("task \"" + name + "\": labels index must be >= 0 (or -1 for the task's"
                    + " position), got " + labelsIndex);
        }
        this.name = name;
        this.head = Objects.requireNonNull(head, () -> "task \"" + name + "\": head is null");
        this.nOut = nOut;
        this.activation = Objects.requireNonNull(activation, () -> "task \"" + name + "\": activation is null");
        this.loss = Objects.requireNonNull(loss, () -> "task \"" + name + "\": loss function is null");
        this.kind = Objects.requireNonNull(kind, () -> "task \"" + name + "\": kind is null");
        this.role = Objects.requireNonNull(role, () -> "task \"" + name + "\": role is null");
        this.labelsIndex = labelsIndex;
        if (stage < -1) {
            throw new IllegalArgumentException("task \"" + name + "\": trunk stage must be >= 0 (or -1 for the last),"
                    + " got " + stage);
        }
        this.stage = stage;
    }

    /**
     * A single-label classification task over {@code nClasses} classes: softmax output, multi-class cross-entropy.
     *
     * @param name     the task's unique name: letters, digits, {@code .}, {@code _} and {@code -}, starting with a letter or digit
     * @param nClasses the number of classes, at least 2
     * @return a main task with a linear head that reads the labels array at its own position
     * @throws IllegalArgumentException if the name is not valid or {@code nClasses < 2}
     */
    public static Task classification(String name, int nClasses) {
        if (nClasses < 2) {
            throw new IllegalArgumentException("task \"" + name + "\": classification needs at least 2 classes, got "
                    + nClasses);
        }
        return new Task(name, Head.linear(), nClasses, Activation.SOFTMAX.getActivationFunction(), new LossMCXENT(),
                TaskKind.CLASSIFICATION, TaskRole.MAIN, -1, -1);
    }

    /**
     * A multi-label task with {@code nLabels} independent binary labels: sigmoid outputs, binary cross-entropy.
     *
     * @param name    the task's unique name: letters, digits, {@code .}, {@code _} and {@code -}, starting with a letter or digit
     * @param nLabels the number of binary labels, at least 1
     * @return a main task with a linear head that reads the labels array at its own position
     * @throws IllegalArgumentException if the name is not valid or {@code nLabels < 1}
     */
    public static Task multiLabel(String name, int nLabels) {
        return new Task(name, Head.linear(), nLabels, Activation.SIGMOID.getActivationFunction(), new LossBinaryXENT(),
                TaskKind.MULTI_LABEL, TaskRole.MAIN, -1, -1);
    }

    /**
     * A regression task with one real-valued target: identity output, mean squared error.
     *
     * @param name the task's unique name: letters, digits, {@code .}, {@code _} and {@code -}, starting with a letter or digit
     * @return a main task with a linear head that reads the labels array at its own position
     * @throws IllegalArgumentException if the name is not valid
     */
    public static Task regression(String name) {
        return regression(name, 1);
    }

    /**
     * A regression task with {@code nOut} real-valued targets: identity output, mean squared error.
     *
     * @param name the task's unique name: letters, digits, {@code .}, {@code _} and {@code -}, starting with a letter or digit
     * @param nOut the number of targets, at least 1
     * @return a main task with a linear head that reads the labels array at its own position
     * @throws IllegalArgumentException if the name is not valid or {@code nOut < 1}
     */
    public static Task regression(String name, int nOut) {
        return new Task(name, Head.linear(), nOut, Activation.IDENTITY.getActivationFunction(), new LossMSE(),
                TaskKind.REGRESSION, TaskRole.MAIN, -1, -1);
    }

    /**
     * A task with an explicit output: {@code nOut} outputs with the given activation and loss.
     * {@code kind} chooses the metrics it is evaluated with.
     *
     * @param name       the task's unique name: letters, digits, {@code .}, {@code _} and {@code -}, starting with a letter or digit
     * @param kind       what the task predicts; chooses the DL4J evaluation it is evaluated with
     * @param nOut       the output width, at least 1
     * @param activation the output activation, applied to the head's projection before the loss
     * @param loss       the loss function, any ND4J {@link ILossFunction}
     * @return a main task with a linear head that reads the labels array at its own position
     * @throws IllegalArgumentException if the name is not valid or {@code nOut < 1}
     * @throws NullPointerException     if {@code activation}, {@code loss} or {@code kind} is {@code null}
     */
    public static Task of(String name, TaskKind kind, int nOut, Activation activation, ILossFunction loss) {
        Objects.requireNonNull(activation, () -> "task \"" + name + "\": activation is null");
        return new Task(name, Head.linear(), nOut, activation.getActivationFunction(), loss, kind, TaskRole.MAIN, -1,
                -1);
    }

    /**
     * This task with the given head.
     *
     * @param head the hidden layers between the task's representation and its output projection
     * @return a copy of this task with {@code head}
     */
    public Task withHead(Head head) {
        return new Task(name, head, nOut, activation, loss, kind, role, labelsIndex, stage);
    }

    /**
     * This task with another loss function (the activation stays).
     *
     * @param loss the new loss function
     * @return a copy of this task with {@code loss}
     */
    public Task withLoss(ILossFunction loss) {
        return new Task(name, head, nOut, activation, loss, kind, role, labelsIndex, stage);
    }

    /**
     * This task as an auxiliary task: trained, but not reported by default.
     *
     * @return a copy of this task with the role {@link TaskRole#AUXILIARY}
     */
    public Task asAuxiliary() {
        return new Task(name, head, nOut, activation, loss, kind, TaskRole.AUXILIARY, labelsIndex, stage);
    }

    /**
     * This task with the given role.
     *
     * @param role main or auxiliary
     * @return a copy of this task with {@code role}
     */
    public Task withRole(TaskRole role) {
        return new Task(name, head, nOut, activation, loss, kind, role, labelsIndex, stage);
    }

    /**
     * This task reading {@code labels[index]} (and {@code labelsMask[index]}) of each {@code MultiDataSet}.
     * By default a task reads the labels array at its own position in the network's task list.
     *
     * @param index the position of the task's labels array in each {@code MultiDataSet}, at least 0
     * @return a copy of this task that reads {@code labels[index]}
     * @throws IllegalArgumentException if {@code index < 0}
     */
    public Task withLabelsIndex(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("task \"" + name + "\": labels index must be >= 0, got " + index);
        }
        return new Task(name, head, nOut, activation, loss, kind, role, index, stage);
    }

    /**
     * This task reading its representation from the output of trunk stage {@code stage} (0-based) instead
     * of the last stage: a low-level task supervised at a lower layer (Sogaard and Goldberg 2016; the Joint
     * Many-Task model, Hashimoto et al. 2017). Every sharing strategy honours it.
     *
     * @param stage the 0-based trunk stage whose output the task's head reads
     * @return a copy of this task that reads stage {@code stage}
     * @throws IllegalArgumentException if {@code stage < 0}
     */
    public Task withStage(int stage) {
        if (stage < 0) {
            throw new IllegalArgumentException("task \"" + name + "\": trunk stage must be >= 0, got " + stage);
        }
        return new Task(name, head, nOut, activation, loss, kind, role, labelsIndex, stage);
    }

    /**
     * Restores a task from its parts (used when loading a saved model).
     *
     * @param name        the task's name, as {@link #name()}
     * @param head        the task's head, as {@link #head()}
     * @param nOut        the output width, as {@link #nOut()}
     * @param activation  the output activation, as {@link #activation()}
     * @param loss        the loss function, as {@link #loss()}
     * @param kind        what the task predicts, as {@link #kind()}
     * @param role        main or auxiliary, as {@link #role()}
     * @param labelsIndex the labels index, as {@link #labelsIndex()} (-1 for the task's own position)
     * @param stage       the trunk stage, as {@link #stage()} (-1 for the last)
     * @return the task with these parts
     * @throws IllegalArgumentException if a part is out of range, as for the factories
     */
    public static Task restore(String name, Head head, int nOut, IActivation activation, ILossFunction loss,
                               TaskKind kind, TaskRole role, int labelsIndex, int stage) {
        return new Task(name, head, nOut, activation, loss, kind, role, labelsIndex, stage);
    }

    /**
     * The task's unique name.
     *
     * @return the name, which keys the task's losses, weights and predictions
     */
    public String name() {
        return name;
    }

    /**
     * The task's hidden layers.
     *
     * @return the head (a linear head has no hidden layer)
     */
    public Head head() {
        return head;
    }

    /**
     * The width of the task's output (classes, labels or targets).
     *
     * @return the output width, at least 1
     */
    public int nOut() {
        return nOut;
    }

    /**
     * The output activation, applied to the head's projection before the loss.
     *
     * @return the output activation
     */
    public IActivation activation() {
        return activation;
    }

    /**
     * The loss function.
     *
     * @return the ND4J loss function of the task's output
     */
    public ILossFunction loss() {
        return loss;
    }

    /**
     * What the task predicts.
     *
     * @return classification, multi-label or regression
     */
    public TaskKind kind() {
        return kind;
    }

    /**
     * Main or auxiliary.
     *
     * @return the task's role
     */
    public TaskRole role() {
        return role;
    }

    /**
     * The labels index set with {@link #withLabelsIndex(int)}, or -1 when the task reads its own position.
     *
     * @return the labels index, or -1
     */
    public int labelsIndex() {
        return labelsIndex;
    }

    /**
     * The trunk stage set with {@link #withStage(int)}, or -1 when the task reads the last stage.
     *
     * @return the 0-based trunk stage, or -1
     */
    public int stage() {
        return stage;
    }

    /**
     * The trunk stage this task reads in a trunk of {@code stages} stages.
     *
     * @param stages the number of stages of the trunk
     * @return the 0-based stage: the one set with {@link #withStage(int)}, else {@code stages - 1}
     */
    public int stageIn(int stages) {
        return stage < 0 ? stages - 1 : stage;
    }

    @Override
    public String toString() {
        return "Task{" + name + ", " + kind + ", nOut=" + nOut + ", " + activation + ", " + loss + ", " + role + "}";
    }
}
