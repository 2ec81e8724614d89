package dev.conductor.cli;

/**
 * {@code --start-priority} of {@code conduct} and {@code player}: whether the timing-critical
 * moment of a v2 phase (the conductor sending the start orders, a player forking the first step
 * at the instant) runs on a thread of real-time priority (see
 * {@link dev.conductor.clock.RealtimeGate}). The default is {@code $CONDUCTOR_START_PRIORITY},
 * else {@code realtime}.
 */
public enum StartPriority {
    realtime, normal;

    /** What the option's description says, once for both commands. */
    static final String DESCRIPTION = "v2: realtime (default, or $CONDUCTOR_START_PRIORITY) sends the start orders "
            + "(conduct) and forks each phase's first step at its instant (player) from a thread of real-time priority, "
            + "SCHED_FIFO 1 through chrt, so that a busy machine does not start the phase late; it needs root or "
            + "CAP_SYS_NICE, and falls back to normal, saying why, where it is not allowed. normal never asks. "
            + "Values: ${COMPLETION-CANDIDATES}";
    static final String DEFAULT = "${env:CONDUCTOR_START_PRIORITY:-realtime}";

    /** From {@code $CONDUCTOR_START_PRIORITY}, as the commands' default; realtime unless it says normal. */
    public static boolean realtimeFromEnvironment() {
        return !"normal".equals(System.getenv("CONDUCTOR_START_PRIORITY"));
    }
}
