package dev.conductor.scenario;

import dev.conductor.conduct.Conductor;
import dev.conductor.conduct.LinkException;
import dev.conductor.conduct.StepSession;
import dev.conductor.conduct.Transcripts;
import dev.conductor.events.Event;
import dev.conductor.events.EventJsonl;
import dev.conductor.events.EventLog;
import dev.conductor.events.EventSink;
import dev.conductor.plan.OnFailure;
import dev.conductor.plan.Phase;
import dev.conductor.player.Player;
import dev.conductor.report.RunFolder;
import dev.conductor.report.TextReport;
import dev.conductor.report.Verbosity;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A distributed test written in Java: named testers, each bound to a player, each playing its
 * own {@link Script} at the same time as the others. Their steps run on their players (or, for
 * barriers and checks, on the conductor), and the run yields the same event log, transcripts and
 * reports as a test file run by {@code conduct}.
 *
 * <pre>{@code
 * ScenarioResult r = Scenario.named("client-server")
 *         .tester("server", "10.0.0.1:6970", t -> {
 *             t.spawn("srv", "exec my-server --port 9000");
 *             t.expect("srv", "listening", Duration.ofSeconds(10));
 *             t.barrier("ready");
 *             t.barrier("done");
 *             t.terminate("srv", Duration.ofSeconds(2));
 *         })
 *         .tester("client", "10.0.0.2:6970", t -> {
 *             t.barrier("ready");
 *             Outcome o = t.run("my-client --server 10.0.0.1:9000");
 *             t.check("the server answered", () -> o.stdout().contains("pong"));
 *             t.barrier("done");
 *         })
 *         .run();
 * r.assertPassed();   // in a JUnit test: fails it with a readable summary
 * }</pre>
 *
 * <p>Barriers wait for every tester unless {@link Builder#barrier} names who has one. The whole
 * run has a deadline ({@link Builder#deadline}, 10 minutes unless set): a script still running
 * then is stopped and reported, and nothing is left running on the players, whatever happened.
 */
public final class Scenario {
    private final Builder b;

    private Scenario(Builder b) {
        this.b = b;
    }

    /** Starts a scenario; the name appears in the reports. */
    public static Builder named(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a scenario needs a name");
        }
        return new Builder(name);
    }

    /** A tester as declared: where its player is ({@code host} null: a player started in this JVM). */
    private record Declared(String name, String host, int port, Script script) {
    }

    /** Collects the scenario's testers and settings; {@link #run} runs it. */
    public static final class Builder {
        private final String name;
        private final Map<String, Declared> testers = new LinkedHashMap<>();
        private final Map<String, Set<String>> barriers = new LinkedHashMap<>();
        private OnFailure onFailure = OnFailure.STOP;
        private Path folder = Path.of("").toAbsolutePath();
        private Optional<Path> results = Optional.of(Path.of("results"));
        private PrintStream live = System.out;
        private Verbosity verbosity = Verbosity.NORMAL;
        private Duration deadline = Duration.ofMinutes(10);
        private StepSession.Settings settings = StepSession.Settings.defaults();

        private Builder(String name) {
            this.name = name;
        }

        /** A tester whose player listens at {@code hostPort}, e.g. {@code 10.0.0.1:6970} or {@code [::1]:6970}. */
        public Builder tester(String name, String hostPort, Script script) {
            int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("tester '" + name + "': the player's address is HOST:PORT, got " + hostPort);
            }
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("tester '" + name + "': the port of " + hostPort + " is not 1..65535");
            }
            String host = hostPort.substring(0, colon).replaceAll("^\\[(.*)]$", "$1");
            return add(new Declared(name, host, port, script));
        }

        /**
         * A tester with a player of its own started in this JVM on 127.0.0.1 (a free port, its
         * files folder a new temporary folder), stopped when the run ends: for trying a
         * scenario on one machine, and in tests.
         */
        public Builder localTester(String name, Script script) {
            return add(new Declared(name, null, 0, script));
        }

        private Builder add(Declared d) {
            if (d.name() == null || !d.name().matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException("a tester's name is letters, digits, '_', '.' or '-', got " + d.name());
            }
            if (d.script() == null) {
                throw new IllegalArgumentException("tester '" + d.name() + "' needs a script");
            }
            if (testers.putIfAbsent(d.name(), d) != null) {
                throw new IllegalArgumentException("two testers are named '" + d.name() + "'");
            }
            return this;
        }

        /** Barrier {@code name} waits for these testers only (by default a barrier waits for all). */
        public Builder barrier(String name, String... testers) {
            if (testers.length == 0) {
                throw new IllegalArgumentException("barrier '" + name + "' needs at least one tester");
            }
            barriers.put(name, new LinkedHashSet<>(List.of(testers)));
            return this;
        }

        /** {@link OnFailure#CONTINUE}: a failed step does not stop its tester (the script reads the outcome). */
        public Builder onFailure(OnFailure rule) {
            this.onFailure = java.util.Objects.requireNonNull(rule);
            return this;
        }

        /** Where {@code put} finds its local files (default: the current folder). */
        public Builder folder(Path folder) {
            this.folder = folder.toAbsolutePath().normalize();
            return this;
        }

        /** Where the run's folder is made (default {@code results/}); {@code null}: keep nothing on disk. */
        public Builder results(Path root) {
            this.results = Optional.ofNullable(root);
            return this;
        }

        /** Where the live text account goes (default stdout); {@code null} for none. */
        public Builder live(PrintStream out, Verbosity verbosity) {
            this.live = out;
            this.verbosity = java.util.Objects.requireNonNull(verbosity);
            return this;
        }

        /** The longest the whole run may take (default 10 minutes). */
        public Builder deadline(Duration deadline) {
            if (deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("the deadline must be positive, got " + deadline);
            }
            this.deadline = deadline;
            return this;
        }

        /** I/O deadline, message size limit, token and TLS towards the players. */
        public Builder settings(StepSession.Settings settings) {
            this.settings = java.util.Objects.requireNonNull(settings);
            return this;
        }

        public Scenario build() {
            if (testers.isEmpty()) {
                throw new IllegalStateException("scenario '" + name + "' has no tester");
            }
            for (var e : barriers.entrySet()) {
                for (String t : e.getValue()) {
                    if (!testers.containsKey(t)) {
                        throw new IllegalStateException("barrier '" + e.getKey() + "' names tester '" + t
                                + "', which the scenario does not have (testers: " + String.join(", ", testers.keySet()) + ")");
                    }
                }
            }
            return new Scenario(this);
        }

        /** Builds and runs the scenario. */
        public ScenarioResult run() {
            return build().run();
        }
    }

    /** Runs every tester's script at once and waits for all of them (at most the deadline). */
    public ScenarioResult run() {
        Optional<Path> runDir = b.results.map(RunFolder::next);
        ByteArrayOutputStream textCopy = new ByteArrayOutputStream();
        List<EventSink> sinks = new ArrayList<>();
        EventJsonl jsonl = null;
        if (runDir.isPresent()) {
            try {
                jsonl = new EventJsonl(runDir.get().resolve("events.jsonl"));
                sinks.add(jsonl);
            } catch (IOException e) {
                throw new IllegalStateException("cannot create the run folder " + runDir.get() + ": " + e.getMessage(), e);
            }
        }
        if (b.live != null) {
            sinks.add(new TextReport(b.live, b.verbosity));
        }
        sinks.add(new TextReport(new PrintStream(textCopy, true, StandardCharsets.UTF_8), Verbosity.NORMAL));
        EventLog log = new EventLog(sinks);
        List<Player> localPlayers = new ArrayList<>();
        List<Path> localFolders = new ArrayList<>();
        int code;
        try (Transcripts transcripts = runDir.map(Transcripts::in).orElseGet(Transcripts::none)) {
            code = play(log, transcripts, runDir, localPlayers, localFolders);
        } finally {
            localPlayers.forEach(Player::close);
            localFolders.forEach(Scenario::deleteQuietly);
            if (jsonl != null) {
                jsonl.close();
            }
        }
        if (runDir.isPresent()) {
            try {
                RunFolder.writeReports(runDir.get(), log.events(), textCopy.toByteArray());
                Files.writeString(runDir.get().resolve("report.tap"),
                        dev.conductor.report.TapReport.render(log.events(), 14, dev.conductor.report.TapReport.Order.TIME));
            } catch (IOException e) {
                System.err.println("scenario " + b.name + ": cannot write the reports into " + runDir.get() + ": "
                        + e.getMessage());
            }
        }
        return new ScenarioResult(b.name, code, log.events(), runDir);
    }

    private int play(EventLog log, Transcripts transcripts, Optional<Path> runDir, List<Player> localPlayers,
                     List<Path> localFolders) {
        final int trial = 1;
        Map<String, InetSocketAddress> where = new LinkedHashMap<>();
        Map<String, String> cannotStart = new LinkedHashMap<>();
        for (Declared d : b.testers.values()) {
            if (d.host() != null) {
                where.put(d.name(), InetSocketAddress.createUnresolved(d.host(), d.port()));
                continue;
            }
            try {
                Path files = Files.createTempDirectory("conductor-scenario-" + d.name() + "-");
                localFolders.add(files);
                Player.Options o = new Player.Options(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), d.name(),
                        b.settings.maxMessageSize(), Duration.ofSeconds(10), files);
                Player p = Player.start(o);
                localPlayers.add(p);
                where.put(d.name(), InetSocketAddress.createUnresolved("127.0.0.1", p.address().getPort()));
            } catch (IOException e) {
                cannotStart.put(d.name(), "cannot start a local player: " + e.getMessage());
                where.put(d.name(), InetSocketAddress.createUnresolved("127.0.0.1", 0));
            }
        }
        log.accept(new Event.RunStarted(Instant.now(), "scenario " + b.name, 1, List.of(Phase.RUN, Phase.RESET),
                where.entrySet().stream().map(e -> new Event.WorkerInfo(e.getKey(), e.getValue().getHostString(),
                        e.getValue().getPort())).toList()));
        log.accept(new Event.TrialStarted(Instant.now(), trial));
        boolean lost = false;
        try (StepSession session = new StepSession(b.folder, b.settings, log, transcripts, trial, Phase.RUN,
                b.barriers, b.testers.keySet())) {
            log.accept(new Event.PhaseStarted(Instant.now(), trial, Phase.RUN, List.copyOf(b.testers.keySet())));
            // Connect everyone first: a tester whose player cannot be reached must not leave the others waiting.
            List<Thread> connecting = new ArrayList<>();
            Map<String, String> connectFailed = new java.util.concurrent.ConcurrentHashMap<>(cannotStart);
            for (var e : where.entrySet()) {
                if (cannotStart.containsKey(e.getKey())) {
                    continue;
                }
                connecting.add(Thread.ofVirtual().name("connect-" + e.getKey()).start(() -> {
                    try {
                        session.connect(e.getKey(), e.getValue().getHostString(), e.getValue().getPort());
                    } catch (LinkException ex) {
                        connectFailed.put(e.getKey(), ex.getMessage());
                    }
                }));
            }
            joinAll(connecting, b.settings.ioDeadline().multipliedBy(3).plusSeconds(5));
            for (var e : connectFailed.entrySet()) {
                log.accept(new Event.WorkerLost(Instant.now(), trial, Phase.RUN, e.getKey(), e.getValue()));
                session.gone(e.getKey(), "its player could not be reached");
                lost = true;
            }
            long end = System.nanoTime() + b.deadline.toNanos();
            Map<String, Thread> playing = new LinkedHashMap<>();
            for (Declared d : b.testers.values()) {
                if (connectFailed.containsKey(d.name())) {
                    continue;
                }
                Tester t = new Tester(d.name(), session, log, b.onFailure, runDir, trial, Phase.RUN);
                playing.put(d.name(), Thread.ofVirtual().name("tester-" + d.name()).start(() -> play(d, t, session, log)));
            }
            for (var e : playing.entrySet()) {
                long left = end - System.nanoTime();
                if (!join(e.getValue(), Math.max(0, left))) {
                    e.getValue().interrupt();
                    log.accept(new Event.WorkerLost(Instant.now(), trial, Phase.RUN, e.getKey(), "tester '" + e.getKey()
                            + "' was still playing its script when the scenario's deadline of "
                            + b.deadline.toSeconds() + " s passed; stopped"));
                    session.gone(e.getKey(), "the scenario's deadline passed");
                    lost = true;
                }
            }
            for (Thread t : playing.values()) {
                join(t, TimeUnit.SECONDS.toNanos(5));
            }
            for (String t : b.testers.keySet()) {
                lost |= session.lost(t).isPresent();
            }
            log.accept(new Event.PhaseFinished(Instant.now(), trial, Phase.RUN));
            log.accept(new Event.PhaseStarted(Instant.now(), trial, Phase.RESET, List.copyOf(b.testers.keySet())));
            session.reset();
            log.accept(new Event.PhaseFinished(Instant.now(), trial, Phase.RESET));
        }
        log.accept(new Event.TrialFinished(Instant.now(), trial));
        boolean failed = log.events().stream().anyMatch(e -> e instanceof Event.StepFinished f && f.failed());
        int code = lost ? Conductor.EXIT_PLAYER_LOST : failed ? Conductor.EXIT_STEP_FAILED : Conductor.EXIT_OK;
        log.accept(new Event.RunFinished(Instant.now(), code, false));
        return code;
    }

    /** Plays one tester's script; whatever ends it, the testers waiting for it at barriers are told. */
    private static void play(Declared d, Tester t, StepSession session, EventSink log) {
        String why = "it finished its script";
        try {
            d.script().play(t);
        } catch (Tester.Stop s) {
            why = "it stopped after a failed step (" + s.getMessage() + ")";
        } catch (InterruptedException e) {
            why = "it was interrupted";
        } catch (Exception | Error e) {
            why = "its script threw " + e;
            StackTraceElement at = firstUserFrame(e);
            t.scriptFailed("the script threw " + e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + (at == null ? "" : " at " + at));
        } finally {
            session.gone(d.name(), why);
            if (session.lost(d.name()).isEmpty()) {
                log.accept(new Event.WorkerFinished(Instant.now(), 1, Phase.RUN, d.name()));
            }
        }
    }

    private static StackTraceElement firstUserFrame(Throwable e) {
        for (StackTraceElement f : e.getStackTrace()) {
            if (!f.getClassName().startsWith("dev.conductor.") && !f.getClassName().startsWith("java.")) {
                return f;
            }
        }
        return e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
    }

    private static void joinAll(List<Thread> threads, Duration limit) {
        long end = System.nanoTime() + limit.toNanos();
        for (Thread t : threads) {
            join(t, Math.max(0, end - System.nanoTime()));
        }
    }

    private static boolean join(Thread t, long nanos) {
        try {
            return t.join(Duration.ofNanos(nanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A temporary folder; the system cleans it eventually.
        }
    }
}
