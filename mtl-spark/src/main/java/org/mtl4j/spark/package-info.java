/**
 * Data-parallel training and evaluation of a {@link org.mtl4j.core.MultiTaskNetwork} on Apache Spark by
 * synchronous parameter averaging: {@link org.mtl4j.spark.SparkTrainer}.
 */
package org.mtl4j.spark;
