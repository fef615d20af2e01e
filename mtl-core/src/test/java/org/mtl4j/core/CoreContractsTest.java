package org.mtl4j.core;

import org.junit.jupiter.api.Nested;
import org.mtl4j.core.testing.ContractCase;
import org.mtl4j.core.testing.LossCombinatorContract;
import org.mtl4j.core.testing.SharingStrategyContract;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** mtl-core's strategy and combinator in the contract kits. */
class CoreContractsTest {

    @Nested
    class Combinators implements LossCombinatorContract {

        @Override
        public Stream<ContractCase<LossCombinator>> combinators() {
            return Stream.of(ContractCase.<LossCombinator>of("fixed weights", () -> List.of(FixedWeights.equal(),
                            FixedWeights.of(0.5, 2, 1), FixedWeights.of(Map.of("r", 3.0, "s", 0.25))))
                    .refusing(() -> FixedWeights.of(Map.of("depth", 2.0)), "\"depth\"")
                    .refusing(() -> FixedWeights.of(1, 2), "2"));
        }
    }

    @Nested
    class Strategies implements SharingStrategyContract {

        @Override
        public Stream<ContractCase<SharingStrategy>> strategies() {
            return Stream.of(ContractCase.of("hard sharing", () -> List.of(new HardSharing())));
        }
    }
}
