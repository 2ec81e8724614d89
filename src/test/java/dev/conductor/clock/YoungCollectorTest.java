package dev.conductor.clock;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class YoungCollectorTest {
    /** Kept so that what a test allocates is live while the collector measures it. */
    private static volatile Object keep;

    private static long collections() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionCount).filter(c -> c > 0).sum();
    }

    private static MemoryPoolMXBean eden() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getName().endsWith("Eden Space"))
                .findFirst().orElseThrow();
    }

    private static long room() {
        var u = eden().getUsage();
        return u.getCommitted() - u.getUsed();
    }

    /**
     * Run in a JVM of its own by {@link #theConductorsCollectorIsCollectedWhereItIsAsked}: exits 0
     * when the collector (1) learnt from a growth of 6 MiB between two calls a reserve of at least
     * 12 MiB, (2) then collected at the call where less than the reserve was left, and (3) so
     * made room.
     */
    public static void main(String[] args) {
        YoungCollector young = YoungCollector.forThisJvm().orElseThrow();
        check(young);
        System.out.println("ok reserve " + young.reserve() + " collected " + young.collected());
    }

    private static void check(YoungCollector young) {
        // 1. A growth of 6 MiB between two calls with no collection between them (tried a few times).
        boolean learnt = false;
        for (int attempt = 0; attempt < 20 && !learnt; attempt++) {
            young.collectIfLow();
            long before = collections();
            List<byte[]> six = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                six.add(new byte[128 << 10]);
            }
            keep = six;
            boolean grew = collections() == before;
            young.collectIfLow();
            learnt = grew && young.reserve() >= 12L << 20;
            keep = null;
        }
        assertThat(learnt).as("a reserve learnt from 6 MiB of growth, in 20 attempts; reserve now %d", young.reserve()).isTrue();
        // 2. Fill until less than the reserve is left, then the call collects.
        boolean collected = false;
        for (int attempt = 0; attempt < 20 && !collected; attempt++) {
            long before = collections();
            long below = Math.min(young.reserve(), YoungCollector.MAX_FILL_BYTES);
            for (int i = 0; i < 100_000 && room() >= below && collections() == before; i++) {
                keep = new byte[64 << 10];
            }
            keep = null;
            if (collections() != before || room() >= below) {
                continue; // The collector ran by itself while filling: try again.
            }
            long had = young.collected();
            long left = room();
            collected = young.collectIfLow();
            assertThat(young.collected()).isEqualTo(collected ? had + 1 : had);
            if (collected) {
                assertThat(collections()).as("collector runs").isGreaterThan(before);
                // 3. The collection made room (the reserve itself has grown by the filling just done).
                assertThat(room()).as("room after the collection, against %d before", left).isGreaterThan(left);
            }
        }
        assertThat(collected).as("collected where less than the reserve was left, in 20 attempts").isTrue();
    }

    @Test
    void learnsItsReserveAndCollectsWhereLessIsLeftInThisJvm() {
        var young = YoungCollector.forThisJvm();
        assumeTrue(young.isPresent(), "this JVM's collector has no young generation pool: "
                + ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName).toList());
        check(young.get());
    }

    @Test
    void aCallWithRoomLeftDoesNotCollect() {
        // One of its own: the JVM's has learnt, from what other tests allocated between its
        // calls, a reserve that may be more than the young generation holds.
        var young = YoungCollector.find();
        assumeTrue(young.isPresent(), "this JVM's collector has no young generation pool");
        // Right after a collection there is room: the next call leaves it alone.
        young.get().collectIfLow();
        long before = collections();
        for (int attempt = 0; attempt < 20 && room() < 4 * young.get().reserve(); attempt++) {
            System.gc();
            before = collections();
        }
        assumeTrue(room() >= 4 * young.get().reserve(), "no room after 20 collections: " + room());
        assertThat(young.get().collectIfLow()).isFalse();
        assertThat(collections()).isEqualTo(before);
    }

    /** Runs {@code main} in a JVM of its own with {@code flags}: its exit code and output. */
    private static java.util.Map.Entry<Integer, String> inOwnJvm(Class<?> main, String... flags)
            throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        argv.addAll(List.of(flags));
        argv.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the child JVM ended within 60 s").isTrue();
            return java.util.Map.entry(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** With the flags bin/conduct gives the conductor's JVM: the serial collector, 128 MiB. */
    @Test
    void theConductorsCollectorIsCollectedWhereItIsAsked() throws IOException, InterruptedException {
        var got = inOwnJvm(YoungCollectorTest.class, "-XX:+UseSerialGC", "-Xmx128m");
        assertThat(got.getKey()).as(got.getValue()).isZero();
        assertThat(got.getValue()).startsWith("ok reserve ");
    }

    @Test
    void noYoungGenerationNoCollector() throws IOException, InterruptedException {
        var got = inOwnJvm(Probe.class, "-XX:+UseZGC", "-Xmx64m");
        assertThat(got.getValue().strip()).isEqualTo("present false");
    }

    /** Says whether this JVM has a young collector. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println("present " + YoungCollector.forThisJvm().isPresent());
        }
    }
}
