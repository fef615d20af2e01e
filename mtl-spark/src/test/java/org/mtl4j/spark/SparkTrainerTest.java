package org.mtl4j.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.TrainingListener;
import org.mtl4j.core.testing.CountingWeights;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparkTrainerTest {

    private final JavaSparkContext sc = LocalSpark.context();

    @Test
    void onePartitionAveragingEveryStepEqualsLocalTraining() {
        List<MultiDataSet> data = LocalSpark.batches(1, 5, 8);
        MultiTaskNetwork local = LocalSpark.network(new HardSharing(), new CountingWeights(0.5), new Adam(0.01));
        List<StepResult> localSteps = new ArrayList<>();
        for (MultiDataSet batch : data) {
            localSteps.add(local.fit(batch));
        }
        MultiTaskNetwork spark = LocalSpark.network(new HardSharing(), new CountingWeights(0.5), new Adam(0.01));
        List<StepResult> rounds = new ArrayList<>();
        SparkTrainingResult result = SparkTrainer.builder().workers(1).averagingFrequency(1).shuffle(false)
                .listeners(recording(rounds)).build()
                .fit(spark, sc.parallelize(data, 2));

        Exact.assertSameValues(local.params(), spark.params(), "parameters");
        Exact.assertSameValues(local.graph().getUpdater(true).getStateViewArray(),
                spark.graph().getUpdater(true).getStateViewArray(), "updater state");
        assertEquals(local.losses().state()[0], spark.losses().state()[0], "combinator state");
        assertEquals(5, spark.iterationCount());
        assertEquals(1, spark.epochCount());
        assertEquals(5, rounds.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(localSteps.get(i).losses().loss(0), rounds.get(i).losses().loss(0), 0.0, "round " + i);
            assertEquals(localSteps.get(i).weights().weight(1), rounds.get(i).weights().weight(1), 0.0, "round " + i);
        }
        EpochRecord record = result.history().last();
        assertEquals(5, record.steps());
        double meanLoss = localSteps.stream().mapToDouble(s -> s.losses().loss(1)).average().orElseThrow();
        assertEquals(meanLoss, record.trainLoss().get("r"), 1e-12);
        assertTrue(result.evaluation().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"hard", "cross-stitch"})
    void oneRoundOfPlainSgdEqualsOneStepOnTheConcatenatedBatches(String kind) {
        List<MultiDataSet> data = LocalSpark.batches(2, 3, 8);
        MultiTaskNetwork local = LocalSpark.network(sharing(kind), FixedWeights.equal(), new Sgd(0.1));
        StepResult localStep = local.fit(org.nd4j.linalg.dataset.MultiDataSet.merge(data));

        MultiTaskNetwork spark = LocalSpark.network(sharing(kind), FixedWeights.equal(), new Sgd(0.1));
        List<StepResult> rounds = new ArrayList<>();
        SparkTrainer.builder().workers(3).averagingFrequency(1).listeners(recording(rounds)).build()
                .fit(spark, sc.parallelize(data, 2));

        assertClose(local.params(), spark.params(), 1e-6);
        assertEquals(1, rounds.size());
        assertEquals(1, spark.iterationCount(), "one round advances the iteration count by the averaging frequency");
        StepResult round = rounds.get(0);
        assertEquals(24, round.minibatch());
        for (int t = 0; t < 2; t++) {
            assertEquals(localStep.losses().loss(t), round.losses().loss(t), 1e-6, "task " + t);
            assertEquals(localStep.losses().labelled()[t], round.losses().labelled()[t], "task " + t);
        }
    }

    @Test
    void failedTaskAttemptsAreRerunAndGiveTheFailureFreeResult() {
        List<MultiDataSet> data = LocalSpark.batches(3, 8, 6);
        SparkTrainer trainer = SparkTrainer.builder().epochs(2).workers(2).averagingFrequency(2).seed(11).build();

        MultiTaskNetwork clean = LocalSpark.network(new HardSharing(), new CountingWeights(0.9), new Adam(0.01));
        trainer.fit(clean, sc.parallelize(data, 2));

        List<MultiDataSet> failing = new ArrayList<>(data);
        failing.set(3, new FailsOnFirstAttempt(data.get(3)));
        JavaRDD<MultiDataSet> rdd = sc.parallelize(failing, 2).map(batch -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 1 && task.attemptNumber() == 0) {
                throw new IllegalStateException("injected failure before the shuffle");
            }
            return batch;
        });
        MultiTaskNetwork rerun = LocalSpark.network(new HardSharing(), new CountingWeights(0.9), new Adam(0.01));
        trainer.fit(rerun, rdd);

        assertTrue(FailsOnFirstAttempt.FAILURES.get() > 0, "the training task failed at least once");
        Exact.assertSameValues(clean.params(), rerun.params(), "parameters");
        Exact.assertSameValues(clean.graph().getUpdater(true).getStateViewArray(),
                rerun.graph().getUpdater(true).getStateViewArray(), "updater state");
    }

    @Test
    void resumedSparkTrainingFromASavedModelEqualsUninterrupted(@TempDir File dir) throws IOException {
        List<MultiDataSet> data = LocalSpark.batches(4, 6, 5);
        SparkTrainer.Builder config = SparkTrainer.builder().workers(2).averagingFrequency(2).seed(3);
        MultiTaskNetwork uninterrupted = LocalSpark.network(new CrossStitch(), new CountingWeights(0.8),
                new Adam(0.01));
        SparkTrainingResult whole = config.epochs(2).build().fit(uninterrupted, sc.parallelize(data, 2));

        MultiTaskNetwork first = LocalSpark.network(new CrossStitch(), new CountingWeights(0.8), new Adam(0.01));
        config.epochs(1).build().fit(first, sc.parallelize(data, 2));
        File file = new File(dir, "spark.zip");
        first.save(file);
        MultiTaskNetwork resumed = MultiTaskNetwork.load(file);
        SparkTrainingResult second = config.epochs(1).build().fit(resumed, sc.parallelize(data, 2));

        Exact.assertSameValues(uninterrupted.params(), resumed.params(), "parameters");
        Exact.assertSameValues(uninterrupted.graph().getUpdater(true).getStateViewArray(),
                resumed.graph().getUpdater(true).getStateViewArray(), "updater state");
        assertEquals(uninterrupted.losses().state()[0], resumed.losses().state()[0], "combinator state");
        assertEquals(uninterrupted.iterationCount(), resumed.iterationCount());
        assertEquals(2, resumed.epochCount());
        assertEquals(whole.history().last().trainLoss(), second.history().last().trainLoss());
        assertEquals(2, second.history().last().epoch());
    }

    @Test
    void malformedMinibatchFailsWithTheTaskNamedMessageAndLeavesTheModelUnchanged() {
        List<MultiDataSet> data = new ArrayList<>(LocalSpark.batches(5, 4, 4));
        MultiDataSet good = data.get(3);
        data.set(3, new org.nd4j.linalg.dataset.MultiDataSet(good.getFeatures(),
                new INDArray[]{good.getLabels(0), Nd4j.zeros(good.getLabels(1).dataType(), 4, 2)}));
        MultiTaskNetwork network = LocalSpark.network(new HardSharing(), new CountingWeights(0.5), new Adam(0.01));
        INDArray before = network.params().dup();
        double[] stateBefore = network.losses().state();

        List<StepResult> rounds = new ArrayList<>();
        SparkTrainer trainer = SparkTrainer.builder().workers(2).averagingFrequency(1).shuffle(false)
                .listeners(recording(rounds)).build();
        Exception e = assertThrows(Exception.class, () -> trainer.fit(network, sc.parallelize(data, 2)));

        assertEquals(1, rounds.size(), "minibatch 3 is worker 1's second: the first round completed before the failure");

        assertTrue(messages(e).contains("task \"r\": labels[1] has 2 columns, but its head outputs 1"), messages(e));
        Exact.assertSameValues(before, network.params(), "parameters after the failed run");
        assertEquals(stateBefore[0], network.losses().state()[0], "combinator state after the failed run");
        assertEquals(0, network.iterationCount());
    }

    @Test
    void keepingTheDriversUpdaterStateStartsEveryRoundFromIt() {
        List<MultiDataSet> data = LocalSpark.batches(10, 4, 4);
        MultiTaskNetwork network = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));
        INDArray params = network.params().dup();
        INDArray updater = network.graph().getUpdater(true).getStateViewArray().dup();
        SparkTrainer.builder().workers(2).averagingFrequency(1).averageUpdaterState(false).build()
                .fit(network, sc.parallelize(data, 2));

        Exact.assertSameValues(updater, network.graph().getUpdater(true).getStateViewArray(), "updater state");
        assertTrue(network.params().sub(params).norm2Number().doubleValue() > 0, "the parameters were trained");
        assertEquals(2, network.iterationCount());
    }

    @Test
    void aShortLastRoundAdvancesTheIterationCountByItsStepsAndAveragesOnlyTheWorkersThatTrained() {
        List<MultiDataSet> data = LocalSpark.batches(13, 5, 4);
        MultiTaskNetwork network = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Sgd(0.1));
        List<StepResult> rounds = new ArrayList<>();
        SparkTrainingResult result = SparkTrainer.builder().workers(2).averagingFrequency(2).shuffle(false)
                .listeners(recording(rounds)).build().fit(network, sc.parallelize(data, 2));

        // worker 0 holds minibatches 0, 2, 4 and worker 1 holds 1, 3: round 1 is minibatch 4 on worker 0 alone
        MultiTaskNetwork alone = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Sgd(0.1));
        alone.params().assign(roundZero(data));
        alone.graph().getConfiguration().setIterationCount(2);
        alone.fit(data.get(4));
        assertClose(alone.params(), network.params(), 1e-6);
        assertEquals(3, network.iterationCount(), "2 steps in round 0, 1 in round 1");
        assertEquals(List.of(0L, 2L), rounds.stream().map(StepResult::iteration).toList());
        assertEquals(4, rounds.get(1).minibatch());
        assertEquals(5, result.history().last().steps());
    }

    /** The parameters after round 0 above: the mean of two workers' two plain Sgd steps. */
    private static INDArray roundZero(List<MultiDataSet> data) {
        INDArray sum = null;
        for (int w = 0; w < 2; w++) {
            MultiTaskNetwork worker = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Sgd(0.1));
            worker.fit(data.get(w));
            worker.fit(data.get(w + 2));
            INDArray p = worker.params().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
            sum = sum == null ? p : sum.add(p);
        }
        return sum.div(2).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    @Test
    void builderRejectsNonPositiveSettings() {
        assertEquals("averagingFrequency must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder().averagingFrequency(0)).getMessage());
        assertEquals("workers must be >= 1, got -1", assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder().workers(-1)).getMessage());
        assertEquals("epochs must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder().epochs(0)).getMessage());
        assertEquals("batchSize must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder().batchSize(0)).getMessage());
    }

    @Test
    void batchSizeRegroupsEachWorkersExamples() {
        // six minibatches of 4 on one worker, regrouped into minibatches of 8: the same as training on the three
        // merged pairs
        List<MultiDataSet> data = LocalSpark.batches(21, 6, 4);
        List<MultiDataSet> pairs = new ArrayList<>();
        for (int i = 0; i < data.size(); i += 2) {
            pairs.add(org.nd4j.linalg.dataset.MultiDataSet.merge(List.of(data.get(i), data.get(i + 1))));
        }
        MultiTaskNetwork regrouped = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));
        MultiTaskNetwork merged = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));

        SparkTrainer.builder().workers(1).averagingFrequency(1).shuffle(false).batchSize(8).build()
                .fit(regrouped, sc.parallelize(data, 2));
        SparkTrainer.builder().workers(1).averagingFrequency(1).shuffle(false).build()
                .fit(merged, sc.parallelize(pairs, 2));

        assertEquals(3, regrouped.iterationCount(), "24 examples in minibatches of 8");
        Exact.assertSameValues(merged.params(), regrouped.params(), "parameters");
        // two workers, 12 examples each, minibatches of 5: 5, 5 and 2 per worker, so 3 rounds of one step
        MultiTaskNetwork two = LocalSpark.network(new HardSharing(), FixedWeights.equal(), new Adam(0.01));
        SparkTrainer.builder().workers(2).averagingFrequency(1).batchSize(5).build().fit(two, sc.parallelize(data, 2));
        assertEquals(3, two.iterationCount());
    }

    private static SharingStrategy sharing(String kind) {
        return kind.equals("hard") ? new HardSharing() : new CrossStitch();
    }

    private static TrainingListener recording(List<StepResult> steps) {
        return new TrainingListener() {
            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                steps.add(step);
            }
        };
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance) {
        double[] e = expected.toDoubleVector();
        double[] a = actual.toDoubleVector();
        assertEquals(e.length, a.length);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], tolerance, "parameter " + i);
        }
    }

    private static String messages(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append('\n');
        }
        return sb.toString();
    }
}
