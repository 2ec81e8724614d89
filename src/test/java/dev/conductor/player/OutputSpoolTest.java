package dev.conductor.player;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OutputSpoolTest {
    @TempDir
    Path dir;

    /** What reached the conductor, and on which threads. */
    private static final class Received {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile long delayNanos;

        synchronized void take(byte[] buf, int off, int len) {
            assertThat(off).isGreaterThanOrEqualTo(StepRunner.HEADROOM); // room for the frame's header
            bytes.write(buf, off, len);
            threads.add(Thread.currentThread().getName());
        }

        synchronized int size() {
            return bytes.size();
        }

        synchronized byte[] all() {
            return bytes.toByteArray();
        }
    }

    private static byte[] data(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Feeds {@code data} as a pipe reader would: chunks in a buffer with room before them, reused. */
    private static void feed(OutputSpool spool, byte[] data, int chunk) throws Exception {
        byte[] buf = new byte[StepRunner.HEADROOM + chunk];
        for (int at = 0; at < data.length; at += chunk) {
            int n = Math.min(chunk, data.length - at);
            System.arraycopy(data, at, buf, StepRunner.HEADROOM, n);
            spool.output(buf, StepRunner.HEADROOM, n);
            java.util.Arrays.fill(buf, (byte) 0); // the reader's buffer is reused at once
        }
    }

    private OutputSpool spool(Received r, AtomicBoolean expecting) {
        return new OutputSpool((buf, off, len) -> {
            long d = r.delayNanos;
            if (d > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(d);
            }
            r.take(buf, off, len);
        }, dir, expecting::get, "stdout-of-test");
    }

    @Test
    void withNoExpectWaitingEachChunkGoesAtOnceOnTheReadersThread() throws Exception {
        Received r = new Received();
        try (OutputSpool s = spool(r, new AtomicBoolean(false))) {
            byte[] d = data(1_000_000, 1);
            feed(s, d, 65_536);
            assertThat(r.all()).isEqualTo(d); // no thread in between: it is all there already
            assertThat(r.threads).containsExactly(Thread.currentThread().getName());
            assertThat(s.awaitSent(Duration.ofSeconds(1))).isTrue();
        }
    }

    @Test
    void whileAnExpectWaitsASlowLinkDoesNotHoldTheReaderBackAndAllArrivesInOrder() throws Exception {
        Received r = new Received();
        r.delayNanos = TimeUnit.MILLISECONDS.toNanos(2); // a link of ~128 MB/s at 256 KiB a chunk
        AtomicBoolean expecting = new AtomicBoolean(true);
        try (OutputSpool s = spool(r, expecting)) {
            s.expectChanged();
            byte[] d = data(40 << 20, 2); // ten times what memory keeps: most goes to the spill file
            feed(s, d, 256 * 1024);
            // All 40 MiB were read while at most what memory keeps (and one chunk in flight) went
            // out: the reader did not wait for the link, and sending waited for the expect.
            long sentWhileReading = r.size();
            assertThat(sentWhileReading).isLessThanOrEqualTo(OutputSpool.MEMORY + 256 * 1024);
            // What was read and not sent is in memory (at most MEMORY of it) or in the spill file:
            // how much went out early depends on how fast the reader was, not the sum.
            assertThat(s.spilledPeak()).isGreaterThanOrEqualTo((40 << 20) - sentWhileReading - OutputSpool.MEMORY);
            expecting.set(false);
            s.expectChanged();
            s.end();
            assertThat(s.awaitSent(Duration.ofSeconds(10))).isTrue();
            assertThat(r.all()).isEqualTo(d);
            assertThat(r.threads).containsExactly("spool-stdout-of-test");
            await().atMost(Duration.ofSeconds(5)).until(s::done);
        }
    }

    @Test
    void keptOutputGoesOnWhileLittleWaitsAndNewOutputFollowsItInOrder() throws Exception {
        Received r = new Received();
        AtomicBoolean expecting = new AtomicBoolean(true);
        try (OutputSpool s = spool(r, expecting)) {
            byte[] first = data(300_000, 3);
            feed(s, first, 10_000);
            // Little waits: it goes out while the expect still waits (the live view keeps up).
            await().atMost(Duration.ofSeconds(5)).until(() -> r.size() == first.length);
            expecting.set(false);
            s.expectChanged();
            byte[] second = data(200_000, 4);
            feed(s, second, 10_000);
            assertThat(s.awaitSent(Duration.ofSeconds(5))).isTrue();
            byte[] both = new byte[first.length + second.length];
            System.arraycopy(first, 0, both, 0, first.length);
            System.arraycopy(second, 0, both, first.length, second.length);
            assertThat(r.all()).isEqualTo(both);
        }
    }

    @Test
    void waitingForAStuckLinkGivesUpAfterTheStallLimitAndSaysSo() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong got = new AtomicLong();
        AtomicBoolean expecting = new AtomicBoolean(true);
        try (OutputSpool s = new OutputSpool((buf, off, len) -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            got.addAndGet(len);
        }, dir, expecting::get, "stuck")) {
            feed(s, data(100_000, 5), 10_000);
            expecting.set(false);
            s.expectChanged();
            long t0 = System.nanoTime();
            assertThat(s.awaitSent(Duration.ofMillis(300))).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(250), Duration.ofSeconds(5));
            release.countDown();
            assertThat(s.awaitSent(Duration.ofSeconds(5))).isTrue();
            assertThat(got.get()).isEqualTo(100_000);
        }
    }

    /** No spill file can be made (its folder is gone): memory holds the reader back instead, nothing is lost. */
    @Test
    void withoutASpillFileTheReaderWaitsForTheLinkAndAllArrivesInOrder() throws Exception {
        Received r = new Received();
        r.delayNanos = TimeUnit.MILLISECONDS.toNanos(1);
        AtomicBoolean expecting = new AtomicBoolean(true);
        try (OutputSpool s = new OutputSpool((buf, off, len) -> {
            java.util.concurrent.locks.LockSupport.parkNanos(r.delayNanos);
            r.take(buf, off, len);
        }, dir.resolve("no-such-folder"), expecting::get, "stdout-of-test")) {
            byte[] d = data(12 << 20, 8);
            feed(s, d, 256 * 1024);
            s.end();
            assertThat(s.awaitSent(Duration.ofSeconds(10))).isTrue();
            assertThat(r.all()).isEqualTo(d);
        }
    }

    /** An expect that never matches a flood: the spill file stops at its cap and the link paces the reader again. */
    @Test
    void aFullSpillFileLetsKeptOutputGoWhileTheExpectStillWaits() throws Exception {
        Received r = new Received();
        r.delayNanos = TimeUnit.MICROSECONDS.toNanos(500);
        AtomicBoolean expecting = new AtomicBoolean(true); // and it never ends
        long cap = 8L << 20;
        try (OutputSpool s = new OutputSpool((buf, off, len) -> {
            java.util.concurrent.locks.LockSupport.parkNanos(r.delayNanos);
            r.take(buf, off, len);
        }, dir, expecting::get, "stdout-of-test", cap)) {
            byte[] d = data(48 << 20, 9);
            feed(s, d, 256 * 1024);
            assertThat(s.spilledPeak()).isPositive().isLessThanOrEqualTo(cap);
            assertThat(r.size()).as("sent while the expect waits").isGreaterThanOrEqualTo((48 << 20) - OutputSpool.MEMORY - (int) cap - 2 * 256 * 1024);
            s.end();
            assertThat(s.awaitSent(Duration.ofSeconds(10))).isTrue();
            assertThat(r.all()).isEqualTo(d);
        }
    }

    @Test
    void closingDropsWhatIsKeptAndEndsItsThread() throws Exception {
        Received r = new Received();
        AtomicBoolean expecting = new AtomicBoolean(true);
        OutputSpool s = spool(r, expecting);
        feed(s, data(12 << 20, 6), 256 * 1024);
        s.close();
        assertThat(s.done()).isTrue();
        feed(s, data(1000, 7), 1000); // after the session: nothing, and no error
        await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("spool-stdout-of-test") || t.getName().equals("spill-writer")));
    }
}
