package dev.conductor.clock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.Optional;

/**
 * Has this JVM collect its young generation at a moment its caller chooses, when what is left of
 * it would not last until the next such moment: so that a collection, which stops every thread,
 * does not fall where timing matters.
 *
 * <p>Why: a generational collector collects when the young generation fills, wherever that
 * happens to be. In the conductor, with 32 players' steps running on 2 CPUs, a young collection
 * stopped its threads for 12 to 27 ms (its collector's thread runs at normal priority, behind the
 * steps), and about once per 10 trials the young generation filled just while a phase's start
 * orders were going out: every player then started that phase up to 50 ms late, some with the
 * orders sent before the collection and some after it (docs/PERFORMANCE.md). Called once a phase,
 * just after its instant, this collects there instead when the young generation would not last
 * until the next call: the next release then finds it with room.
 *
 * <p>How: the JVM offers no call that collects only the young generation ({@link System#gc}
 * collects the whole heap), so this allocates short-lived arrays until the collector runs, which
 * costs writing the little that was left of the young generation (at most the reserve, a few
 * MiB). The reserve is twice the most the young generation grew between two calls of the last
 * {@value #WINDOW}, and at least {@value #MIN_RESERVE_BYTES} bytes. It works with the serial,
 * parallel and G1 collectors; with one that has no young generation pool (ZGC, Shenandoah,
 * Epsilon) {@link #forThisJvm} is empty.
 */
public final class YoungCollector {
    private static final Logger log = LoggerFactory.getLogger(YoungCollector.class);
    /** How many of the last growths between two calls the reserve is taken over. */
    static final int WINDOW = 16;
    /** The least reserve. */
    static final long MIN_RESERVE_BYTES = 2L << 20;
    /**
     * The most this writes to have the collector run: past it, writing what is left costs more
     * than the collection it moves (a JVM with a young generation of hundreds of MiB, as G1 makes
     * of a large heap; the conductor's serial one of 128 MiB has about 34 MiB).
     */
    static final long MAX_FILL_BYTES = 64L << 20;
    /** Arrays of this size fill the young generation: under G1's humongous size at any region size. */
    private static final int CHUNK = 128 << 10;
    /** Where the arrays go, so that the compiler cannot leave them out. */
    @SuppressWarnings("unused")
    private static volatile byte[] sink;

    private final MemoryPoolMXBean eden;
    private final List<GarbageCollectorMXBean> collectors;
    private final long[] growths = new long[WINDOW];
    private int next;
    private long lastUsed = -1;
    private long lastCount = -1;
    private long collected;

    YoungCollector(MemoryPoolMXBean eden, List<GarbageCollectorMXBean> collectors) {
        this.eden = eden;
        this.collectors = collectors;
    }

    private static final Optional<YoungCollector> THIS_JVM = find();

    /** This JVM's, one for all its callers; empty when its collector has no young generation to collect this way. */
    public static Optional<YoungCollector> forThisJvm() {
        return THIS_JVM;
    }

    /** A new one for this JVM's collector, which has learnt nothing yet (tests). */
    static Optional<YoungCollector> find() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid() && pool.getName().endsWith("Eden Space")) {
                List<GarbageCollectorMXBean> collecting = ManagementFactory.getGarbageCollectorMXBeans().stream()
                        .filter(gc -> List.of(gc.getMemoryPoolNames()).contains(pool.getName()))
                        .toList();
                if (!collecting.isEmpty()) {
                    return Optional.of(new YoungCollector(pool, collecting));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Collects the young generation now if less than the reserve is left of it (and at most
     * {@value #MAX_FILL_BYTES} bytes); returns whether it did. Learns, from the young
     * generation's growth since the last call, how much the reserve must be: meant to be called
     * at one moment of a cycle (a phase). Calls from several threads (conductors sharing a JVM)
     * take turns.
     */
    public synchronized boolean collectIfLow() {
        long count = collections();
        MemoryUsage usage = eden.getUsage();
        long used = usage.getUsed();
        if (count == lastCount && lastUsed >= 0 && used >= lastUsed) {
            growths[next] = used - lastUsed;
            next = (next + 1) % WINDOW;
        }
        long room = room(usage);
        long reserve = reserve();
        boolean collect = room < reserve && room <= MAX_FILL_BYTES;
        if (collect) {
            log.debug("collecting the young generation: {} KiB left of {} KiB, {} KiB kept in reserve",
                    room / 1024, usage.getCommitted() / 1024, reserve / 1024);
            fill(room, count);
            count = collections();
            used = eden.getUsage().getUsed();
            collected++;
        }
        lastCount = count;
        lastUsed = used;
        return collect;
    }

    /** How many times this collected. */
    public synchronized long collected() {
        return collected;
    }

    /** How much of the young generation must be left at a call for it not to be collected then. */
    synchronized long reserve() {
        long most = 0;
        for (long g : growths) {
            most = Math.max(most, g);
        }
        return Math.max(MIN_RESERVE_BYTES, 2 * most);
    }

    /** What is left of the young generation as it is now (it may grow after a collection, up to its maximum). */
    private static long room(MemoryUsage usage) {
        return Math.max(0, usage.getCommitted() - usage.getUsed());
    }

    /** Allocates until a collection has run: at most what was left, and a few arrays more. */
    private void fill(long room, long countBefore) {
        long arrays = room / CHUNK + 8;
        for (long i = 0; i < arrays && collections() == countBefore; i++) {
            sink = new byte[CHUNK];
        }
        sink = null;
        if (collections() == countBefore) {
            log.debug("allocating {} KiB did not make the collector run", arrays * CHUNK / 1024);
        }
    }

    private long collections() {
        long sum = 0;
        for (GarbageCollectorMXBean gc : collectors) {
            sum += Math.max(0, gc.getCollectionCount());
        }
        return sum;
    }
}
