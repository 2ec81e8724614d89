package dev.conductor.wire;

/**
 * What one v2 frame carries: a JSON message, or (once both sides agreed on it at hello) a binary
 * data frame of output or file bytes. See {@code docs/PROTOCOL.md}.
 */
public sealed interface Frame permits V2.Message, DataFrame {
    /** The phase id the frame belongs to, or -1 when it names none. */
    int phaseId();
}
