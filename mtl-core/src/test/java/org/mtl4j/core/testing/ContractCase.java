package org.mtl4j.core.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One component enrolled in a contract kit: its name, its configurations and the configurations it must refuse.
 *
 * @param name           how the kit's test names show the component
 * @param configurations new instances on every call; together they set every option away from its default at
 *                       least once, so that a JSON field whose name does not match comes back wrong and fails
 * @param refusals       configurations the kit's dense network must refuse, each with a fragment of its message
 * @param <T>            the contract ({@code LossCombinator} or {@code SharingStrategy})
 */
public record ContractCase<T>(String name, Supplier<List<? extends T>> configurations, List<Refusal<T>> refusals) {

    /**
     * A configuration the network must refuse when it is built with it.
     *
     * @param configuration a new instance on every call
     * @param message       a fragment the refusal's message must contain (the task, count or option it names)
     * @param <T>           the contract
     */
    public record Refusal<T>(Supplier<? extends T> configuration, String message) {
    }

    /** A component with the given configurations and no refusals. */
    public static <T> ContractCase<T> of(String name, Supplier<List<? extends T>> configurations) {
        return new ContractCase<>(name, configurations, List.of());
    }

    /** This case, with one more configuration the network must refuse with a message containing {@code message}. */
    public ContractCase<T> refusing(Supplier<? extends T> configuration, String message) {
        List<Refusal<T>> all = new ArrayList<>(refusals);
        all.add(new Refusal<>(configuration, message));
        return new ContractCase<>(name, configurations, List.copyOf(all));
    }

    /** Configuration {@code k}, a new instance. */
    public T configuration(int k) {
        return configurations.get().get(k);
    }

    /** How many configurations the case has. */
    public int size() {
        return configurations.get().size();
    }

    @Override
    public String toString() {
        return name;
    }
}
