package dev.conductor.conduct;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.Phase;
import dev.conductor.wire.Json;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The barriers of one phase. A barrier waits for every worker whose phase has a barrier of that
 * name; the conductor releases it when all have arrived, or gives up (and says who never came)
 * when its limit passes after the first arrival or when a worker can no longer come: it was
 * lost, or finished its phase without arriving (e.g. a failed step before the barrier).
 */
final class BarrierDesk implements AutoCloseable {
    /**
     * Who must come to each barrier, and how long after the first arrival they may take (null:
     * each arrival says how long it waits).
     */
    record Expected(Set<String> workers, Duration limit) {
    }

    /** How to tell a worker its barrier was released. */
    interface Releaser {
        void release(String worker, ObjectNode message);
    }

    private final int trial;
    private final Phase phase;
    private final Map<String, Expected> expected;
    private final EventSink events;
    private final Releaser releaser;
    private final Map<String, Set<String>> arrived = new HashMap<>();
    private final Set<String> released = new java.util.HashSet<>();
    private final List<Thread> timers = new ArrayList<>();
    /** Workers that can no longer arrive anywhere, with why. */
    private final Map<String, String> cannotCome = new HashMap<>();

    /** Who must come to a barrier no one declared; null when such a barrier is a mistake. */
    private final java.util.function.Function<String, Expected> undeclared;

    BarrierDesk(int trial, Phase phase, Map<String, Expected> expected, EventSink events, Releaser releaser) {
        this(trial, phase, expected, null, events, releaser);
    }

    /** @param undeclared who must come to a barrier that {@code expected} does not name (a scenario: every tester) */
    BarrierDesk(int trial, Phase phase, Map<String, Expected> expected,
                java.util.function.Function<String, Expected> undeclared, EventSink events, Releaser releaser) {
        this.trial = trial;
        this.phase = phase;
        this.expected = new HashMap<>(expected);
        this.undeclared = undeclared;
        this.events = events;
        this.releaser = releaser;
    }

    boolean isEmpty() {
        return expected.isEmpty();
    }

    synchronized void arrive(String worker, String name) {
        arrive(worker, name, null);
    }

    /**
     * A worker arrives; {@code ownLimit}, when given, is how long this worker waits (a
     * scenario's tester says so per call, as DTest's did): when it runs out first, the barrier
     * fails for everyone, naming who never came.
     */
    synchronized void arrive(String worker, String name, Duration ownLimit) {
        events.accept(new Event.BarrierArrived(Instant.now(), trial, phase, worker, name));
        Expected e = undeclared == null ? expected.get(name) : expected.computeIfAbsent(name, undeclared);
        if (e == null || released.contains(name)) {
            // Unknown (the plan says nobody else has it) or already given up: answer at once.
            ObjectNode m = message(name, e != null && !released.contains(name), List.of(worker), List.of(),
                    e == null ? "no worker's phase has this barrier" : "the barrier was already given up");
            releaser.release(worker, m);
            return;
        }
        Set<String> here = arrived.computeIfAbsent(name, n -> new LinkedHashSet<>());
        boolean first = here.isEmpty();
        here.add(worker);
        for (String w : e.workers()) {
            if (!here.contains(w) && cannotCome.containsKey(w)) {
                release(name, false, "worker '" + w + "' will not come: " + cannotCome.get(w));
                return;
            }
        }
        if (here.containsAll(e.workers())) {
            release(name, true, "");
        } else if (ownLimit != null) {
            timers.add(Thread.ofVirtual().name("barrier-" + name + "-" + worker).start(() -> {
                try {
                    Thread.sleep(ownLimit);
                    timeout(name, "worker '" + worker + "' gave up waiting after " + ownLimit.toMillis() / 1000.0 + " s");
                } catch (InterruptedException ignored) {
                    // Released in time, or the phase is over.
                }
            }));
        } else if (first && e.limit() != null) {
            Thread t = Thread.ofVirtual().name("barrier-" + name).start(() -> {
                try {
                    Thread.sleep(e.limit());
                    timeout(name, "timed out " + e.limit().toMillis() / 1000.0 + " s after the first arrival");
                } catch (InterruptedException ignored) {
                    // The phase is over.
                }
            });
            timers.add(t);
        }
    }

    /** The worker cannot come to any barrier it has not reached yet. */
    synchronized void gone(String worker, String why) {
        cannotCome.putIfAbsent(worker, why);
        for (Map.Entry<String, Expected> e : expected.entrySet()) {
            String name = e.getKey();
            if (!released.contains(name) && e.getValue().workers().contains(worker)
                    && !arrived.getOrDefault(name, Set.of()).contains(worker)
                    && !arrived.getOrDefault(name, Set.of()).isEmpty()) {
                release(name, false, "worker '" + worker + "' will not come: " + why);
            }
        }
    }

    private synchronized void timeout(String name, String reason) {
        if (!released.contains(name)) {
            release(name, false, reason);
        }
    }

    private void release(String name, boolean ok, String reason) {
        released.add(name);
        List<String> here = new ArrayList<>(arrived.getOrDefault(name, Set.of()));
        List<String> missing = new ArrayList<>(new TreeSet<>(expected.get(name).workers()));
        missing.removeAll(here);
        ObjectNode m = message(name, ok, here, missing, reason);
        // Logged before anyone is told, so that the release precedes the waiters' own step ends in the log.
        events.accept(new Event.BarrierReleased(Instant.now(), trial, phase, name, ok, here, missing, reason));
        for (String w : here) {
            releaser.release(w, m);
        }
    }

    private static ObjectNode message(String name, boolean ok, List<String> here, List<String> missing, String reason) {
        ObjectNode m = Json.object();
        m.put("name", name);
        m.put("ok", ok);
        here.forEach(m.withArray("arrived")::add);
        missing.forEach(m.withArray("missing")::add);
        if (!reason.isEmpty()) {
            m.put("reason", reason);
        }
        return m;
    }

    @Override
    public synchronized void close() {
        timers.forEach(Thread::interrupt);
    }

    /** The barriers of a phase from the plan: name -> workers that have it and the longest limit. */
    static Map<String, Expected> expected(Map<String, List<dev.conductor.plan.Step>> stepsByWorker) {
        Map<String, Set<String>> who = new HashMap<>();
        Map<String, Duration> limits = new HashMap<>();
        stepsByWorker.forEach((worker, steps) -> {
            for (var s : steps) {
                if (s instanceof dev.conductor.plan.Step.Barrier b) {
                    who.computeIfAbsent(b.name(), n -> new TreeSet<>()).add(worker);
                    limits.merge(b.name(), b.limit(), (x, y) -> x.compareTo(y) >= 0 ? x : y);
                }
            }
        });
        Map<String, Expected> out = new HashMap<>();
        who.forEach((name, workers) -> out.put(name, new Expected(workers, limits.get(name))));
        return out;
    }
}
