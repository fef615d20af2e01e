package org.mtl4j.core;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Trainer: history, validation, early stopping, checkpoints, exact resume, learning-rate schedules. */
class TrainerTest {

    @TempDir
    Path dir;

    private static MultiTaskNetwork network(double dropOut) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(3))
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).dropOut(dropOut).build())
                .build();
        return MultiTaskNetwork.builder()
                .trunk(trunk)
                .task(Task.classification("sign", 2))
                .task(Task.regression("sum"))
                .task(Task.regression("noise").asAuxiliary())
                .losses(FixedWeights.of(1, 1, 0.5))
                .updater(new Adam(new ExponentialSchedule(ScheduleType.ITERATION, 0.05, 0.97)))
                .seed(5)
                .build();
    }

    /** Sign of the sum of 3 features (2 classes), the sum, and noise; {@code flipSign} swaps the sign labels. */
    static List<MultiDataSet> data(int batches, int mb, long seed, boolean flipSign) {
        RandomData r = new RandomData(seed, DataType.FLOAT);
        List<MultiDataSet> list = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            INDArray x = r.gaussian(mb, 3);
            INDArray sum = x.sum(true, 1);
            INDArray sign = Nd4j.create(DataType.FLOAT, mb, 2);
            for (int i = 0; i < mb; i++) {
                sign.putScalar(i, (sum.getDouble(i) > 0) != flipSign ? 1 : 0, 1.0);
            }
            list.add(RandomData.dataSet(x, new INDArray[]{sign, sum, r.gaussian(mb, 1)}, null));
        }
        return list;
    }

    private static MultiDataSetIterator iterator(List<MultiDataSet> data) {
        return new TestMultiDataSetIterator(1, data.toArray(new org.nd4j.linalg.dataset.MultiDataSet[0]));
    }

    @Test
    void historyRecordsTrainLossesWeightsAndValidationMetrics() {
        MultiTaskNetwork net = network(0);
        List<StepResult> steps = new ArrayList<>();
        MultiDataSetIterator valid = iterator(data(2, 32, 9, false));
        Trainer trainer = Trainer.builder().epochs(3).validation(valid).listeners(new TrainingListener() {
            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                steps.add(step);
            }
        }).build();

        TrainingResult result = trainer.fit(net, iterator(data(4, 16, 1, false)));

        TrainingHistory h = result.history();
        assertSame(net, result.network());
        assertSame(net, result.best());
        assertFalse(result.stoppedEarly());
        assertEquals(3, h.size());
        for (int e = 0; e < 3; e++) {
            EpochRecord r = h.records().get(e);
            assertEquals(e + 1, r.epoch());
            assertEquals(4L * (e + 1), r.iteration());
            assertEquals(4, r.steps());
            // every example is labelled for every task, so the epoch's loss is the mean of its 4 step losses
            for (int t = 0; t < 3; t++) {
                double sum = 0;
                for (int s = 0; s < 4; s++) {
                    sum += steps.get(4 * e + s).losses().loss(t);
                }
                assertEquals(sum / 4, r.trainLoss().get(net.taskNames().get(t)), 1e-12);
            }
            assertEquals(Map.of("sign", 1.0, "sum", 1.0, "noise", 0.5), r.weights());
            assertEquals(List.of("sign", "sum"), List.copyOf(r.valid().keySet()), "auxiliary tasks are not validated");
            assertEquals(List.of(TaskMetric.ACCURACY, TaskMetric.F1, TaskMetric.LOSS),
                    List.copyOf(r.valid().get("sign").keySet()));
            assertEquals(List.of(TaskMetric.RMSE, TaskMetric.MSE, TaskMetric.MAE, TaskMetric.R2, TaskMetric.LOSS),
                    List.copyOf(r.valid().get("sum").keySet()));
            assertEquals(Map.of(), r.learned(), "fixed weights and hard sharing learn no mixing values");
        }
        // the last record's validation equals evaluating the trained network
        TaskEvaluations eval = net.evaluate(valid);
        EpochRecord last = h.last();
        assertEquals(eval.classification("sign").accuracy(), last.valid("sign", TaskMetric.ACCURACY));
        assertEquals(eval.regression("sum").averageMeanSquaredError(), last.valid("sum", TaskMetric.MSE));
        // the validation loss is the mean of the per-batch losses, both batches fully labelled and of equal size
        List<MultiDataSet> validData = data(2, 32, 9, false);
        double expected = (net.losses(validData.get(0)).loss(1) + net.losses(validData.get(1)).loss(1)) / 2;
        assertEquals(expected, last.valid("sum", TaskMetric.LOSS), 1e-6);
        assertEquals(64, eval.labelled("sum"), "two fully labelled batches of 32");
        assertEquals(eval.loss("sum") * 64, eval.lossSum("sum"), 1e-9);
        // MSE of a single regression target is its loss (LossMSE averages over the one column)
        assertEquals(last.valid("sum", TaskMetric.MSE), last.valid("sum", TaskMetric.LOSS), 1e-5);
        assertEquals(Math.sqrt(last.valid("sum", TaskMetric.MSE)), last.valid("sum", TaskMetric.RMSE), 1e-6);
    }

    @Test
    void historyCsvRoundTripsExactly() {
        MultiTaskNetwork net = network(0);
        TrainingHistory h = Trainer.builder().epochs(2).validation(iterator(data(1, 16, 9, false))).build()
                .fit(net, iterator(data(2, 16, 1, false))).history();
        String csv = h.toCsv();
        String header = csv.lines().findFirst().orElseThrow();
        assertEquals("epoch,iteration,steps,seconds,penalty,train_loss[sign],train_loss[sum],train_loss[noise],"
                + "weight[sign],weight[sum],weight[noise],valid_accuracy[sign],valid_f1[sign],valid_loss[sign],"
                + "valid_rmse[sum],valid_mse[sum],valid_mae[sum],valid_r2[sum],valid_loss[sum]", header);
        assertTrue(csv.lines().skip(1).findFirst().orElseThrow().startsWith("1,2,2,"));
        TrainingHistory back = TrainingHistory.fromCsv(csv);
        assertEquals(h.records(), back.records());
        assertEquals(csv, back.toCsv());
        assertArrayEquals(new double[]{1, 2}, back.column("epoch"));
    }

    @Test
    void historyCsvQuotesNamesAndKeepsMissingValuesMissing() {
        TrainingHistory h = new TrainingHistory();
        h.add(new EpochRecord(1, 10, 10, 0.5, Map.of("a", 0.25), Map.of("a", 1.0), 0,
                Map.of(), Map.of("alpha.s0[a,b]", 0.75)));
        h.add(new EpochRecord(2, 20, 10, 0.5, Map.of("a", 0.125), Map.of("a", 1.0), 0, Map.of(), Map.of()));
        String csv = h.toCsv();
        assertEquals("epoch,iteration,steps,seconds,penalty,train_loss[a],weight[a],\"alpha.s0[a,b]\"\n"
                + "1,10,10,0.5,0.0,0.25,1.0,0.75\n"
                + "2,20,10,0.5,0.0,0.125,1.0,\n", csv);
        TrainingHistory back = TrainingHistory.fromCsv(csv);
        assertEquals(h.records(), back.records());
        assertTrue(Double.isNaN(back.column("alpha.s0[a,b]")[1]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingHistory.fromCsv("a,b\n1,2\n"));
        assertEquals("not a training history: the header must start with [epoch, iteration, steps, seconds, penalty], "
                + "got [a, b]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> h.add(h.last()));
        assertEquals("epoch 2 does not follow the last recorded epoch 2", e.getMessage());
    }

    private static EpochRecord validated(int epoch, double accuracy, double rmse) {
        Map<String, Map<TaskMetric, Double>> valid = new LinkedHashMap<>();
        valid.put("a", Map.of(TaskMetric.ACCURACY, accuracy, TaskMetric.LOSS, 1 - accuracy));
        valid.put("b", Map.of(TaskMetric.RMSE, rmse));
        return new EpochRecord(epoch, epoch, 1, 0, Map.of(), Map.of(), 0, valid, Map.of());
    }

    @Test
    void earlyStoppingScoresByHand() {
        List<Task> tasks = List.of(Task.classification("a", 2), Task.regression("b"), Task.regression("c").asAuxiliary());
        Map<String, Double> reference = new LinkedHashMap<>();
        EarlyStopping mean = EarlyStopping.meanRelativeImprovement();
        assertEquals(0.0, mean.score(validated(1, 0.5, 2.0), tasks, reference));
        assertEquals(Map.of("a", 0.5, "b", 2.0), reference);
        // accuracy 0.5 -> 0.6 is +20 %, RMSE 2.0 -> 1.5 is +25 %: mean +22.5 %
        assertEquals(0.225, mean.score(validated(2, 0.6, 1.5), tasks, reference), 1e-15);
        // accuracy -10 %, RMSE worse by 50 %: mean -30 %
        assertEquals(-0.3, mean.score(validated(3, 0.45, 3.0), tasks, reference), 1e-15);

        EarlyStopping loss = EarlyStopping.on("a", TaskMetric.LOSS).minDelta(0.01);
        assertEquals(-0.5, loss.score(validated(1, 0.5, 2.0), tasks, new LinkedHashMap<>()));
        assertTrue(loss.improves(-0.4, -0.5));
        assertFalse(loss.improves(-0.495, -0.5), "within minDelta");
        assertTrue(loss.improves(-7, Double.NaN), "the first epoch always improves");
    }

    @Test
    void earlyStoppingKeepsTheBestEpochsNetwork() throws IOException {
        // the validation labels of "sign" are flipped: learning the training labels makes the validation loss rise
        Trainer trainer = Trainer.builder().epochs(30).validation(iterator(data(2, 32, 9, true)))
                .earlyStopping(EarlyStopping.on("sign", TaskMetric.LOSS).patience(3)).build();
        MultiTaskNetwork net = network(0);

        TrainingResult result = trainer.fit(net, iterator(data(4, 16, 1, false)));

        assertTrue(result.stoppedEarly());
        TrainingHistory h = result.history();
        assertEquals(result.bestEpoch() + 3, h.size(), "stops after 3 epochs without improvement");
        double[] losses = new double[h.size()];
        for (int e = 0; e < h.size(); e++) {
            losses[e] = h.records().get(e).valid("sign", TaskMetric.LOSS);
        }
        int argmin = 0;
        for (int e = 1; e < losses.length; e++) {
            argmin = losses[e] < losses[argmin] ? e : argmin;
        }
        assertEquals(argmin + 1, result.bestEpoch());
        assertNotSame(net, result.best());
        assertEquals(result.bestEpoch(), result.best().epochCount());
        // the best network is the one a fresh run of bestEpoch epochs ends with, bit for bit
        MultiTaskNetwork again = network(0);
        again.fit(iterator(data(4, 16, 1, false)), result.bestEpoch());
        Exact.assertSameValues(again.params(), result.best().params());
        assertEquals(losses[argmin], result.best().evaluate(iterator(data(2, 32, 9, true))).loss("sign"));
    }

    @Test
    void checkpointsEveryNEpochsKeepTheLastK() {
        Checkpoints checkpoints = Checkpoints.in(dir.resolve("run")).every(2).keepLast(2);
        Trainer trainer = Trainer.builder().epochs(5).checkpoints(checkpoints).build();

        trainer.fit(network(0), iterator(data(2, 16, 1, false)));

        assertEquals(List.of(checkpoints.file(4), checkpoints.file(5)), checkpoints.list(),
                "epochs 2 and 4 are due, 5 is the last; 2 was pruned");
        assertEquals("checkpoint-000004.mtl", checkpoints.file(4).getFileName().toString());
    }

    @Test
    void resumeAfterACrashEqualsUninterruptedTraining() throws IOException {
        // dropout (random masks), Adam with an iteration schedule, validation and early stopping state
        Trainer.Builder config = Trainer.builder().epochs(6).validation(iterator(data(1, 32, 9, false)))
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10));
        List<MultiDataSet> train = data(3, 16, 1, false);

        TrainingResult uninterrupted = config.checkpoints(Checkpoints.in(dir.resolve("a"))).build()
                .fit(network(0.8), iterator(train));

        Checkpoints checkpoints = Checkpoints.in(dir.resolve("b")).every(2);
        Trainer crashing = Trainer.builder().epochs(6).validation(iterator(data(1, 32, 9, false)))
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10)).checkpoints(checkpoints)
                .listeners(new TrainingListener() {
                    @Override
                    public void onStep(MultiTaskNetwork network, StepResult step) {
                        if (step.iteration() == 13) {
                            throw new IllegalStateException("simulated crash");
                        }
                    }
                }).build();
        assertThrows(IllegalStateException.class, () -> crashing.fit(network(0.8), iterator(train)));
        assertEquals(List.of(checkpoints.file(2), checkpoints.file(4)), checkpoints.list(),
                "the crash came in epoch 5, after the checkpoint of epoch 4");

        Trainer restarted = Trainer.builder().epochs(6).validation(iterator(data(1, 32, 9, false)))
                .earlyStopping(EarlyStopping.meanRelativeImprovement().patience(10)).checkpoints(checkpoints).build();
        TrainingResult resumed = restarted.fitOrResume(network(0.8), iterator(train));

        assertEquals(6, resumed.network().epochCount());
        assertEquals(18, resumed.network().iterationCount());
        Exact.assertSameValues(uninterrupted.network().params(), resumed.network().params());
        Exact.assertSameValues(uninterrupted.network().graph().getUpdater().getStateViewArray(),
                resumed.network().graph().getUpdater().getStateViewArray());
        assertEquals(withoutTimes(uninterrupted.history()), withoutTimes(resumed.history()));
        assertEquals(uninterrupted.bestEpoch(), resumed.bestEpoch());
        Exact.assertSameValues(uninterrupted.best().params(), resumed.best().params());
    }

    private static List<EpochRecord> withoutTimes(TrainingHistory h) {
        return h.records().stream().map(r -> new EpochRecord(r.epoch(), r.iteration(), r.steps(), 0, r.trainLoss(),
                r.weights(), r.penalty(), r.valid(), r.learned())).toList();
    }

    @Test
    void epochScheduleSetsEachEpochsLearningRate() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 8))
                .task(Task.regression("sum"))
                .updater(new Sgd(new MapSchedule(ScheduleType.EPOCH, Map.of(0, 0.1, 1, 0.01))))
                .seed(3)
                .build();
        RandomData r = new RandomData(2, DataType.DOUBLE);
        INDArray x = r.gaussian(8, 3);
        MultiDataSet batch = RandomData.dataSet(x, new INDArray[]{x.sum(true, 1)}, null);
        List<Double> ratios = new ArrayList<>();
        Trainer.builder().epochs(2).listeners(new TrainingListener() {
            INDArray before;
            INDArray gradient;

            @Override
            public void onEpochStart(MultiTaskNetwork network, int epochsCompleted) {
                before = network.params().dup();
                gradient = network.gradient(batch).gradient().dup();
            }

            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                INDArray change = before.sub(network.params());
                ratios.add(change.norm2Number().doubleValue() / gradient.norm2Number().doubleValue());
                assertEquals(0, change.sub(gradient.mul(ratios.get(ratios.size() - 1))).norm2Number().doubleValue(),
                        1e-4 * change.norm2Number().doubleValue(), "the step is along the gradient (float precision)");
            }
        }).build().fit(net, iterator(List.of(batch)));

        assertEquals(0.1, ratios.get(0), 1e-5);
        assertEquals(0.01, ratios.get(1), 1e-6);
    }

    @Test
    void misuseFailsWithClearMessages() throws IOException {
        IllegalStateException noEpochs = assertThrows(IllegalStateException.class, () -> Trainer.builder().build());
        assertEquals("set the number of epochs: Trainer.builder().epochs(n)", noEpochs.getMessage());
        IllegalStateException noValidation = assertThrows(IllegalStateException.class, () -> Trainer.builder().epochs(2)
                .earlyStopping(EarlyStopping.on("sign", TaskMetric.ACCURACY)).build());
        assertEquals("early stopping (accuracy of task \"sign\", patience 5) needs validation data: "
                + "Trainer.builder().validation(iterator)", noValidation.getMessage());

        MultiDataSetIterator valid = iterator(data(1, 8, 9, false));
        IllegalArgumentException wrongMetric = assertThrows(IllegalArgumentException.class, () -> Trainer.builder()
                .epochs(1).validation(valid).earlyStopping(EarlyStopping.on("sum", TaskMetric.ACCURACY)).build()
                .fit(network(0), valid));
        assertEquals("early stopping on accuracy of task \"sum\", a REGRESSION task, whose metrics are "
                + "[RMSE, MSE, MAE, R2, LOSS]", wrongMetric.getMessage());
        IllegalArgumentException auxiliary = assertThrows(IllegalArgumentException.class, () -> Trainer.builder()
                .epochs(1).validation(valid).earlyStopping(EarlyStopping.on("noise", TaskMetric.LOSS)).build()
                .fit(network(0), valid));
        assertEquals("early stopping on task \"noise\", which is auxiliary and is not validated; watch a main task",
                auxiliary.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EarlyStopping.meanRelativeImprovement().patience(0));

        IllegalStateException noCheckpoints = assertThrows(IllegalStateException.class,
                () -> Trainer.builder().epochs(1).build().resume(valid));
        assertEquals("resume needs checkpoints: configure Trainer.builder().checkpoints(...)", noCheckpoints.getMessage());
        Checkpoints checkpoints = Checkpoints.in(dir);
        IOException none = assertThrows(IOException.class,
                () -> Trainer.builder().epochs(1).checkpoints(checkpoints).build().resume(valid));
        assertEquals("no checkpoint to resume in " + dir, none.getMessage());

        Trainer trainer = Trainer.builder().epochs(1).checkpoints(checkpoints).build();
        trainer.fit(network(0), valid);
        IllegalStateException occupied = assertThrows(IllegalStateException.class, () -> trainer.fit(network(0), valid));
        assertEquals("the checkpoint folder " + dir + " already holds 1 checkpoint(s), the newest checkpoint-000001.mtl: "
                + "resume them with Trainer.resume or fitOrResume, or choose an empty folder", occupied.getMessage());
        assertTrue(Files.isRegularFile(checkpoints.file(1)));
    }
}
