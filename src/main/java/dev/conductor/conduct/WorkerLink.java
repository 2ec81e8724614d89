package dev.conductor.conduct;

import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.PhaseOrder;

import java.util.List;

/**
 * The conductor's connection to one worker's player, whatever the protocol. A phase goes
 * {@link #send} (the player has the steps), {@link #start} (all players at once), then
 * {@link #collect} (results and events until the player says the phase is done).
 */
sealed interface WorkerLink extends AutoCloseable permits V1WorkerLink, V2Link {

    /** "player of worker 'x' at host:port". */
    String describe();

    /** 1 or 2. */
    int protocol();

    /** Clock offset (player minus conductor) in microseconds; 0 where it was not measured. */
    long offsetMicros();

    /** Round trip of the probe the offset comes from, in microseconds; -1 where it was not measured. */
    long rttMicros();

    /**
     * How far the offset may be from the truth, in microseconds: half that probe's round trip
     * plus the drift the clocks may have had since; -1 where it was not measured.
     */
    long clockErrorMicros();

    /** True when the link can carry no more phases (connection lost); a new one must be opened. */
    boolean broken();

    void send(int phaseId, PhaseOrder order) throws LinkException;

    /**
     * Gets ready to start: whatever may take time (opening a connection, probing the clock)
     * happens here, so that
     * {@link Starter#go} is only a write.
     */
    Starter arm(int phaseId) throws LinkException;

    interface Starter extends AutoCloseable {
        /** Starts the phase; {@code startAtMicros} is on the conductor's clock (v2 honours it). */
        void go(long startAtMicros) throws LinkException;

        @Override
        void close();
    }

    /**
     * Waits for the phase's results until the player says it is done or the deadline passes.
     *
     * @return how it went; {@code lostReason} set when the player went silent or the link broke
     */
    Collected collect(int phaseId, int trial, Phase phase, List<Step> steps, long deadlineNanos, Reporter reporter,
                      BarrierDesk desk) throws InterruptedException;

    /** Asks the player to abort the running phase (v2); v1 has no way to. */
    void abort(String reason);

    @Override
    void close();

    record Collected(boolean failed, String lostReason) {
    }
}
