package dev.conductor.report;

/** How much of the steps' output the text view shows. */
public enum Verbosity {
    /** Failures and the summary only. */
    QUIET,
    /** Every step; output tails of failures, and short output of passing steps. */
    NORMAL,
    /** Every step with all the output it returned. */
    VERBOSE
}
