package dev.conductor.clock;

import java.time.Instant;
import java.util.concurrent.locks.LockSupport;

/**
 * Wall-clock time in microseconds that is monotonic and fine-grained: anchored once to the
 * system clock, then advanced by {@link System#nanoTime()}. Offsets measured between two such
 * clocks stay valid for a run, whatever NTP does to the system clocks meanwhile.
 */
public final class PreciseClock {
    private final long anchorMicros;
    private final long anchorNanos;

    /**
     * How close together the two readings of the anchor must be. A thread taken off its CPU
     * between reading the system clock and {@link System#nanoTime()} would otherwise anchor the
     * clock that much off (a player started with 31 others on two CPUs was 8 ms off), and every
     * time it gives, for the whole life of the process, with it.
     */
    static final long ANCHOR_BRACKET_NANOS = 20_000;
    private static final int ANCHOR_TRIES = 1_000;

    public PreciseClock() {
        // The system clock read between two monotonic readings; the tightest pair of a few tries wins.
        long bestGap = Long.MAX_VALUE;
        long nanos = 0;
        Instant at = null;
        for (int i = 0; i < ANCHOR_TRIES && bestGap > ANCHOR_BRACKET_NANOS; i++) {
            long before = System.nanoTime();
            Instant now = Instant.now();
            long after = System.nanoTime();
            if (after - before < bestGap) {
                bestGap = after - before;
                nanos = before + (after - before) / 2;
                at = now;
            }
            if (bestGap > ANCHOR_BRACKET_NANOS) {
                Thread.yield();
            }
        }
        this.anchorNanos = nanos;
        this.anchorMicros = at.getEpochSecond() * 1_000_000L + at.getNano() / 1_000;
    }

    /** Microseconds since the epoch. */
    public long micros() {
        return anchorMicros + (System.nanoTime() - anchorNanos) / 1_000;
    }

    /** The same instant on {@link System#nanoTime()}'s clock (CLOCK_MONOTONIC on Linux), for a process that waits for it. */
    public long toNanoTime(long epochMicros) {
        return anchorNanos + (epochMicros - anchorMicros) * 1_000;
    }

    /** The epoch microseconds of {@code nanoTime}, a reading of {@link System#nanoTime()}'s clock. */
    public long microsOfNanoTime(long nanoTime) {
        return anchorMicros + (nanoTime - anchorNanos) / 1_000;
    }

    public Instant now() {
        return toInstant(micros());
    }

    public static Instant toInstant(long epochMicros) {
        return Instant.ofEpochSecond(Math.floorDiv(epochMicros, 1_000_000L), Math.floorMod(epochMicros, 1_000_000L) * 1_000);
    }

    public static long toMicros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    /**
     * Returns at {@code epochMicros} on this clock, as precisely as the machine allows: parks
     * until {@code spinMicros} before, then spins the last stretch, because a parked thread
     * wakes up tens of microseconds late. The spin yields the CPU at every turn: when many
     * processes share few CPUs and all wait for the same instant, a spinner that kept its CPU
     * would make the others late by far more than the spin gains.
     *
     * @return how late it returned, in microseconds (negative never)
     */
    public long awaitMicros(long epochMicros, long spinMicros) {
        while (true) {
            long left = epochMicros - micros();
            if (left <= 0) {
                return -left;
            }
            if (left > spinMicros) {
                LockSupport.parkNanos((left - spinMicros) * 1_000);
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    return Math.max(0, micros() - epochMicros);
                }
            } else {
                Thread.yield();
            }
        }
    }
}
