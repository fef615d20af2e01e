package org.mtl4j.bench;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskKind;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ColumnsCasesTest {

    private static final List<String> COLUMNS = List.of("cross-stitch-2", "cross-stitch-4", "cross-stitch-8",
            "soft-2", "soft-4", "soft-8", "sluice-4");

    @ParameterizedTest
    @ValueSource(strings = {"cross-stitch-2", "cross-stitch-4", "cross-stitch-8", "soft-2", "soft-4", "soft-8",
            "sluice-4"})
    void eachColumnsCaseHasOneSingleTaskGraphPerTaskWithTheColumnsParameters(String name) {
        BenchCase c = Cases.named(name);
        int tasks = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
        assertEquals(tasks, c.tasks().size());
        assertTrue(c.perTaskBaseline());
        for (int t = 0; t < tasks; t++) {
            assertEquals(t % 2 == 0 ? TaskKind.CLASSIFICATION : TaskKind.REGRESSION, c.tasks().get(t).kind());
        }
        MultiTaskNetwork net = c.buildMtl(1);
        Baseline baseline = c.buildBaseline(2);
        assertEquals(tasks, baseline.graphs().size());
        for (ComputationGraph g : baseline.graphs()) {
            assertEquals(1, g.getNumOutputArrays());
        }
        baseline.copyParameters(name, net);
        c.checkSameParameters(net, baseline);
        boolean mixing = !name.startsWith("soft");
        assertEquals(mixing, net.params().length() > baseline.numParams(),
                net.params().length() + " vs " + baseline.numParams());
    }

    @Test
    void baselineParametersSurviveTheFlatLayoutTheMemoryProbeUses() {
        BenchCase c = Cases.named("cross-stitch-4");
        MultiTaskNetwork net = c.buildMtl(3);
        INDArray flat = c.baselineParams(3, net);
        assertEquals(c.buildBaseline(3).numParams(), flat.length());
        Baseline fresh = c.buildBaseline(4);
        fresh.setParams(flat);
        c.checkSameParameters(net, fresh);
    }

    @Test
    void softSharingBaselinesSeeTheSameDataAndReproduceEachTaskLoss() {
        BenchCase c = Cases.named("soft-4");
        assertFirstStepLossesMatch(c);
    }

    @Test
    void identityCrossStitchBaselinesReproduceEachTaskLoss() {
        BenchCase c = BenchCase.columns("cs-identity", "test", 16, ColumnsCasesTest::smallMlp,
                List.of(Task.classification("a", 3), Task.regression("b"), Task.classification("c", 4)),
                () -> CrossStitch.builder().init(CrossStitch.Init.IDENTITY).build(), 30);
        assertFirstStepLossesMatch(c);
    }

    @Test
    void quickRunOfASharingCasePrintsResultMemoryAndMatchingLosses() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int status = SideBySide.run(BenchArgs.parse("--cases", "soft-2", "--quick", "--budget-s", "4"), out);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        assertTrue(Pattern.compile("(?m)^RESULT soft-2 mtl4j_ms=\\d+\\.\\d{3} baseline_ms=\\d+\\.\\d{3} ratio=\\d+\\.\\d{3}$")
                .matcher(text).find(), text);
        assertTrue(Pattern.compile("(?m)^MEMORY soft-2 mtl4j_mb=\\d+\\.\\d baseline_mb=\\d+\\.\\d$").matcher(text).find(),
                text);
        Matcher check = Pattern.compile("CHECK soft-2 params=(\\d+) baseline_params=(\\d+) first_step_loss"
                + " mtl4j=(\\S+) baseline=(\\S+) mtl4j_penalty=(\\S+)").matcher(text);
        assertTrue(check.find(), text);
        assertEquals(check.group(1), check.group(2), text);
        assertEquals(Double.parseDouble(check.group(4)), Double.parseDouble(check.group(3)), 1e-4, text);
        assertTrue(Double.parseDouble(check.group(5)) > 0, text);
        assertFalse(text.contains("ERROR"), text);
    }

    @Test
    void multiColumnCasesFollowTheHardCasesInRunOrder() {
        List<String> names = Cases.names();
        int first = names.indexOf(COLUMNS.get(0));
        assertEquals("hard-lstm", names.get(first - 1));
        assertEquals(COLUMNS, names.subList(first, first + COLUMNS.size()));
    }

    /** One step of each side from the same parameters: every baseline graph's score is its task's mtl4j loss. */
    private static void assertFirstStepLossesMatch(BenchCase c) {
        MultiTaskNetwork net = c.buildMtl(5);
        Baseline baseline = c.buildBaseline(6);
        baseline.copyParameters(c.name(), net);
        MultiDataSet batch = c.batches(1, 7).get(0);
        StepResult step = net.fit(batch);
        baseline.fit(batch);
        for (int t = 0; t < c.tasks().size(); t++) {
            assertEquals(step.losses().loss(t), baseline.graphs().get(t).score(), 1e-5,
                    c.name() + " task " + c.tasks().get(t).name());
        }
        assertEquals(step.totalLoss() - step.penalty(), baseline.score(), 1e-4, c.name());
    }

    private static SharedTrunk smallMlp() {
        return SharedTrunk.builder(InputType.feedForward(12))
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .build();
    }
}
