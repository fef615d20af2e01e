package org.mtl4j.sharing;

import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.testing.ContractCase;
import org.mtl4j.core.testing.SharingStrategyContract;

import java.util.List;
import java.util.stream.Stream;

/**
 * mtl-sharing's strategies in the contract kit: one line each, every option away from its default once, but
 * cross-stitch's frozen ablation, whose constant units fail a numeric gradient check by design
 * ({@link CrossStitchTest} covers it).
 */
class StrategyContractsTest implements SharingStrategyContract {

    @Override
    public Stream<ContractCase<SharingStrategy>> strategies() {
        return Stream.of(
                ContractCase.of("soft sharing", () -> List.of(new SoftSharing(), SoftSharing.builder().lambda(0.05)
                        .pairwise(true).includeBiases(true).identicalInit(true).build())),
                ContractCase.of("cross-stitch", () -> List.of(new CrossStitch(), CrossStitch.builder().init(0.7, 0.3)
                        .perChannel(true).learningRateMultiplier(2).build(),
                        CrossStitch.builder().init(CrossStitch.Init.IDENTITY).build())),
                ContractCase.of("sluice", () -> List.of(new Sluice(), Sluice.builder().lambda(0.1)
                        .init(CrossStitch.Init.IDENTITY).alphaSelf(0.8).beta(Sluice.Beta.CONCAT).betaLast(0.6)
                        .orthogonality(Sluice.Orthogonality.WEIGHTS).build(),
                        Sluice.builder().subspaces(1).beta(Sluice.Beta.SUM).build(),
                        Sluice.builder().lambda(0.01).init(CrossStitch.Init.UNIFORM)
                                .beta(Sluice.Beta.LAST).build())));
    }
}
