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

    public PreciseClock() {
        Instant now = Instant.now();
        this.anchorNanos = System.nanoTime();
        this.anchorMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    /** Microseconds since the epoch. */
    public long micros() {
        return anchorMicros + (System.nanoTime() - anchorNanos) / 1_000;
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
