/**
 * The console and picture side of training: {@link org.mtl4j.ui.ProgressListener}, a progress bar (or plain
 * log lines) for {@code fit}, and {@link org.mtl4j.ui.HistoryCharts}, PNG charts and CSV of a
 * {@link org.mtl4j.core.TrainingHistory}. A separate module so that mtl-core pulls neither a terminal nor a
 * plotting library.
 */
package org.mtl4j.ui;
