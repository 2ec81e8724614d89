package dev.conductor.clock;

import java.util.List;

/**
 * One NTP-style exchange: the conductor sends at {@code t0}, the player receives at {@code t1}
 * and answers at {@code t2}, the conductor receives at {@code t3} (each on its own clock).
 */
public record ClockProbe(long t0, long t1, long t2, long t3) {

    /** Player clock minus conductor clock, assuming the two legs take equally long. */
    public long offsetMicros() {
        return ((t1 - t0) + (t2 - t3)) / 2;
    }

    /** Time on the wire, both ways, without the player's own time in between. */
    public long rttMicros() {
        return (t3 - t0) - (t2 - t1);
    }

    /** The probe with the shortest round trip: its offset has the smallest error bound (rtt / 2). */
    public static ClockProbe best(List<ClockProbe> probes) {
        ClockProbe best = null;
        for (ClockProbe p : probes) {
            if (best == null || p.rttMicros() < best.rttMicros()) {
                best = p;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("no clock probes");
        }
        return best;
    }
}
