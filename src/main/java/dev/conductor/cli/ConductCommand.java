package dev.conductor.cli;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.conduct.Conductor;
import dev.conductor.config.ConfigException;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.conduct.Transcripts;
import dev.conductor.events.EventJsonl;
import dev.conductor.events.EventLog;
import dev.conductor.events.EventSink;
import dev.conductor.player.Player;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.plan.TestPlan;
import dev.conductor.plan.Worker;
import dev.conductor.report.JUnitReport;
import dev.conductor.report.JsonReport;
import dev.conductor.report.SequenceChart;
import dev.conductor.report.TapReport;
import dev.conductor.report.TerminalProgress;
import dev.conductor.report.TextReport;
import dev.conductor.report.Verbosity;
import dev.conductor.wire.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code conduct}: runs a test file's trials on its workers' players. */
@Command(name = "conduct", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        usageHelpAutoWidth = true,
        description = "Runs the trials of a test file: every phase (Startup, Run, Collect, Reset) on every worker's player.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every step passed", "1:a step failed (non-zero exit or timeout)",
                "2:bad usage or bad config", "3:a player could not be reached or was lost",
                "130:interrupted (Ctrl-C); Reset was still run"})
public final class ConductCommand implements Callable<Integer> {
    @Option(names = {"-t", "--trials"}, paramLabel = "N", description = "number of trials (default: [Test] trials, else 1)")
    Integer trials;

    @Option(names = {"-p", "--phases", "--phase"}, paramLabel = "PHASE", split = ",", arity = "1..*",
            parameterConsumer = LeaveTestFile.class,
            description = "run only these phases: startup, run, collect, reset (in that order)")
    List<String> phases;

    @Option(names = {"-c", "--workers", "--clients"}, paramLabel = "NAME", split = ",", arity = "1..*",
            parameterConsumer = LeaveTestFile.class,
            description = "run only these workers (names from [Workers])")
    List<String> workers;

    @Option(names = "--dry-run", description = "print the plan and exit without contacting any player")
    boolean dryRun;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "report format: text, json, tap (TAP 14), tap13 (the same for prove before Test::Harness 3.48), junit (JUnit XML) (default: [Test] format, else text)")
    String format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "write the report to FILE (default: [Test] output, else stdout)")
    Path output;

    @Option(names = "--max-message-size", paramLabel = "MB", converter = MegaBytes.class,
            description = "largest message accepted, in MB (default: the config's, else 10)")
    Long maxMessageSize;

    @Option(names = "--phase-timeout", paramLabel = "SECONDS",
            description = "deadline of every phase (default: the sum of its steps' limits + 10 s)")
    Integer phaseTimeout;

    @Option(names = "--protocol", paramLabel = "VERSION",
            description = "2 (default): offer v2 and fall back to v1 for players that only speak v1; 1: v1 only")
    int protocol = 2;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "shared secret: players must prove they hold it and so do we (v2 only; v1 players are refused)")
    Path tokenFile;

    @picocli.CommandLine.ArgGroup(exclusive = false, heading = "%nMutual TLS (v2 only):%n")
    TlsOptions tls;

    @Option(names = "--results", paramLabel = "DIR",
            description = "folder for each run's event log, transcripts and reports (default: results)")
    Path resultsRoot = Path.of("results");

    @Option(names = "--start-priority", paramLabel = "PRIORITY", defaultValue = StartPriority.DEFAULT,
            description = StartPriority.DESCRIPTION)
    StartPriority startPriority;

    @Option(names = "--local", description = "start a player in this process for every worker whose player address is loopback")
    boolean local;

    @Option(names = {"-v", "--verbose"}, description = "show all output of every step, and log more")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "show only failures and the summary")
    boolean quiet;

    @Parameters(paramLabel = "test.cfg", description = "the test file ([Test], [Workers])")
    Path testFile;

    /**
     * Lets {@code -p run collect test.cfg} work as users of the reference type it: the list takes
     * values up to the next option, but never the last argument while the test file is still
     * missing.
     */
    static final class LeaveTestFile implements CommandLine.IParameterConsumer {
        @Override
        public void consumeParameters(java.util.Stack<String> args, CommandLine.Model.ArgSpec argSpec,
                                      CommandLine.Model.CommandSpec commandSpec) {
            boolean needTestFile = ((ConductCommand) commandSpec.userObject()).testFile == null;
            List<String> values = new ArrayList<>();
            while (!args.isEmpty() && !args.peek().startsWith("-") && !(needTestFile && args.size() == 1 && !values.isEmpty())) {
                for (String v : args.pop().split(",")) {
                    if (!v.isBlank()) {
                        values.add(v.strip());
                    }
                }
            }
            if (values.isEmpty()) {
                throw new CommandLine.ParameterException(commandSpec.commandLine(),
                        "option '" + argSpec.paramLabel() + "' needs at least one value");
            }
            @SuppressWarnings("unchecked")
            List<String> target = (List<String>) argSpec.getValue();
            List<String> merged = new ArrayList<>(target == null ? List.of() : target);
            merged.addAll(values);
            argSpec.setValue(merged);
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ConductCommand()).execute(args));
    }

    @Override
    public Integer call() {
        Logging.configure(verbose ? Level.INFO : Level.WARN, null);
        TestPlan plan;
        try {
            plan = PlanLoader.load(testFile);
        } catch (ConfigException e) {
            System.err.println("conduct: " + e.getMessage());
            return Conductor.EXIT_USAGE;
        }
        Optional<Usage> usage = usage(plan);
        if (usage.isEmpty()) {
            return Conductor.EXIT_USAGE;
        }
        Usage u = usage.get();
        if (dryRun) {
            printPlan(plan, u);
            return Conductor.EXIT_OK;
        }
        List<Player> localPlayers = new ArrayList<>();
        try {
            if (local && !startLocalPlayers(plan, u, localPlayers)) {
                return Conductor.EXIT_USAGE;
            }
            return conduct(plan, u, () -> localPlayers.forEach(Player::killNow));
        } finally {
            localPlayers.forEach(Player::close);
        }
    }

    /** The command line and the config, merged and checked. */
    private record Usage(String format, Optional<Path> output, Conductor.Options options) {
    }

    private Optional<Usage> usage(TestPlan plan) {
        String fmt = (format != null ? format : plan.format().orElse("text")).toLowerCase(Locale.ROOT);
        if (!List.of("text", "json", "tap", "tap13", "junit").contains(fmt)) {
            System.err.println("conduct: unknown format '" + fmt + "' (expected text, json, tap, tap13 or junit)");
            return Optional.empty();
        }
        int n = trials != null ? trials : plan.trials();
        if (n < 1) {
            System.err.println("conduct: --trials must be at least 1, got " + n);
            return Optional.empty();
        }
        List<Phase> selected = List.of(Phase.values());
        if (phases != null) {
            EnumSet<Phase> set = EnumSet.noneOf(Phase.class);
            for (String p : phases) {
                Optional<Phase> phase = Phase.parse(p);
                if (phase.isEmpty()) {
                    System.err.println("conduct: unknown phase '" + p + "' (expected startup, run, collect, reset)");
                    return Optional.empty();
                }
                set.add(phase.get());
            }
            selected = List.copyOf(set);
        }
        List<String> names = plan.workers().stream().map(Worker::name).toList();
        List<String> chosen = List.of();
        if (workers != null) {
            for (String w : workers) {
                if (!names.contains(w.toLowerCase(Locale.ROOT)) && !names.contains(w)) {
                    System.err.println("conduct: no worker '" + w + "' in " + testFile + " (workers: " + String.join(", ", names) + ")");
                    return Optional.empty();
                }
            }
            chosen = workers.stream().map(w -> names.contains(w) ? w : w.toLowerCase(Locale.ROOT)).toList();
        }
        if (protocol != 1 && protocol != 2) {
            System.err.println("conduct: --protocol must be 1 or 2, got " + protocol);
            return Optional.empty();
        }
        if (phaseTimeout != null && phaseTimeout < 1) {
            System.err.println("conduct: --phase-timeout must be at least 1 second, got " + phaseTimeout);
            return Optional.empty();
        }
        Optional<Path> out = output != null ? Optional.of(output) : plan.output();
        Conductor.Options options = new Conductor.Options(n, selected, chosen,
                Optional.ofNullable(phaseTimeout).map(Duration::ofSeconds),
                Optional.ofNullable(maxMessageSize).or(plan::maxMessageSize), Duration.ofSeconds(5))
                .withMaxProtocol(protocol).withRealtimeRelease(startPriority != StartPriority.normal);
        try {
            if (tokenFile != null) {
                options = options.withToken(dev.conductor.wire.Auth.readToken(tokenFile));
            }
            if (tls != null) {
                Optional<javax.net.ssl.SSLContext> ctx = tls.context();
                if (ctx.isPresent()) {
                    options = options.withTls(ctx.get());
                }
            }
        } catch (IOException e) {
            System.err.println("conduct: " + e.getMessage());
            return Optional.empty();
        }
        return Optional.of(new Usage(fmt, out, options));
    }

    private int conduct(TestPlan plan, Usage u, Runnable killLocalPlayers) {
        boolean json = !u.format().equals("text"); // json, tap, junit: a report for programs
        // Live text on stdout unless stdout carries such a report itself.
        boolean liveOnStdout = !(json && u.output().isEmpty());
        Verbosity verbosity = verbose ? Verbosity.VERBOSE : quiet ? Verbosity.QUIET : Verbosity.NORMAL;
        Path runDir = dev.conductor.report.RunFolder.next(resultsRoot);
        EventJsonl jsonl;
        try {
            jsonl = new EventJsonl(runDir.resolve("events.jsonl"));
        } catch (IOException e) {
            System.err.println("conduct: cannot create the results folder " + runDir + ": " + e.getMessage()
                    + " (choose another with --results DIR)");
            return Conductor.EXIT_USAGE;
        }
        List<EventSink> sinks = new ArrayList<>();
        sinks.add(jsonl);
        EventSink live = liveOnStdout ? new TextReport(System.out, verbosity) : event -> {
        };
        sinks.add(TerminalProgress.isTerminal(2) && (!liveOnStdout || TerminalProgress.isTerminal(1))
                ? new TerminalProgress(live, System.err) : live);
        ByteArrayOutputStream textCopy = new ByteArrayOutputStream();
        sinks.add(new TextReport(new PrintStream(textCopy, true, StandardCharsets.UTF_8), Verbosity.NORMAL));
        EventLog log = new EventLog(sinks);
        int code;
        try (jsonl; Transcripts transcripts = Transcripts.in(runDir)) {
            Conductor conductor = new Conductor(plan, u.options(), log, transcripts);
            CountDownLatch done = new CountDownLatch(1);
            Interrupts interrupts = Interrupts.install(conductor, done, killLocalPlayers);
            try {
                code = conductor.run();
            } finally {
                done.countDown();
                interrupts.uninstall();
            }
        }
        code = Math.max(code, saveRunFolder(runDir, log, textCopy));
        code = Math.max(code, writeReport(u, json, log, textCopy));
        System.err.println("conduct: event log, transcripts and reports in " + runDir);
        return code;
    }

    /** report.json, report.txt and the sequence chart beside the event log, whatever was asked on the command line. */
    private static int saveRunFolder(Path runDir, EventLog log, ByteArrayOutputStream textCopy) {
        try {
            dev.conductor.report.RunFolder.writeReports(runDir, log.events(), textCopy.toByteArray());
            return 0;
        } catch (IOException e) {
            System.err.println("conduct: cannot write the reports into " + runDir + ": " + e.getMessage());
            return Conductor.EXIT_USAGE;
        }
    }

    private int writeReport(Usage u, boolean json, EventLog log, ByteArrayOutputStream textCopy) {
        byte[] bytes;
        if (u.format().equals("tap") || u.format().equals("tap13")) {
            bytes = TapReport.render(log.events(), u.format().equals("tap") ? 14 : 13).getBytes(StandardCharsets.UTF_8);
        } else if (u.format().equals("junit")) {
            bytes = JUnitReport.render(log.events()).getBytes(StandardCharsets.UTF_8);
        } else if (json) {
            ObjectNode report = JsonReport.render(log.events());
            try {
                bytes = (Json.MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report) + "\n")
                        .getBytes(StandardCharsets.UTF_8);
            } catch (IOException e) {
                System.err.println("conduct: cannot render the JSON report: " + e.getMessage());
                return Conductor.EXIT_USAGE;
            }
        } else {
            bytes = textCopy.toByteArray();
        }
        if (u.output().isEmpty()) {
            if (json) {
                System.out.write(bytes, 0, bytes.length);
                System.out.flush();
            }
            return 0;
        }
        Path file = u.output().get();
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.write(file, bytes);
            System.err.println("conduct: report written to " + file);
            return 0;
        } catch (IOException e) {
            System.err.println("conduct: cannot write the report to " + file + ": " + e.getMessage());
            if (json) {
                // The results are not lost: they go to stdout instead.
                System.out.write(bytes, 0, bytes.length);
                System.out.flush();
            }
            return Conductor.EXIT_USAGE;
        }
    }

    private boolean startLocalPlayers(TestPlan plan, Usage u, List<Player> started) {
        for (Worker w : plan.workers()) {
            if (!u.options().workers().isEmpty() && !u.options().workers().contains(w.name())) {
                continue;
            }
            InetAddress addr;
            try {
                addr = InetAddress.getByName(w.coordinator().player());
            } catch (UnknownHostException e) {
                continue;
            }
            if (!addr.isLoopbackAddress()) {
                continue;
            }
            try {
                Player.Options o = Player.Options.of(new InetSocketAddress(addr, w.coordinator().cmdport()), w.name());
                long limit = u.options().maxMessageSize().orElse(dev.conductor.wire.Frames.DEFAULT_LIMIT);
                started.add(Player.start(o.withMaxMessageSize(limit)));
            } catch (IOException e) {
                System.err.println("conduct: --local: cannot start a player for worker '" + w.name() + "': "
                        + e.getMessage() + "; if a player already serves it, run without --local");
                return false;
            }
        }
        return true;
    }

    private void printPlan(TestPlan plan, Usage u) {
        Conductor.Options o = u.options();
        List<Worker> ws = plan.workers().stream()
                .filter(w -> o.workers().isEmpty() || o.workers().contains(w.name())).toList();
        if (u.format().equals("json")) {
            ObjectNode root = Json.object();
            root.put("test_file", plan.testFile().toString());
            root.put("trials", o.trials());
            root.put("on_failure", plan.onFailure().name().toLowerCase(Locale.ROOT));
            ArrayNode phaseList = root.putArray("phases");
            o.phases().forEach(p -> phaseList.add(p.key()));
            ObjectNode wn = root.putObject("workers");
            for (Worker w : ws) {
                ObjectNode n = wn.putObject(w.name());
                n.put("file", w.file().toString());
                n.put("player", w.coordinator().player());
                n.put("cmdport", w.coordinator().cmdport());
                n.put("conductor", w.coordinator().conductor());
                n.put("resultsport", w.coordinator().resultsport());
                ObjectNode ph = n.putObject("phases");
                for (Phase p : o.phases()) {
                    ObjectNode pn = ph.putObject(p.key());
                    pn.put("deadline_s", Conductor.deadline(w, p, o.phaseDeadline()).toSeconds());
                    ArrayNode steps = pn.putArray("steps");
                    for (Step s : w.steps(p)) {
                        Step c = s;
                        steps.addObject().put("key", c.key()).put("line", c.line()).put("command", c.text())
                                .put("mode", c.mode().key()).put("limit_s", c.limit().toSeconds());
                    }
                }
            }
            try {
                System.out.println(Json.MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return;
        }
        PrintStream out = System.out;
        out.println("test " + plan.testFile() + ": " + o.trials() + " trial(s), phases "
                + String.join(", ", o.phases().stream().map(Phase::key).toList()) + ", on_failure "
                + plan.onFailure().name().toLowerCase(Locale.ROOT));
        for (Worker w : ws) {
            var c = w.coordinator();
            out.println("worker " + w.name() + " (" + w.file() + "): player " + c.player() + ":" + c.cmdport()
                    + ", results to " + c.conductor() + ":" + c.resultsport());
            for (Phase p : o.phases()) {
                List<Step> steps = w.steps(p);
                out.println("  " + p.section() + " (" + steps.size() + " step(s), deadline "
                        + Conductor.deadline(w, p, o.phaseDeadline()).toSeconds() + " s)");
                for (Step s : steps) {
                    Step cmd = s;
                    String limit = cmd.mode() == Step.Mode.SPAWN ? "background"
                            : "limit " + java.math.BigDecimal.valueOf(cmd.limit().toMillis(), 3).stripTrailingZeros().toPlainString() + " s";
                    out.printf("    %-10s %-9s %-14s %s%n", cmd.key(), cmd.mode().key(), limit, cmd.text());
                }
            }
        }
    }
}
