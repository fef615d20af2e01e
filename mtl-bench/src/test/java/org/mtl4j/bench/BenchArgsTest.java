package org.mtl4j.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchArgsTest {

    private static final List<String> ALL = List.of("hard-mlp-small", "hard-mlp-large", "hard-cnn", "hard-lstm",
            "cross-stitch-2", "cross-stitch-4", "cross-stitch-8", "soft-2", "soft-4", "soft-8", "sluice-4",
            "uncertainty", "dwa", "gradnorm", "mgda-ub", "imtl", "pcgrad", "cagrad");

    @Test
    void noArgumentsSelectsAllCasesInStandardOrderWithDefaults() {
        BenchArgs args = BenchArgs.parse();
        assertEquals(ALL, args.cases());
        assertFalse(args.quick());
        assertFalse(args.help());
        assertTrue(args.budgetS().isEmpty());
        assertEquals(42, args.seed());
        assertEquals(BenchArgs.Memory.FORK, args.memory());
        assertEquals(Settings.standard(), args.settings());
    }

    @Test
    void casesAllIsEveryCase() {
        assertEquals(ALL, BenchArgs.parse("--cases", "all").cases());
        assertEquals(ALL, BenchArgs.parse("--cases", "ALL").cases());
    }

    @Test
    void casesListKeepsGivenOrderAndDropsRepeatsAndBlanks() {
        assertEquals(List.of("hard-lstm", "hard-mlp-small"),
                BenchArgs.parse("--cases", "hard-lstm, hard-mlp-small,,hard-lstm").cases());
        assertEquals(List.of("hard-cnn"), BenchArgs.parse("--cases=hard-cnn").cases());
    }

    @Test
    void quickSelectsQuickSettingsAndBudgetOverridesEither() {
        BenchArgs quick = BenchArgs.parse("--quick", "--cases", "hard-mlp-small");
        assertTrue(quick.quick());
        assertEquals(Settings.quick(), quick.settings());
        assertEquals(12.5, BenchArgs.parse("--quick", "--budget-s", "12.5").settings().budgetS());
        assertEquals(30.0, BenchArgs.parse("--budget-s", "30").settings().budgetS());
        assertEquals(Settings.standard().blockSteps(), BenchArgs.parse("--budget-s", "30").settings().blockSteps());
    }

    @Test
    void multiColumnCasesHaveTheirOwnBudgetUnlessOneIsGiven() {
        BenchCase soft = Cases.named("soft-2");
        BenchCase hard = Cases.named("hard-mlp-small");
        assertEquals(Cases.COLUMNS_BUDGET_S, BenchArgs.parse().settingsFor(soft).budgetS());
        assertEquals(Settings.standard().budgetS(), BenchArgs.parse().settingsFor(hard).budgetS());
        assertEquals(Settings.quick().budgetS(), BenchArgs.parse("--quick").settingsFor(soft).budgetS());
        assertEquals(60.0, BenchArgs.parse("--budget-s", "60").settingsFor(soft).budgetS());
        assertEquals(Settings.standard().blockSteps(), BenchArgs.parse().settingsFor(soft).blockSteps());
    }

    @Test
    void anUnknownCaseIsRejectedWithTheValidNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchArgs.parse("--cases", "nash-mtl"));
        assertTrue(e.getMessage().startsWith("unknown case \"nash-mtl\"; valid cases: hard-mlp-small,"), e.getMessage());
        assertTrue(e.getMessage().contains("pcgrad"), e.getMessage());
        assertFalse(BenchArgs.usage().contains("nash-mtl"), BenchArgs.usage());
    }

    @Test
    void seedMemoryAndHelpAreRead() {
        BenchArgs args = BenchArgs.parse("--seed", "7", "--memory", "inproc", "--help");
        assertEquals(7, args.seed());
        assertEquals(BenchArgs.Memory.INPROC, args.memory());
        assertTrue(args.help());
        assertEquals(BenchArgs.Memory.FORK, BenchArgs.parse("--memory", "fork").memory());
    }

    @Test
    void unknownCaseFailsListingTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchArgs.parse("--cases", "hard-mlp-small,soft-mlp"));
        assertTrue(e.getMessage().contains("\"soft-mlp\""), e.getMessage());
        for (String name : ALL) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    @Test
    void badArgumentsFailWithTheReason() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--fast"))
                .getMessage().contains("unknown argument \"--fast\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--cases"))
                .getMessage().contains("--cases needs a value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--cases", "--quick"))
                .getMessage().contains("--cases needs a value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--cases", ","))
                .getMessage().contains("no case selected"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--budget-s", "-3"))
                .getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--budget-s", "soon"))
                .getMessage().contains("needs a number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--seed", "1.5"))
                .getMessage().contains("whole number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse("--memory", "none"))
                .getMessage().contains("fork or inproc"));
    }
}
