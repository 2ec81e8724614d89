package dev.conductor.player;

import dev.conductor.wire.FrameTooLargeException;
import dev.conductor.wire.Frames;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V1;
import dev.conductor.wire.V2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The player daemon: accepts conductors on its command port, runs the phases they send, and
 * reports every step back. Each connection is served on its own thread with a read deadline, so
 * a stalled or hostile peer never holds up another conductor. Closing the player kills every
 * process its steps started.
 */
public final class Player implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Player.class);

    /**
     * @param bind           address and port of the command port (port 0 picks a free one)
     * @param name           this player's name, for {@code CONDUCTOR_WORKER} when a conductor does not say
     * @param maxMessageSize largest frame accepted, in bytes
     * @param readDeadline   how long a connection may take to deliver its message
     * @param workDir        where steps run
     * @param holdFirstStep  v2: fork each phase's first command when the phase arrives and release it
     *                       at the start instant with one write (off by default: on one 2-CPU
     *                       machine it made the start spread larger, see docs/PERFORMANCE.md)
     * @param realtimeStart  v2: start each phase's first step from a thread of real-time priority
     *                       where the system allows it (see {@code StartGate}); on by default
     * @param stepLaunch     how steps start: through {@link StepStarter} by default (where this build
     *                       has it and it runs; else as {@link StepLaunch#JVM}), through the player's
     *                       launcher (see {@link Launcher}) where perl is there, or through the JVM and
     *                       setsid
     */
    public record Options(InetSocketAddress bind, String name, long maxMessageSize, Duration readDeadline,
                          Path workDir, Optional<byte[]> token, Optional<javax.net.ssl.SSLContext> tls,
                          boolean holdFirstStep, boolean realtimeStart, StepLaunch stepLaunch) {
        public Options(InetSocketAddress bind, String name, long maxMessageSize, Duration readDeadline, Path workDir) {
            this(bind, name, maxMessageSize, readDeadline, workDir, Optional.empty(), Optional.empty(), false, true, StepLaunch.STEPSTART);
        }

        public Options(InetSocketAddress bind, String name, long maxMessageSize, Duration readDeadline, Path workDir,
                       Optional<byte[]> token, Optional<javax.net.ssl.SSLContext> tls) {
            this(bind, name, maxMessageSize, readDeadline, workDir, token, tls, false, true, StepLaunch.STEPSTART);
        }

        public Options withStepLaunch(StepLaunch how) {
            return new Options(bind, name, maxMessageSize, readDeadline, workDir, token, tls, holdFirstStep, realtimeStart, how);
        }

        public Options withHoldFirstStep(boolean hold) {
            return new Options(bind, name, maxMessageSize, readDeadline, workDir, token, tls, hold, realtimeStart, stepLaunch);
        }

        public Options withRealtimeStart(boolean realtime) {
            return new Options(bind, name, maxMessageSize, readDeadline, workDir, token, tls, holdFirstStep, realtime, stepLaunch);
        }

        public static Options of(InetSocketAddress bind, String name) {
            return new Options(bind, name, Frames.DEFAULT_LIMIT, Duration.ofSeconds(10), Path.of("").toAbsolutePath());
        }

        public Options withMaxMessageSize(long bytes) {
            return new Options(bind, name, bytes, readDeadline, workDir, token, tls, holdFirstStep, realtimeStart, stepLaunch);
        }

        /** Only conductors that know this shared secret may run anything (v1 is then refused). */
        public Options withToken(byte[] secret) {
            return new Options(bind, name, maxMessageSize, readDeadline, workDir, Optional.of(secret.clone()), tls, holdFirstStep, realtimeStart, stepLaunch);
        }

        /** Accept v2 over TLS (the first byte tells TLS from plain frames on the same port). */
        public Options withTls(javax.net.ssl.SSLContext context) {
            return new Options(bind, name, maxMessageSize, readDeadline, workDir, token, Optional.of(context), holdFirstStep, realtimeStart, stepLaunch);
        }
    }

    /** How a player starts its steps (see {@link Options#stepLaunch}). */
    public enum StepLaunch { STEPSTART, PERL, JVM }

    /** The player's version, sent in v2's {@code welcome}. */
    public static final String VERSION = "0.1.0";

    private final Options options;
    private final ServerSocket server;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    /** Phases run one after another, in the order their {@code run} arrived. */
    private final ExecutorService runner;
    private final ResultSender results;
    private final StepRunner steps;
    private final Object lock = new Object();
    private final List<PhaseOrder> pending = new ArrayList<>();
    private final Set<Long> groups = new HashSet<>();
    private volatile boolean closed;
    private final Thread acceptor;
    private final dev.conductor.clock.PreciseClock clock = new dev.conductor.clock.PreciseClock();
    private final Set<V2Session> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Signals the steps' groups, and starts the steps where {@link Options#stepLaunch} says; null without perl. */
    private final Launcher launcher;
    /** Starts the steps where {@link Options#stepLaunch} says so and it works here; null: the launcher or the JVM. */
    private final StepStarter starter;

    private Player(Options options, ServerSocket server, Launcher launcher, StepStarter starter) {
        this.options = options;
        this.starter = starter;
        this.server = server;
        this.launcher = launcher;
        this.runner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("player-runner-" + options.name()).daemon().unstarted(r));
        this.results = new ResultSender(options.maxMessageSize());
        this.steps = new StepRunner(options.workDir(), pgid -> {
            synchronized (lock) {
                groups.add(pgid);
            }
        }, clock, launcher, starter);
        this.acceptor = Thread.ofPlatform().name("player-accept-" + options.name()).daemon().unstarted(this::acceptLoop);
    }

    /**
     * Binds the command port and starts serving.
     *
     * @throws IOException with a message that names the address when it cannot be bound
     */
    public static Player start(Options options) throws IOException {
        // With a channel behind it: a get's data frames are written from native memory (FileTransfer).
        ServerSocket server = java.nio.channels.ServerSocketChannel.open().socket();
        try {
            // No SO_REUSEPORT: two players must never share a port (the reference allowed it
            // and then silently split connections between them).
            server.setReuseAddress(true);
            server.bind(options.bind(), 128);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + hostPort(options.bind()) + ": " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().contains("in use") ? " (is another player running there?)" : ""), e);
        }
        // Started whichever way steps start: it also signals process groups, and kills what is
        // left of them if this JVM dies.
        Path folder = options.workDir() != null ? options.workDir() : Path.of("").toAbsolutePath();
        boolean perl = options.stepLaunch() == StepLaunch.PERL;
        Launcher launcher = Launcher.start(folder, ProcessGroups.LARGE_PIPE, perl ? Launcher.SPARES : 0,
                options.realtimeStart()).orElse(null);
        StepStarter starter = options.stepLaunch() == StepLaunch.STEPSTART
                ? StepStarter.find(options.realtimeStart()).orElse(null) : null;
        Player p = new Player(options, server, launcher, starter);
        if (options.realtimeStart()) {
            VmThread.raise();
        }
        p.acceptor.start();
        return p;
    }

    /**
     * The JVM's VM thread, which runs the garbage collector while every Java thread waits, gets
     * real-time priority as the start's threads have: a session's reader or a start gate caught
     * by a collection waits for it to end, and at normal priority, on a machine shared by many
     * players, that took milliseconds (docs/PERFORMANCE.md). A young collection of a player's
     * small heap takes a millisecond or less of CPU.
     */
    private static final class VmThread {
        /** How it runs: raised once per JVM, however many players the JVM serves (conduct --local, tests). */
        private static final String PRIORITY = raiseIt();

        static void raise() {
            log.debug("the JVM's VM thread: {}", PRIORITY);
        }

        private static String raiseIt() {
            try (var tasks = java.nio.file.Files.list(Path.of("/proc/self/task"))) {
                for (Path t : tasks.toList()) {
                    if ("VM Thread".equals(dev.conductor.fixture.ProcFiles.read(t.resolve("comm")).strip())) {
                        return dev.conductor.clock.RealtimeGate.raiseProcess(Long.parseLong(t.getFileName().toString()),
                                "the JVM's VM thread (garbage collection)");
                    }
                }
                return "normal (no VM Thread in /proc/self/task)";
            } catch (IOException | RuntimeException e) {
                return "normal (cannot find the JVM's VM thread: " + e + ")";
            }
        }
    }

    /**
     * Serves one short session to itself, so that the first real conductor does not pay for
     * loading and interpreting the player's code (see {@link WarmUp}).
     *
     * @return null when it went through, else why not (the player works either way)
     */
    public String warmUp() {
        ProcessGroups.tryLargePipes(); // once, now, rather than at the first spawned step's start instant
        return WarmUp.run(this, options, clock);
    }

    /** Where the command port really listens (the port is resolved when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                connections.execute(() -> serve(s));
            } catch (IOException e) {
                if (!closed) {
                    log.warn("accept on {} failed: {}", hostPort(address()), e.getMessage());
                }
            }
        }
    }

    private void serve(Socket accepted) {
        String peer = hostPort((InetSocketAddress) accepted.getRemoteSocketAddress());
        try {
            Socket socket = accepted;
            socket.setSoTimeout((int) options.readDeadline().toMillis());
            socket.setTcpNoDelay(true);
            if (options.tls().isPresent()) {
                Socket secured = secure(socket, peer);
                if (secured == null) {
                    return;
                }
                socket = secured;
            }
            OutputStream out = socket.getOutputStream();
            byte[] body;
            try {
                body = Frames.read(socket.getInputStream(), options.maxMessageSize());
            } catch (FrameTooLargeException e) {
                log.warn("{}: {}", peer, e.getMessage());
                Frames.write(out, V1.result(V1.ERROR, e.getMessage()));
                return;
            }
            if (body == null) {
                return;
            }
            if (V2.versionOf(body) == V2.VERSION) {
                serveV2(socket, peer, body);
                return;
            }
            if (options.token().isPresent()) {
                log.warn("{}: refused a v1 message: this player requires an authenticated v2 conductor", peer);
                Frames.write(out, V1.result(V1.ERROR, "this player requires authentication: use a v2 conductor with the shared token"));
                return;
            }
            byte[] reply = handle(peer, body);
            if (reply != null) {
                Frames.write(out, reply);
            }
        } catch (SocketTimeoutException e) {
            log.warn("{}: no complete message within {} ms; connection closed", peer, options.readDeadline().toMillis());
        } catch (EOFException e) {
            log.warn("{}: {}", peer, e.getMessage());
        } catch (IOException e) {
            log.debug("{}: {}", peer, e.getMessage());
        } finally {
            // A FIN after our last reply, then closed (see Sockets).
            dev.conductor.wire.Sockets.close(accepted);
        }
    }

    /**
     * With TLS configured, every connection must be TLS (the first byte of a TLS handshake is
     * 0x16; a frame's is a length byte) and present a certificate from our CA.
     *
     * @return the TLS socket, or null when the peer was refused (and told why)
     */
    private Socket secure(Socket socket, String peer) throws IOException {
        int first = socket.getInputStream().read();
        if (first < 0) {
            return null;
        }
        if (first != 0x16) {
            log.warn("{}: refused a plain-text connection: this player requires TLS", peer);
            Frames.write(socket.getOutputStream(), V1.result(V1.ERROR,
                    "this player requires TLS: use a v2 conductor with --tls-cert, --tls-key and --tls-ca"));
            return null;
        }
        javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) options.tls().get().getSocketFactory()
                .createSocket(socket, new java.io.ByteArrayInputStream(new byte[]{(byte) first}), true);
        tls.setNeedClientAuth(true);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            log.warn("{}: refused: TLS handshake failed: {}", peer, e.getMessage());
            return null;
        }
        return tls;
    }

    private void serveV2(Socket socket, String peer, byte[] first) throws IOException {
        V2.Message hello;
        try {
            hello = V2.decode(first);
        } catch (ProtocolException e) {
            Frames.write(socket.getOutputStream(), V2.encode(V2.ERROR, errorData(e.getMessage())));
            return;
        }
        if (!V2.HELLO.equals(hello.type())) {
            // Outside a session a v2 message is answered as the reference answers it, so tools
            // that probe players the old way see the same bytes.
            log.warn("{}: a v2 '{}' outside a session (a v2 session begins with 'hello')", peer, hello.type());
            Frames.write(socket.getOutputStream(), V1.result(V1.ERROR, "Unsupported protocol version: 2"));
            return;
        }
        V2Session session = new V2Session(socket, peer, options, clock, launcher, starter, new V2Session.Leftovers() {
            @Override
            public void adopt(Set<Long> adopted) {
                synchronized (lock) {
                    groups.addAll(adopted);
                }
            }

            @Override
            public void killAll(String why) {
                killLeftovers(why);
            }
        });
        sessions.add(session);
        try {
            if (!closed) {
                log.info("{}: v2 session opened by {}", peer, hello.data().path("conductor").asText("?"));
                // A platform thread of its own, not this virtual one: a 'run' read by a virtual
                // thread waits for the poller and then for a carrier thread, two more wake-ups
                // at normal priority before the start reaches the gate (see RealtimeGate).
                Thread reader = Thread.ofPlatform().daemon().name("v2-session-" + peer).start(() -> session.serve(hello));
                try {
                    // Bounded by the session itself: it ends when its conductor goes silent.
                    reader.join();
                } catch (InterruptedException e) {
                    // The player is shutting down (which ends the session too).
                    session.shutdown();
                    try {
                        if (!reader.join(java.time.Duration.ofSeconds(10))) {
                            log.warn("{}: the v2 session did not end within 10 s of the shutdown", peer);
                        }
                    } catch (InterruptedException again) {
                        // Going anyway.
                    }
                    Thread.currentThread().interrupt();
                }
            }
        } finally {
            sessions.remove(session);
        }
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode errorData(String message) {
        var d = dev.conductor.wire.Json.object();
        d.put("message", message);
        return d;
    }

    /** Handles one message; the reply to send, or null for none (as {@code run} has none). */
    private byte[] handle(String peer, byte[] body) {
        V1.Message message;
        try {
            message = V1.decode(body);
        } catch (ProtocolException e) {
            log.warn("{}: refused message: {}", peer, e.getMessage());
            return V1.result(e.code(), e.getMessage());
        }
        switch (message.type()) {
            case V1.PHASE -> {
                PhaseOrder order;
                try {
                    order = PhaseOrder.fromData(message.data());
                } catch (ProtocolException e) {
                    log.warn("{}: refused phase: {}", peer, e.getMessage());
                    return V1.result(e.code(), e.getMessage());
                }
                synchronized (lock) {
                    pending.add(order);
                }
                log.info("{}: phase {} received ({} steps)", peer, order.phase().orElse("?"), order.steps().size());
                return V1.result(V1.OK, "phase received");
            }
            case V1.RUN -> {
                List<PhaseOrder> orders;
                synchronized (lock) {
                    orders = List.copyOf(pending);
                    pending.clear();
                }
                log.info("{}: run ({} phase(s))", peer, orders.size());
                if (!closed) {
                    runner.execute(() -> runPhases(orders));
                }
                return null;
            }
            default -> {
                log.warn("{}: unknown message type '{}'", peer, message.type());
                return V1.result(V1.UNKNOWN_COMMAND, "no such command");
            }
        }
    }

    private void runPhases(List<PhaseOrder> orders) {
        PhaseOrder last = null;
        for (int i = 0; i < orders.size(); i++) {
            PhaseOrder order = orders.get(i);
            runPhase(order);
            last = order;
            if (i < orders.size() - 1 && isReset(order)) {
                killLeftovers("the trial's Reset phase finished");
            }
        }
        if (last != null) {
            // Taken before "phases complete", killed after it: reading /proc for the groups'
            // members would otherwise delay every player's answer, and the next phase runs on
            // this thread, after the kill, so none of its processes can be among them.
            Set<Long> leftOfTrial = isReset(last) ? takeGroups() : Set.of();
            results.send(last.resultHost(), last.resultPort(), new StepResult(V1.PHASE_DONE, "phases complete", Optional.empty()));
            killLeftovers(leftOfTrial, "the trial's Reset phase finished");
        }
    }

    private static boolean isReset(PhaseOrder order) {
        return order.phase().filter("reset"::equals).isPresent();
    }

    private void runPhase(PhaseOrder order) {
        Map<String, String> env = environment(order, options.name());
        String failedAt = null;
        List<PhaseOrder.StepSpec> list = order.steps();
        for (int i = 0; i < list.size(); i++) {
            PhaseOrder.StepSpec step = list.get(i);
            StepResult result;
            if (closed) {
                result = skipped(i, step, "the player is shutting down");
            } else if (failedAt != null) {
                result = skipped(i, step, failedAt + " failed earlier in this phase");
            } else if (!step.isCommand()) {
                // Never run a coordination step's text as a shell command.
                result = new StepResult(V1.ERROR, "a '" + step.kind() + "' step needs protocol v2", Optional.empty());
                failedAt = "step " + (i + 1) + " (" + step.command() + ")";
            } else {
                result = steps.run(i, step, env);
                boolean failed = result.code() != V1.OK;
                if (failed && !order.continueOnFailure()) {
                    failedAt = "step " + (i + 1) + " (" + step.command() + ")";
                }
            }
            log.info("step {} of {}: code {}: {}", i + 1, order.phase().orElse("phase"), result.code(), step.command());
            results.send(order.resultHost(), order.resultPort(), result);
        }
    }

    /** What every step of a phase sees: CONDUCTOR_TRIAL, CONDUCTOR_PHASE, CONDUCTOR_WORKER. */
    static Map<String, String> environment(PhaseOrder order, String playerName) {
        return Map.of("CONDUCTOR_TRIAL", order.trial().map(String::valueOf).orElse(""),
                "CONDUCTOR_PHASE", order.phase().orElse(""),
                "CONDUCTOR_WORKER", order.worker().orElse(playerName));
    }

    static StepResult skipped(int index, PhaseOrder.StepSpec step, String why) {
        return new StepResult(V1.ERROR, "skipped: " + why, Optional.of(new StepResult.Details(index,
                StepResult.Status.SKIPPED, step.command(), java.time.Instant.now(), Duration.ZERO, "", "", 0, 0)));
    }

    /** Held while leftovers are taken and killed, so that no caller returns while another's kill is still under way. */
    private final Object killing = new Object();

    /** Kills every process group a step of ours started that still has a live member. */
    private void killLeftovers(String why) {
        synchronized (killing) {
            killLeftovers(takeGroups(), why);
        }
    }

    private Set<Long> takeGroups() {
        synchronized (lock) {
            Set<Long> ours = new HashSet<>(groups);
            groups.clear();
            return ours;
        }
    }

    private void killLeftovers(Set<Long> ours, String why) {
        synchronized (killing) {
            Set<Long> killed = ProcessGroups.killLive(ours, launcher);
            if (!killed.isEmpty()) {
                log.info("{}: killed {} process group(s) left running: {}", why, killed.size(), killed);
            }
        }
    }

    /**
     * Kills every process the player's steps started, now, without waiting for anything: for a
     * process that must exit at once (a second Ctrl-C) and still leave nothing behind.
     */
    public void killNow() {
        closed = true;
        steps.close();
        sessions.forEach(V2Session::shutdown);
        killLeftovers("the player is being stopped at once");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            log.debug("closing command port: {}", e.getMessage());
        }
        steps.close();
        runner.shutdownNow();
        sessions.forEach(V2Session::shutdown);
        connections.shutdownNow();
        killLeftovers("the player is shutting down");
        try {
            runner.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // A step that was starting while we closed may have registered its group late.
        killLeftovers("the player is shutting down");
        if (launcher != null) {
            launcher.close();
        }
    }

    static String hostPort(InetSocketAddress a) {
        if (a == null) {
            return "?";
        }
        return (a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString()) + ":" + a.getPort();
    }
}
