package org.mtl4j.losses;

import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.testing.ContractCase;
import org.mtl4j.core.testing.LossCombinatorContract;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.List;
import java.util.stream.Stream;

import static org.mtl4j.core.SharedGradients.REPRESENTATION;
import static org.mtl4j.core.SharedGradients.SHARED_PARAMETERS;

/** mtl-losses' combinators in the contract kit: one line each, every option away from its default once. */
class CombinatorContractsTest implements LossCombinatorContract {

    @Override
    public Stream<ContractCase<LossCombinator>> combinators() {
        return Stream.of(
                ContractCase.of("uncertainty", () -> List.of(new UncertaintyWeighting(), UncertaintyWeighting.builder()
                        .initialLogVariance(0.5).form(UncertaintyWeighting.Form.REGRESSION_FOR_ALL).updater(new Sgd(0.1))
                        .build())),
                ContractCase.of("DWA", () -> List.of(new DynamicWeightAverage(),
                        new DynamicWeightAverage(3, DynamicWeightAverage.Averaging.PER_EXAMPLE))),
                ContractCase.of("RLW", () -> List.of(new RandomLossWeighting(), new RandomLossWeighting(9))),
                ContractCase.of("GLS", () -> List.of(new GeometricLossStrategy())),
                ContractCase.of("GradNorm", () -> List.of(new GradNorm(), GradNorm.builder().alpha(0.5)
                        .gradients(SHARED_PARAMETERS).initialLoss(GradNorm.InitialLoss.FIRST_EPOCH).updater(new Sgd(0.05))
                        .build())),
                ContractCase.of("MGDA", () -> List.of(new Mgda(), Mgda.builder().gradients(REPRESENTATION)
                        .normalization(Mgda.Normalization.LOSS).rawGradients(true).weightHeads(true).maxIterations(7)
                        .build())),
                ContractCase.of("PCGrad", () -> List.of(new PcGrad(), PcGrad.builder().gradients(REPRESENTATION)
                        .mean(true).seed(42).build())),
                ContractCase.of("CAGrad", () -> List.of(new CaGrad(), CaGrad.builder().c(0.2).gradients(REPRESENTATION)
                        .rescale(CaGrad.Rescale.ONE_PLUS_C).sumScale(true).build())),
                ContractCase.of("IMTL", () -> List.of(new Imtl(), Imtl.builder().mode(Imtl.Mode.GRADIENT)
                        .gradients(REPRESENTATION).build(), Imtl.builder().mode(Imtl.Mode.LOSS).updater(new Sgd(0.1))
                        .build())));
    }
}
