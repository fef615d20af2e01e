/**
 * Native implementations under DL4J's own layers (oneDNN convolution and batch normalisation, libnd4j's max
 * pooling and fused LSTM), installed into every network mtl4j builds or loads; configurations, JSON and saved
 * files stay DL4J's.
 */
package org.mtl4j.core.accel;
