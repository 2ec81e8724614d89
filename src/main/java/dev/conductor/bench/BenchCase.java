package dev.conductor.bench;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.ConfigException;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * One case of the benchmark: N players of one kind, K measured trials. Starts the players, waits
 * until they are idle, reads their memory, lets each meet the conductor once, runs the conductor
 * in this JVM for the warm-up and measured trials, reads their memory again, and stops them.
 *
 * @param players  how many
 * @param mode     each in its own JVM, or as threads of this one
 * @param javaOpts options of the player JVMs
 * @param trials   measured trials
 * @param protocol the highest protocol the conductor offers: 2 (the default of {@code conduct}), or 1
 */
record BenchCase(int players, PlayerFleet.Mode mode, List<String> javaOpts, int trials, int protocol) {
    /** Cold players that first meet the conductor together; see {@link #firstContact}. */
    private static final int FIRST_CONTACT_GROUP = 8;
    private static final Duration IDLE_DEADLINE = Duration.ofSeconds(60);
    private static final Duration IDLE_WINDOW = Duration.ofMillis(500);

    /**
     * How every case runs.
     *
     * @param warmup         trials run before the measured ones and not measured
     * @param ioDeadline     the conductor's limit for each exchange with a player
     * @param startingAtOnce player JVMs started at the same time
     * @param startDeadline  how long all players may take to listen
     * @param settle         how long idle players are left alone before their memory is read
     * @param keep           keep the generated files
     */
    record Settings(int warmup, Duration ioDeadline, int startingAtOnce, Duration startDeadline, Duration settle,
                    boolean keep, PrintStream progress) {
    }

    String describe() {
        return players + " player(s), v" + protocol + ", " + mode.label()
                + (javaOpts.isEmpty() ? "" : " " + String.join(" ", javaOpts))
                + (protocol == 2 ? ", start priority " + (dev.conductor.cli.StartPriority.realtimeFromEnvironment()
                ? "realtime" : "normal") + " ($CONDUCTOR_START_PRIORITY)" : "")
                + ", steps started through " + stepLauncher() + " ($CONDUCTOR_STEP_LAUNCHER)";
    }

    /** How the players start steps: what {@code bin/player --step-launcher} takes from the environment by default. */
    static String stepLauncher() {
        String how = System.getenv("CONDUCTOR_STEP_LAUNCHER");
        return how == null || how.isBlank() ? "stepstart" : how;
    }

    /**
     * @throws IllegalStateException when the conductor's run did not pass (a lost player, a failed
     *                               step): a benchmark of a failing run would measure the failure
     */
    Outcome run(Settings settings) throws IOException, InterruptedException, ConfigException {
        PrintStream progress = settings.progress();
        int runTrials = settings.warmup() + trials;
        try (BenchLab lab = BenchLab.create(settings.keep())) {
            progress.print("bench: " + describe() + ": " + (settings.keep() ? "files in " + lab.dir() + "; " : "")
                    + "starting players ... ");
            progress.flush();
            String load = CpuTime.loadAverage();
            long t0 = System.nanoTime();
            Outcome.Builder o = new Outcome.Builder(this, settings.warmup(), load);
            List<Event> events;
            try (PlayerFleet fleet = PlayerFleet.start(lab, players, mode, javaOpts, settings.startingAtOnce(),
                    settings.startDeadline())) {
                o.playersUpSeconds = seconds(t0);
                progress.printf(Locale.ROOT, "up in %.1f s; ", o.playersUpSeconds);
                o.idleBeforeRun = fleet.awaitIdle(IDLE_DEADLINE, IDLE_WINDOW, 0.1 + 0.002 * players);
                progress.print(o.idleBeforeRun ? "idle; " : "still busy after " + IDLE_DEADLINE.toSeconds() + " s; ");
                Thread.sleep(settings.settle().toMillis());
                o.idleFresh = fleet.memory();

                // Two sets of result ports: a port the conductor has just closed can stay bound until
                // its accepting thread has woken up, which on a busy machine is not at once.
                List<Integer> resultPorts = BenchLab.freePorts(2 * players);
                List<String> names = fleet.players().stream().map(LocalPlayer::name).toList();
                long c0 = System.nanoTime();
                firstContact(plan(lab, fleet, resultPorts.subList(players, 2 * players), 1), names,
                        options(1, List.of(), settings.ioDeadline()));
                o.firstContactSeconds = seconds(c0);
                progress.printf(Locale.ROOT, "first contact %.1f s; %d trials ... ", o.firstContactSeconds, runTrials);
                progress.flush();

                TestPlan plan = plan(lab, fleet, resultPorts.subList(0, players), runTrials);
                EventLog log = new EventLog(List.of());
                List<Long> playerCpu0 = fleet.cpuMillis();
                long ours0 = fleet.cpuMillisWithSteps() + CpuTime.self().withChildrenMillis();
                long bench0 = CpuTime.self().ownMillis();
                long busy0 = CpuTime.machineBusyMillis();
                long r0 = System.nanoTime();
                int code = new Conductor(plan, options(runTrials, List.of(), settings.ioDeadline()), log).run();
                o.runSeconds = seconds(r0);
                long busy1 = CpuTime.machineBusyMillis();
                long ours1 = fleet.cpuMillisWithSteps() + CpuTime.self().withChildrenMillis();
                o.benchCpuMsPerTrial = (CpuTime.self().ownMillis() - bench0) / (double) runTrials;
                o.foreignCpuCores = Math.max(0, (busy1 - busy0) - (ours1 - ours0)) / (o.runSeconds * 1000);
                List<Long> playerCpu1 = fleet.cpuMillis();
                for (int i = 0; i < playerCpu0.size(); i++) {
                    o.playerCpuMsPerTrial.add((playerCpu1.get(i) - playerCpu0.get(i)) / (double) runTrials);
                }
                events = log.events();
                if (code != Conductor.EXIT_OK) {
                    throw new IllegalStateException("the conductor's run ended with exit code " + code + ": "
                            + problems(events) + lastWordsOfLost(events, fleet));
                }
                progress.printf(Locale.ROOT, "%.1f s; ", o.runSeconds);
                Thread.sleep(settings.settle().toMillis());
                o.idleAfterTrials = fleet.memory();
            }
            long left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count();
            progress.println(left == 0 ? "players stopped and reaped"
                    : "WARNING: " + left + " child processes still running");
            o.timings = Timings.of(events, settings.warmup(), players);
            o.protocolsSpoken = events.stream().filter(e -> e instanceof Event.LinkOpened)
                    .map(e -> ((Event.LinkOpened) e).protocol()).distinct().sorted().toList();
            return o.build();
        } finally {
            progress.flush();
        }
    }

    /** Writes every worker file with its player's real port and the given result port; reads the plan back. */
    private static TestPlan plan(BenchLab lab, PlayerFleet fleet, List<Integer> resultPorts, int trials)
            throws IOException, ConfigException {
        List<LocalPlayer> all = fleet.players();
        for (int i = 0; i < all.size(); i++) {
            lab.writeWorker(all.get(i).name(), all.get(i).ready().join(), resultPorts.get(i));
        }
        return PlanLoader.load(lab.writeTest(all.stream().map(LocalPlayer::name).toList(), trials));
    }

    /**
     * A fresh player's first phase is slow: it loads and interprets the whole wire path (hundreds
     * of classes) for the first time. N cold player JVMs sharing two cores then cannot all answer
     * their first phase within the conductor's I/O deadline, so they meet the conductor in small
     * groups first, one trial each. The warm-up and measured trials then see players that have
     * served a conductor before, as a daemon has. Its time is reported, not measured in detail.
     */
    private static void firstContact(TestPlan plan, List<String> names, Conductor.Options options) {
        for (int from = 0; from < names.size(); from += FIRST_CONTACT_GROUP) {
            List<String> group = names.subList(from, Math.min(names.size(), from + FIRST_CONTACT_GROUP));
            EventLog log = new EventLog(List.of());
            Conductor.Options forGroup = new Conductor.Options(options.trials(), options.phases(), group,
                    options.phaseDeadline(), options.maxMessageSize(), options.ioDeadline(), options.maxProtocol(),
                    options.token(), options.tls(), options.realtimeRelease());
            int code = new Conductor(plan, forGroup, log).run();
            if (code != Conductor.EXIT_OK) {
                throw new IllegalStateException("first contact with " + group.getFirst() + ".." + group.getLast()
                        + " ended with exit code " + code + ": " + problems(log.events()));
            }
        }
    }

    private Conductor.Options options(int trials, List<String> workers, Duration ioDeadline) {
        return new Conductor.Options(trials, List.of(Phase.values()), workers, Optional.empty(), Optional.empty(),
                ioDeadline).withMaxProtocol(protocol).withRealtimeRelease(dev.conductor.cli.StartPriority.realtimeFromEnvironment());
    }

    /** What the players lost in a run said last (their stderr), for the first few of them. */
    private static String lastWordsOfLost(List<Event> events, PlayerFleet fleet) {
        List<String> lost = events.stream().filter(e -> e instanceof Event.WorkerLost)
                .map(e -> ((Event.WorkerLost) e).worker()).distinct().limit(3).toList();
        StringBuilder b = new StringBuilder();
        for (LocalPlayer p : fleet.players()) {
            if (lost.contains(p.name())) {
                b.append("; player ").append(p.name()).append(": ").append(p.lastWords());
            }
        }
        return b.toString();
    }

    /** The first few things that went wrong in a run, in the events' words. */
    private static String problems(List<Event> events) {
        List<String> p = new ArrayList<>();
        for (Event e : events) {
            if (e instanceof Event.WorkerLost l) {
                p.add(l.worker() + " lost in trial " + l.trial() + " " + l.phase().key() + ": " + l.reason());
            } else if (e instanceof Event.StepFinished s && s.failed()) {
                p.add(s.worker() + " step failed in trial " + s.trial() + " " + s.phase().key() + ": " + s.message());
            }
        }
        return p.isEmpty() ? "no step failed and no worker was lost"
                : p.stream().limit(5).collect(Collectors.joining("; ")) + (p.size() > 5 ? "; ..." : "");
    }

    private static double seconds(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1e9;
    }
}
