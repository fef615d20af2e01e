package org.mtl4j.core;

/** Whether a task's results are what the user wants, or the task only helps the others learn. */
public enum TaskRole {
    /** A task whose metrics are reported as results. */
    MAIN,
    /** A task that is trained but, by default, not reported as a result (Ruder 2017, sec. 7). */
    AUXILIARY
}
