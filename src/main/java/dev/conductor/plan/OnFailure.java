package dev.conductor.plan;

/** What a worker does with the rest of a phase after one of its steps failed. */
public enum OnFailure {
    /** Skip the rest of that worker's phase (reported as skipped). The default. */
    STOP,
    /** Run every step whatever happened, as the reference does. */
    CONTINUE
}
