/**
 * The public API of mtl4j: {@link org.mtl4j.core.Task}, {@link org.mtl4j.core.Head},
 * {@link org.mtl4j.core.SharedTrunk} and {@link org.mtl4j.core.MultiTaskNetwork}, the
 * {@link org.mtl4j.core.SharingStrategy} and {@link org.mtl4j.core.LossCombinator} contracts, and their
 * defaults: {@link org.mtl4j.core.HardSharing} and {@link org.mtl4j.core.FixedWeights}.
 */
package org.mtl4j.core;
