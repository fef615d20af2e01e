package org.mtl4j.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.io.NetworkState;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What runs on the executors: one averaging round of one worker, and the evaluation of one partition. */
final class WorkerTasks {

    private WorkerTasks() {
    }

    /** The model, run and state a worker task starts from. */
    record Start(Broadcast<byte[]> model, String runId, Broadcast<NetworkState> state) implements Serializable {

        MultiTaskNetwork borrow() {
            MultiTaskNetwork network = WorkerNetworks.borrow(runId, model.value());
            state.value().applyTo(network, true);
            return network;
        }

        void giveBack(MultiTaskNetwork network) {
            WorkerNetworks.giveBack(runId, network);
        }
    }

    /**
     * One worker's part of round {@code round}: the partition's minibatches {@code round * frequency} to
     * {@code (round + 1) * frequency - 1}, in the partition's order or in an order drawn from the seed and the
     * epoch, each trained with the ordinary mtl4j step from the broadcast state.
     */
    record Round(Start start, int round, int frequency, boolean shuffle, long seed)
            implements FlatMapFunction<Iterator<Tuple2<Long, MultiDataSet>>, RoundResult> {

        @Override
        public Iterator<RoundResult> call(Iterator<Tuple2<Long, MultiDataSet>> partition) {
            List<Tuple2<Long, MultiDataSet>> all = new ArrayList<>();
            partition.forEachRemaining(all::add);
            if (shuffle) {
                long epochSeed = mix(seed ^ mix(start.state().value().epoch()));
                all.sort(Comparator.comparingLong(e -> mix(epochSeed ^ e._1())));
            }
            int from = round * frequency;
            if (from >= all.size()) {
                return List.<RoundResult>of().iterator();
            }
            List<Tuple2<Long, MultiDataSet>> slice = all.subList(from, Math.min(all.size(), from + frequency));
            MultiTaskNetwork network = start.borrow();
            StepResult[] steps = new StepResult[slice.size()];
            for (int i = 0; i < steps.length; i++) {
                steps[i] = network.fit(slice.get(i)._2());
            }
            RoundResult result = RoundResult.of(TaskContext.getPartitionId(), NetworkState.of(network), steps);
            start.giveBack(network);
            return List.of(result).iterator();
        }
    }

    /**
     * A partition's examples regrouped into minibatches of {@code batchSize}, in the partition's order, keyed by
     * the partition index (high 32 bits) and the minibatch's position.
     */
    record Rebatch(int batchSize)
            implements PairFlatMapFunction<Iterator<Tuple2<Long, MultiDataSet>>, Long, MultiDataSet> {

        @Override
        public Iterator<Tuple2<Long, MultiDataSet>> call(Iterator<Tuple2<Long, MultiDataSet>> partition) {
            List<MultiDataSet> all = new ArrayList<>();
            partition.forEachRemaining(t -> all.add(t._2()));
            if (all.isEmpty()) {
                return List.<Tuple2<Long, MultiDataSet>>of().iterator();
            }
            MultiDataSet merged = org.nd4j.linalg.dataset.MultiDataSet.merge(all);
            long examples = merged.getFeatures(0).size(0);
            long base = (long) TaskContext.getPartitionId() << 32;
            List<Tuple2<Long, MultiDataSet>> out = new ArrayList<>();
            for (long from = 0, i = 0; from < examples; from += batchSize, i++) {
                long to = Math.min(examples, from + batchSize);
                out.add(new Tuple2<>(base + i, new org.nd4j.linalg.dataset.MultiDataSet(rows(merged.getFeatures(), from, to),
                        rows(merged.getLabels(), from, to), rows(merged.getFeaturesMaskArrays(), from, to),
                        rows(merged.getLabelsMaskArrays(), from, to))));
            }
            return out.iterator();
        }

        /** Rows {@code from} (inclusive) to {@code to} (exclusive) of each array, copied; null stays null. */
        static INDArray[] rows(INDArray[] arrays, long from, long to) {
            if (arrays == null) {
                return null;
            }
            INDArray[] out = new INDArray[arrays.length];
            for (int i = 0; i < arrays.length; i++) {
                if (arrays[i] != null) {
                    INDArrayIndex[] index = new INDArrayIndex[arrays[i].rank()];
                    index[0] = NDArrayIndex.interval(from, to);
                    for (int d = 1; d < index.length; d++) {
                        index[d] = NDArrayIndex.all();
                    }
                    out[i] = arrays[i].get(index).dup();
                }
            }
            return out;
        }
    }

    /** The evaluation of one partition; none for an empty partition. */
    record Evaluate(Start start, boolean includeAuxiliary)
            implements FlatMapFunction<Iterator<MultiDataSet>, PartialEvaluation> {

        @Override
        public Iterator<PartialEvaluation> call(Iterator<MultiDataSet> partition) {
            List<MultiDataSet> batches = new ArrayList<>();
            partition.forEachRemaining(batches::add);
            if (batches.isEmpty()) {
                return List.<PartialEvaluation>of().iterator();
            }
            MultiTaskNetwork network = start.borrow();
            TaskEvaluations evaluations = network.evaluate(new Batches(batches), includeAuxiliary);
            start.giveBack(network);
            List<String> names = evaluations.taskNames();
            double[] lossSums = new double[names.size()];
            long[] labelled = new long[names.size()];
            for (int t = 0; t < names.size(); t++) {
                lossSums[t] = evaluations.lossSum(names.get(t));
                labelled[t] = evaluations.labelled(names.get(t));
            }
            return List.of(new PartialEvaluation(new LinkedHashMap<>(evaluations.asMap()), names, lossSums, labelled))
                    .iterator();
        }
    }

    /** The evaluations of some partitions, merged, with each evaluated task's loss sum and labelled count. */
    record PartialEvaluation(LinkedHashMap<String, IEvaluation<?>> evaluations, List<String> taskNames,
                             double[] lossSums, long[] labelled) implements Serializable {

        @SuppressWarnings({"unchecked", "rawtypes"})
        PartialEvaluation merge(PartialEvaluation other) {
            if (other.evaluations == null) {
                return this;
            }
            if (evaluations == null) {
                return other;
            }
            for (Map.Entry<String, IEvaluation<?>> e : evaluations.entrySet()) {
                ((IEvaluation) e.getValue()).merge((IEvaluation) other.evaluations.get(e.getKey()));
            }
            for (int t = 0; t < lossSums.length; t++) {
                lossSums[t] += other.lossSums[t];
                labelled[t] += other.labelled[t];
            }
            return this;
        }

        /** The merged evaluations, each task's loss the mean over all its labelled examples. */
        TaskEvaluations result() {
            Map<String, Double> sums = new LinkedHashMap<>();
            Map<String, Long> counts = new LinkedHashMap<>();
            for (int t = 0; t < taskNames.size(); t++) {
                sums.put(taskNames.get(t), lossSums[t]);
                counts.put(taskNames.get(t), labelled[t]);
            }
            return new TaskEvaluations(evaluations, sums, counts);
        }
    }

    /** The number of elements of a partition. */
    static Iterator<Long> count(Iterator<?> partition) {
        long n = 0;
        while (partition.hasNext()) {
            partition.next();
            n++;
        }
        return List.of(n).iterator();
    }

    /** SplitMix64's finaliser: a well-mixed 64-bit hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
