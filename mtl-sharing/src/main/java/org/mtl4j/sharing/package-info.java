/**
 * Sharing strategies beyond hard sharing (soft L2-distance sharing, cross-stitch, sluice, task
 * hierarchies), each one class implementing {@link org.mtl4j.core.SharingStrategy}. Hard sharing, the
 * default, lives in mtl-core.
 */
package org.mtl4j.sharing;
