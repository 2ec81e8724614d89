package dev.conductor.clock;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClockWindowTest {
    /** A probe taken at {@code t0} with the given round trip, answered by a clock {@code offset} ahead. */
    private static ClockProbe probe(long t0, long rtt, long offset, long asymmetry) {
        long out = rtt / 2 + asymmetry;
        long t1 = t0 + out + offset;
        return new ClockProbe(t0, t1, t1, t0 + rtt);
    }

    @Test
    void keepsTheProbeWithTheShortestRoundTripAndBoundsItsErrorByHalfOfIt() {
        ClockWindow w = new ClockWindow();
        w.add(probe(1_000_000, 4_000, 0, 1_500));
        w.add(probe(1_010_000, 80, 0, 10));
        w.add(probe(1_020_000, 2_000, 0, -900));
        ClockWindow.Estimate e = w.best(1_020_000);
        assertThat(e.rttMicros()).isEqualTo(80);
        assertThat(e.offsetMicros()).isEqualTo(10);
        assertThat(e.errorMicros()).isBetween(40L, 41L);
        assertThat(e.probes()).isEqualTo(3);
    }

    @Test
    void anOldProbeLosesToAFreshOneOnceTheDriftItMayHaveHadOutweighsItsShorterRoundTrip() {
        ClockWindow w = new ClockWindow();
        w.add(probe(0, 60, 0, 0));
        w.add(probe(20_000_000, 400, 0, 0));
        // 20 s at 50 ppm is 1 ms of possible drift: the fresh probe's 200 µs is the better bound.
        assertThat(w.best(20_000_400).rttMicros()).isEqualTo(400);
        assertThat(w.best(20_000_400).errorMicros()).isEqualTo(200);
    }

    @Test
    void forgetsProbesOlderThanItsWindowButAlwaysKeepsTheNewestWithAGrowingBound() {
        ClockWindow w = new ClockWindow();
        w.add(probe(0, 60, 0, 0));
        w.add(probe(999_900, 100, 0, 0));
        ClockWindow.Estimate late = w.best(61_000_000);
        assertThat(late.probes()).isEqualTo(1);
        assertThat(late.rttMicros()).isEqualTo(100);
        assertThat(late.errorMicros()).isEqualTo(50 + 60_000_000L * ClockWindow.DRIFT_PPM / 1_000_000);
    }

    @Test
    void hasNoEstimateBeforeItsFirstProbe() {
        assertThatThrownBy(() -> new ClockWindow().best(0)).isInstanceOf(IllegalStateException.class);
    }
}
