package dev.conductor.cli;

import ch.qos.logback.classic.Level;
import dev.conductor.config.ConfigException;
import dev.conductor.config.PlanLoader;
import dev.conductor.player.Player;
import dev.conductor.plan.Worker;
import dev.conductor.wire.Frames;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code player}: the daemon on each machine under test. */
@Command(name = "player", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        usageHelpAutoWidth = true,
        description = {"Serves conductors on the command port of a worker file and runs the steps they send.",
                "WARNING: plain text, no authentication: anyone who can reach the port can run commands as this user. "
                        + "Use on private lab networks only."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:stopped by SIGTERM/SIGINT", "2:bad usage, bad config, or the port cannot be bound"})
public final class PlayerCommand implements Callable<Integer> {
    @Option(names = {"-b", "--bind"}, paramLabel = "ADDR", description = "address to listen on (default: 'player' of the worker file's [Coordinator])")
    String bind;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "command port (default: 'cmdport' of the worker file)")
    Integer port;

    @Option(names = {"-v", "--verbose"}, description = "log every message and step (debug)")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "log warnings and errors only")
    boolean quiet;

    @Option(names = {"-l", "--log-file"}, paramLabel = "FILE", description = "log to FILE instead of stderr")
    Path logFile;

    @Option(names = "--max-message-size", paramLabel = "MB", converter = MegaBytes.class,
            description = "largest message accepted, in MB (default: the worker file's, else 10)")
    Long maxMessageSize;

    @Option(names = "--hold-first-step", defaultValue = "${env:CONDUCTOR_HOLD_FIRST_STEP:-false}",
            description = "v2: fork each phase's first command ahead and release it at the start instant with one write "
                    + "(an experiment for start alignment, off unless $CONDUCTOR_HOLD_FIRST_STEP is true; "
                    + "see docs/PERFORMANCE.md)")
    boolean holdFirstStep;

    /** How steps start: see {@code Launcher} in the player. */
    enum StepLauncher { stepstart, perl, jvm }

    @Option(names = "--step-launcher", paramLabel = "HOW", defaultValue = "${env:CONDUCTOR_STEP_LAUNCHER:-stepstart}",
            description = "how steps start: 'stepstart' (a small program of the jar's, started when the phase arrives, "
                    + "wakes at the start instant itself and becomes the step's shell; where the jar has none or it "
                    + "cannot run, as 'jvm'), 'jvm' (the JVM's spawn and setsid at the instant) or 'perl' (the player's "
                    + "launcher forks processes ahead that wake at the instant; needs /usr/bin/perl with Time::HiRes) "
                    + "(default: $CONDUCTOR_STEP_LAUNCHER, else stepstart; see docs/PERFORMANCE.md)")
    StepLauncher stepLauncher;

    @Option(names = "--start-priority", paramLabel = "PRIORITY", defaultValue = StartPriority.DEFAULT,
            description = StartPriority.DESCRIPTION)
    StartPriority startPriority;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "shared secret: only conductors that prove they hold it may run anything (v1 is then refused)")
    Path tokenFile;

    @picocli.CommandLine.ArgGroup(exclusive = false, heading = "%nMutual TLS (v2 only; plain connections are then refused):%n")
    TlsOptions tls;

    @Parameters(paramLabel = "config.cfg", description = "the worker file ([Coordinator] player, cmdport)")
    Path config;

    public static void main(String[] args) {
        System.exit(new CommandLine(new PlayerCommand()).execute(args));
    }

    @Override
    public Integer call() {
        Logging.configure(verbose ? Level.DEBUG : quiet ? Level.WARN : Level.INFO, logFile);
        String name = config.getFileName().toString().replaceFirst("\\.[^.]*$", "");
        Worker worker;
        try {
            worker = PlanLoader.loadWorker(name, config);
        } catch (ConfigException e) {
            System.err.println("player: " + e.getMessage());
            return 2;
        }
        String host = bind != null ? bind : worker.coordinator().player();
        int cmdport = port != null ? port : worker.coordinator().cmdport();
        if (cmdport < 0 || cmdport > 65535) {
            System.err.println("player: --port " + cmdport + " is not a port (0..65535)");
            return 2;
        }
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(InetAddress.getByName(host), cmdport);
        } catch (UnknownHostException e) {
            System.err.println("player: cannot listen on '" + host + "': unknown host");
            return 2;
        }
        long limit = maxMessageSize != null ? maxMessageSize
                : worker.coordinator().maxMessageSize().isPresent() ? worker.coordinator().maxMessageSize().getAsLong()
                : Frames.DEFAULT_LIMIT;
        Player.Options options = Player.Options.of(address, name).withMaxMessageSize(limit).withHoldFirstStep(holdFirstStep)
                .withRealtimeStart(startPriority == StartPriority.realtime).withStepLaunch(switch (stepLauncher) {
                    case stepstart -> Player.StepLaunch.STEPSTART;
                    case perl -> Player.StepLaunch.PERL;
                    case jvm -> Player.StepLaunch.JVM;
                });
        try {
            if (tokenFile != null) {
                options = options.withToken(dev.conductor.wire.Auth.readToken(tokenFile));
            }
            if (tls != null && tls.context().isPresent()) {
                options = options.withTls(tls.context().get());
            }
        } catch (IOException e) {
            System.err.println("player: " + e.getMessage());
            return 2;
        }
        Player player;
        try {
            player = Player.start(options);
        } catch (IOException e) {
            System.err.println("player: " + e.getMessage());
            return 2;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            player.close();
            stopped.countDown();
        }, "player-shutdown"));
        String notWarm = player.warmUp();
        if (notWarm != null) {
            System.err.println("player " + name + ": warm-up session failed (serving anyway): " + notWarm);
        }
        InetSocketAddress at = player.address();
        if (!at.getAddress().isLoopbackAddress() && tokenFile == null && tls == null) {
            System.err.println("player: WARNING: listening on " + at.getAddress().getHostAddress()
                    + " without authentication: anyone who can reach this port can run commands as "
                    + System.getProperty("user.name") + ". Use on private lab networks only.");
        }
        System.err.println("player " + name + ": listening on " + at.getAddress().getHostAddress() + ":" + at.getPort()
                + " (protocols " + (tokenFile != null || tls != null ? "v2 only" : "v1 and v2")
                + (tokenFile != null ? ", token required" : "") + (tls != null ? ", mutual TLS" : "")
                + ", max message " + limit + " bytes)");
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
