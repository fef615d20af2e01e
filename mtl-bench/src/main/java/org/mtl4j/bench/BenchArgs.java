package org.mtl4j.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * The command line of {@link SideBySide}, parsed.
 *
 * <pre>
 * --cases all | name,name,...   which cases to run (default: all, in the standard order)
 * --quick                       a smoke run: few steps and samples, numbers only roughly indicative
 * --budget-s SECONDS            the target wall time of one case (default 90, 20 with --quick; a case may
 *                               have a smaller default of its own: 30 for the multi-column cases)
 * --seed N                      the seed of parameters and data (default 42)
 * --memory fork | inproc        measure memory in a fresh JVM per side (default), or in the timing JVM
 *                               (faster, but the second side measured can reuse the first one's freed pages)
 * --help                        print the usage and exit
 * </pre>
 *
 * @param cases   the selected case names, in run order, validated against {@link Cases#names()}
 * @param quick   whether to use {@link Settings#quick()} instead of {@link Settings#standard()}
 * @param budgetS the target wall time of one case in seconds, when given (else the settings' default)
 * @param seed    the seed of parameter initialisation and random data
 * @param memory  where memory is measured
 * @param help    whether only the usage was asked for
 */
public record BenchArgs(List<String> cases, boolean quick, OptionalDouble budgetS, long seed, Memory memory,
                        boolean help) {

    /** Where the memory of the two sides is measured. */
    public enum Memory {
        /** In a fresh JVM per side ({@link ForkedMemoryProbe}): isolated, the default. */
        FORK,
        /** In the timing JVM, after the timing ({@link MemoryProbe}): faster, but order-dependent. */
        INPROC
    }

    /** The default seed. */
    public static final long DEFAULT_SEED = 42;

    /** Validates the values; {@code cases} must name known cases. */
    public BenchArgs {
        cases = List.copyOf(cases);
        Objects.requireNonNull(memory, "memory");
        if (cases.isEmpty() && !help) {
            throw new IllegalArgumentException("no case selected; valid cases: " + String.join(", ", Cases.names()));
        }
        for (String c : cases) {
            if (!Cases.names().contains(c)) {
                throw new IllegalArgumentException("unknown case \"" + c + "\"; valid cases: "
                        + String.join(", ", Cases.names()) + " (or all)");
            }
        }
        if (budgetS.isPresent() && (!(budgetS.getAsDouble() > 0) || Double.isInfinite(budgetS.getAsDouble()))) {
            throw new IllegalArgumentException("--budget-s must be a positive number of seconds, got "
                    + budgetS.getAsDouble());
        }
    }

    /** The usage text. */
    public static String usage() {
        return "usage: SideBySide [--cases all|" + String.join(",", Cases.names()) + "] [--quick]"
                + " [--budget-s SECONDS] [--seed N] [--memory fork|inproc] [--help]";
    }

    /**
     * Parses the arguments.
     *
     * @throws IllegalArgumentException on an unknown flag, a missing or bad value, or an unknown case name
     */
    public static BenchArgs parse(String... args) {
        List<String> cases = Cases.names();
        boolean quick = false;
        boolean help = false;
        OptionalDouble budget = OptionalDouble.empty();
        long seed = DEFAULT_SEED;
        Memory memory = Memory.FORK;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--quick" -> quick = true;
                case "--help", "-h" -> help = true;
                case "--cases" -> cases = parseCases(value(args, ++i, a));
                case "--budget-s" -> budget = OptionalDouble.of(parseNumber(value(args, ++i, a), a));
                case "--seed" -> seed = parseLong(value(args, ++i, a), a);
                case "--memory" -> memory = parseMemory(value(args, ++i, a));
                default -> {
                    if (a.startsWith("--cases=")) {
                        cases = parseCases(a.substring("--cases=".length()));
                    } else {
                        throw new IllegalArgumentException("unknown argument \"" + a + "\"; " + usage());
                    }
                }
            }
        }
        return new BenchArgs(cases, quick, budget, seed, memory, help);
    }

    /** The run sizes these arguments select. */
    public Settings settings() {
        Settings base = quick ? Settings.quick() : Settings.standard();
        return budgetS.isPresent() ? base.withBudget(budgetS.getAsDouble()) : base;
    }

    /**
     * The run sizes for one case: {@link #settings()}, with the case's own budget when it has one and
     * {@code --budget-s} was not given (the smaller of it and the settings' default).
     */
    public Settings settingsFor(BenchCase c) {
        Settings base = settings();
        if (budgetS.isPresent() || c.budgetS().isEmpty()) {
            return base;
        }
        return base.withBudget(Math.min(base.budgetS(), c.budgetS().getAsDouble()));
    }

    private static List<String> parseCases(String value) {
        if (value.trim().toLowerCase(Locale.ROOT).equals("all")) {
            return Cases.names();
        }
        Set<String> selected = new LinkedHashSet<>();
        for (String part : value.split(",")) {
            String name = part.trim();
            if (!name.isEmpty()) {
                selected.add(name);
            }
        }
        return new ArrayList<>(selected);
    }

    private static Memory parseMemory(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "fork" -> Memory.FORK;
            case "inproc" -> Memory.INPROC;
            default -> throw new IllegalArgumentException("--memory takes fork or inproc, got \"" + value + "\"");
        };
    }

    private static long parseLong(String value, String flag) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a whole number, got \"" + value + "\"", e);
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new IllegalArgumentException(flag + " needs a value; " + usage());
        }
        return args[i];
    }

    private static double parseNumber(String value, String flag) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a number, got \"" + value + "\"", e);
        }
    }
}
