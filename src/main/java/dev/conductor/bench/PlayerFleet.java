package dev.conductor.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * N players on loopback, started together and waited for with one deadline. Closing stops and
 * reaps every one of them; so does a shutdown hook, for Ctrl-C, a kill or a failure half-way
 * through starting, so that no player outlives the benchmark.
 */
final class PlayerFleet implements AutoCloseable {
    /** How a player runs. */
    enum Mode {
        /** Each player in a JVM of its own, as in real use. */
        JVM,
        /** Players as threads of the benchmark's JVM, for comparison. */
        IN_PROCESS;

        String label() {
            return this == JVM ? "jvm" : "in-process";
        }
    }

    /** What a worker file says before its player has picked its port (see {@link BenchLab#writeWorker}). */
    private static final int PLACEHOLDER_CMDPORT = 1;
    private static final int PLACEHOLDER_RESULTSPORT = 2;
    private static final Duration REAP_DEADLINE = Duration.ofSeconds(15);

    private final List<LocalPlayer> players = new ArrayList<>();
    private final Thread hook = new Thread(this::close, "bench-stop-players");
    private boolean closed;

    private PlayerFleet() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Starts {@code count} players, each with its own worker file in {@code lab}, and waits until
     * all of them listen. At most {@code startingAtOnce} JVMs start at the same time: a hundred
     * JVMs starting together on two cores take far longer than the same hundred a few at a time.
     *
     * @throws IOException naming the players that did not come up and what they said
     */
    static PlayerFleet start(BenchLab lab, int count, Mode mode, List<String> javaOpts, int startingAtOnce,
                             Duration deadline) throws IOException, InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        PlayerFleet fleet = new PlayerFleet();
        try {
            for (int i = 0; i < count; i++) {
                String name = BenchLab.workerName(i);
                lab.writeWorker(name, PLACEHOLDER_CMDPORT, PLACEHOLDER_RESULTSPORT);
                if (i >= startingAtOnce) {
                    fleet.awaitOne(fleet.players().get(i - startingAtOnce), end);
                }
                LocalPlayer p = mode == Mode.JVM
                        ? LocalPlayer.Jvm.start(name, lab.workerFile(name), javaOpts)
                        : LocalPlayer.InProcess.start(name);
                fleet.add(p);
            }
            fleet.awaitListening(deadline, end);
            return fleet;
        } catch (IOException | InterruptedException | RuntimeException e) {
            fleet.close();
            throw e;
        }
    }

    /** Waits for one player to listen or fail; which of the two is for {@link #awaitListening} to say. */
    private void awaitOne(LocalPlayer p, long end) throws InterruptedException {
        try {
            p.ready().get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Reported with all the others once every player has had its chance.
        }
    }

    private synchronized void add(LocalPlayer p) throws IOException {
        if (closed) {
            p.close();
            throw new IOException("stopped while starting players");
        }
        players.add(p);
    }

    private void awaitListening(Duration deadline, long end) throws IOException, InterruptedException {
        List<String> problems = new ArrayList<>();
        for (LocalPlayer p : players()) {
            try {
                p.ready().get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                problems.add(p.name() + " (" + p.lastWords() + ")");
            } catch (ExecutionException e) {
                problems.add(p.name() + ": " + e.getCause().getMessage() + " (" + p.lastWords() + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new IOException(problems.size() + " of " + players().size()
                    + " players did not say 'listening on' within " + deadline.toSeconds() + " s: "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                    + (problems.size() > 5 ? "; ..." : ""));
        }
    }

    synchronized List<LocalPlayer> players() {
        return List.copyOf(players);
    }

    /** Memory of every player that has a process of its own, in the players' order. */
    List<Memory> memory() throws IOException {
        List<Memory> all = new ArrayList<>();
        for (LocalPlayer p : players()) {
            if (p.pid().isPresent()) {
                all.add(Memory.of(p.pid().getAsLong()));
            }
        }
        return all;
    }

    /**
     * Waits until the players stop using CPU (a JVM goes on compiling and collecting for a while
     * after it listens), so that the first trial does not compete with their start-up.
     *
     * @return whether they went idle before the deadline
     */
    boolean awaitIdle(Duration deadline, Duration window, double maxCores) throws IOException, InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        long before = cpuMillis().stream().mapToLong(Long::longValue).sum();
        while (System.nanoTime() < end) {
            Thread.sleep(window.toMillis());
            long now = cpuMillis().stream().mapToLong(Long::longValue).sum();
            if ((now - before) < maxCores * window.toMillis()) {
                return true;
            }
            before = now;
        }
        return false;
    }

    /** CPU time (user + system) each player with a process of its own has used so far, in ms. */
    List<Long> cpuMillis() throws IOException {
        List<Long> all = new ArrayList<>();
        for (LocalPlayer p : players()) {
            if (p.pid().isPresent()) {
                all.add(CpuTime.of(p.pid().getAsLong()).ownMillis());
            }
        }
        return all;
    }

    /** CPU time of the players and of the steps they ran (once reaped), in ms, all together. */
    long cpuMillisWithSteps() throws IOException {
        long sum = 0;
        for (LocalPlayer p : players()) {
            if (p.pid().isPresent()) {
                sum += CpuTime.of(p.pid().getAsLong()).withChildrenMillis();
            }
        }
        return sum;
    }

    /** Stops every player: SIGTERM to all at once, then waits for each, and kills what lingers. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (LocalPlayer p : players) {
            if (p instanceof LocalPlayer.Jvm j) {
                j.terminate();
            }
        }
        long end = System.nanoTime() + REAP_DEADLINE.toNanos();
        for (LocalPlayer p : players) {
            if (p instanceof LocalPlayer.Jvm j) {
                j.reap(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
            } else {
                p.close();
            }
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down, and the hook has nothing left to do.
            }
        }
    }
}
