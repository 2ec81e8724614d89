package dev.conductor.clock;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The clock probes of one link over its life, and the offset they support now. A probe taken
 * while either machine is busy has a long round trip and an offset that may be wrong by half
 * of it; keeping probing and keeping the best recent probe gets the estimate from the quiet
 * moments. An old probe is worth less than a fresh one because the two clocks drift apart, so
 * each probe's error bound grows with its age.
 */
public final class ClockWindow {
    /**
     * Assumed worst relative drift of two clocks, in parts per million: quartz oscillators are
     * specified to ±50 ppm, and NTP slews a clock by up to 500 ppm but rarely for long. Both
     * sides read CLOCK_MONOTONIC, so a step of the wall clock does not count.
     */
    static final long DRIFT_PPM = 50;
    /**
     * Probes older than this are forgotten whatever their round trip, but the newest is
     * always kept: a link that has not probed for long (a long phase) still has an estimate,
     * with the error bound its age gives it.
     */
    static final long MAX_AGE_MICROS = 30_000_000L;
    static final int CAPACITY = 64;

    /** An offset and how far from the truth it can be. */
    public record Estimate(long offsetMicros, long rttMicros, long errorMicros, int probes) {
    }

    private record Sample(ClockProbe probe, long atMicros) {
    }

    private final Deque<Sample> samples = new ArrayDeque<>();

    /** @param probe a completed exchange; its {@code t3} (conductor clock) dates it */
    public synchronized void add(ClockProbe probe) {
        samples.addLast(new Sample(probe, probe.t3()));
        while (samples.size() > CAPACITY) {
            samples.removeFirst();
        }
    }

    /**
     * The probe with the smallest error bound at {@code nowMicros} (conductor clock): half its
     * round trip plus the drift since it was taken.
     *
     * @throws IllegalStateException when no probe was ever added
     */
    public synchronized Estimate best(long nowMicros) {
        while (samples.size() > 1 && nowMicros - samples.peekFirst().atMicros() > MAX_AGE_MICROS) {
            samples.removeFirst();
        }
        Sample best = null;
        long bestError = Long.MAX_VALUE;
        for (Sample s : samples) {
            long error = errorOf(s, nowMicros);
            if (error < bestError) {
                best = s;
                bestError = error;
            }
        }
        if (best == null) {
            throw new IllegalStateException("no clock probe yet");
        }
        return new Estimate(best.probe().offsetMicros(), best.probe().rttMicros(), bestError, samples.size());
    }

    private static long errorOf(Sample s, long nowMicros) {
        long age = Math.max(0, nowMicros - s.atMicros());
        return (Math.max(0, s.probe().rttMicros()) + 1) / 2 + age * DRIFT_PPM / 1_000_000;
    }
}
