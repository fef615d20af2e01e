package org.mtl4j.ui;

import me.tongfei.progressbar.ProgressBarConsumer;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.core.Trainer;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The progress bar and its log-line form. */
class ProgressListenerTest {

    private static MultiTaskNetwork network() {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 8))
                .task(Task.regression("sum"))
                .task(Task.regression("first"))
                .updater(new Adam(0.01))
                .seed(1)
                .build();
    }

    private static MultiDataSetIterator data(int batches) {
        RandomData r = new RandomData(4, DataType.FLOAT);
        List<org.nd4j.linalg.dataset.MultiDataSet> list = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            INDArray x = r.gaussian(8, 3);
            MultiDataSet m = RandomData.dataSet(x, new INDArray[]{x.sum(true, 1), x.getColumn(0, true).dup()}, null);
            list.add((org.nd4j.linalg.dataset.MultiDataSet) m);
        }
        return new TestMultiDataSetIterator(1, list.toArray(new org.nd4j.linalg.dataset.MultiDataSet[0]));
    }

    @Test
    void logModeWritesQuarterEpochAndEpochLines() {
        List<String> lines = new ArrayList<>();
        ProgressListener progress = new ProgressListener(ProgressListener.Mode.LOG, () -> {
            throw new AssertionError("no bar in log mode");
        }, lines::add);

        MultiTaskNetwork net = network();
        net.fit(data(8), 1);
        Trainer.builder().epochs(2).listeners(progress).build().fit(net, data(8));

        // epochs are counted as the network counts them: this run trains its second and third
        assertEquals(5, lines.size(), String.join("\n", lines));
        assertTrue(Pattern.matches("epoch 2/3 done: 8 steps in \\d+\\.\\d s, train loss sum=\\S+ first=\\S+ \\| run ETA \\d+s",
                lines.get(0)), lines.get(0));
        for (int i = 1; i <= 3; i++) {
            String expected = "epoch 3/3 step " + (2 * i) + "/8: sum=\\S+ first=\\S+ \\| run ETA \\d+s";
            assertTrue(Pattern.matches(expected, lines.get(i)), lines.get(i));
        }
        assertTrue(Pattern.matches("epoch 3/3 done: 8 steps in \\d+\\.\\d s, train loss sum=\\S+ first=\\S+", lines.get(4)),
                lines.get(4));
    }

    @Test
    void barModeRendersEpochStepsLossesAndEta() {
        List<String> rendered = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        ProgressListener progress = new ProgressListener(ProgressListener.Mode.BAR, () -> new ProgressBarConsumer() {
            @Override
            public int getMaxRenderedLength() {
                return 200;
            }

            @Override
            public void accept(String s) {
                rendered.add(s);
            }

            @Override
            public void close() {
            }
        }, lines::add);

        Trainer.builder().epochs(3).validation(data(2)).listeners(progress).build().fit(network(), data(8));

        // closing an epoch's bar renders its final state: all steps, the losses, the validation RMSE, and the
        // run's ETA once known
        assertTrue(rendered.stream().anyMatch(s -> s.startsWith("epoch 1/3") && s.contains("8/8")
                && s.contains("sum=") && s.contains("first=") && s.contains("valid rmse[sum]=")), rendered.toString());
        assertTrue(rendered.stream().anyMatch(s -> s.startsWith("epoch 2/3") && s.contains("8/8")
                && s.contains("run ETA")), rendered.toString());
        assertTrue(rendered.stream().anyMatch(s -> s.startsWith("epoch 3/3") && s.contains("8/8")), rendered.toString());
        assertEquals(List.of(), lines, "the bar says it all");
    }

    @Test
    void offShowsNothingAndThePropertyChoosesTheMode() {
        List<String> lines = new ArrayList<>();
        ProgressListener off = new ProgressListener(ProgressListener.Mode.OFF, () -> {
            throw new AssertionError("no bar when off");
        }, lines::add);
        Trainer.builder().epochs(1).listeners(off).build().fit(network(), data(4));
        assertEquals(List.of(), lines);

        String before = System.getProperty(ProgressListener.PROPERTY);
        try {
            System.setProperty(ProgressListener.PROPERTY, "off");
            assertEquals(ProgressListener.Mode.OFF, ProgressListener.auto().mode());
            System.setProperty(ProgressListener.PROPERTY, "LOG");
            assertEquals(ProgressListener.Mode.LOG, ProgressListener.auto().mode());
            System.setProperty(ProgressListener.PROPERTY, "fancy");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ProgressListener::auto);
            assertEquals("system property mtl4j.progress=fancy: use bar, log or off", e.getMessage());
            System.clearProperty(ProgressListener.PROPERTY);
            assertEquals(System.console() != null ? ProgressListener.Mode.BAR : ProgressListener.Mode.LOG,
                    ProgressListener.auto().mode());
        } finally {
            if (before == null) {
                System.clearProperty(ProgressListener.PROPERTY);
            } else {
                System.setProperty(ProgressListener.PROPERTY, before);
            }
        }
    }

    @Test
    void durationsReadLikeAClock() {
        assertEquals("42s", ProgressListener.duration(41.6));
        assertEquals("2m05s", ProgressListener.duration(125));
        assertEquals("1h01m", ProgressListener.duration(3671));
    }
}
