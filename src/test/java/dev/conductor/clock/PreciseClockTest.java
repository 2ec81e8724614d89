package dev.conductor.clock;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class PreciseClockTest {
    /**
     * Clocks anchored one after another, while other threads keep every CPU busy (the anchoring
     * thread is then taken off its CPU now and then), tell the same time: a clock anchored
     * between two such interruptions would be off by one, for the life of its process.
     */
    @Test
    void clocksAnchoredOnABusyMachineAgree() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> busy = new ArrayList<>();
        for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
            busy.add(Thread.ofPlatform().daemon().start(() -> {
                long x = 0;
                while (!stop.get()) {
                    x += System.nanoTime() & 1;
                }
                if (x == 42) {
                    System.out.print("");
                }
            }));
        }
        try {
            PreciseClock reference = new PreciseClock();
            long worst = 0;
            for (int i = 0; i < 2_000; i++) {
                PreciseClock c = new PreciseClock();
                long before = reference.micros();
                long read = c.micros();
                long after = reference.micros();
                // Against the reference read just before and just after: within the anchor's bracket.
                long off = read < before ? before - read : Math.max(0, read - after);
                worst = Math.max(worst, off);
            }
            assertThat(worst).as("the farthest any clock was from the first, in microseconds").isLessThan(500);
        } finally {
            stop.set(true);
            for (Thread t : busy) {
                t.join();
            }
        }
    }

    @Test
    void nanoTimeAndEpochMicrosTranslateBothWays() {
        PreciseClock clock = new PreciseClock();
        long now = clock.micros();
        long nanos = clock.toNanoTime(now);
        assertThat(Math.abs(nanos - System.nanoTime())).isLessThan(50_000_000L);
        assertThat(clock.microsOfNanoTime(nanos)).isEqualTo(now);
        assertThat(clock.microsOfNanoTime(clock.toNanoTime(now + 123_456))).isEqualTo(now + 123_456);
    }
}
