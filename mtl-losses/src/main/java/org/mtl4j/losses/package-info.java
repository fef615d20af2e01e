/**
 * Loss combinators beyond fixed weights (uncertainty weighting, dynamic weight
 * average, random loss weighting, the geometric loss strategy, GradNorm, MGDA, PCGrad, CAGrad, ...),
 * each one class implementing {@link org.mtl4j.core.LossCombinator}. Fixed weights, the default, live in
 * mtl-core.
 */
package org.mtl4j.losses;
