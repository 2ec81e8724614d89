package dev.conductor.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import dev.conductor.config.ConfigException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench}: starts N local players, runs the conductor in this JVM against them for K
 * trials of four one-step phases, and reports how far apart the players start the Run phase,
 * what the conductor adds to each phase and trial, and how much memory an idle player takes.
 * A harness to run by hand (see docs/PERFORMANCE.md), not a test: it asserts nothing; it
 * measures, and compares with the bars of issue 2.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {IoBench.class, SpawnBench.class}, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Measures the conductor against N local players on 127.0.0.1: the Run phase's start spread, "
                + "the conductor's overhead per phase and per 4-phase trial, and an idle player's memory.",
                "Prints tables and writes every sample as JSON. Talks to 127.0.0.1 only. See docs/PERFORMANCE.md."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every case was measured (whether the bars are met is in the table, not the exit code)",
                "1:a case could not be measured (a player did not start, a run failed)", "2:bad usage"})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--players", paramLabel = "N", split = ",", defaultValue = "1,8,32,128",
            description = "numbers of players, one case each (default: ${DEFAULT-VALUE})")
    List<Integer> players;

    @Option(names = "--trials", paramLabel = "K", defaultValue = "20",
            description = "measured trials per case of up to " + ResultTable.BAR_PLAYERS
                    + " players (default: ${DEFAULT-VALUE})")
    int trials;

    @Option(names = "--trials-at-scale", paramLabel = "K", defaultValue = "5",
            description = "measured trials per case of more than " + ResultTable.BAR_PLAYERS
                    + " players, which cost minutes each on two cores (default: ${DEFAULT-VALUE})")
    int trialsAtScale;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2",
            description = "trials run first and not measured (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--protocol", paramLabel = "V", defaultValue = "2",
            description = "the highest protocol the conductor offers: 2 (as conduct does) or 1 (the reference's, "
                    + "which Python players speak) (default: ${DEFAULT-VALUE})")
    int protocol;

    @Option(names = "--in-process",
            description = "also run every case with the players as threads of this JVM, for comparison")
    boolean inProcess;

    @CommandLine.Mixin
    PlayerJavaOpts playerJavaOpts;

    @Option(names = "--baseline-players", paramLabel = "N", defaultValue = "8",
            description = "also run N players with the JVM's default options (as bin/player with "
                    + "CONDUCTOR_JAVA_OPTS=''), to compare; 0 for none (default: ${DEFAULT-VALUE})")
    int baselinePlayers;

    @Option(names = "--io-deadline", paramLabel = "SECONDS", defaultValue = "30",
            description = "the conductor's limit for each exchange with a player; its own default of 5 s is too "
                    + "short for many player JVMs sharing two cores (default: ${DEFAULT-VALUE})")
    int ioDeadline;

    @Option(names = "--starting-at-once", paramLabel = "M", defaultValue = "4",
            description = "player JVMs started at the same time (default: ${DEFAULT-VALUE})")
    int startingAtOnce;

    @Option(names = "--start-deadline", paramLabel = "SECONDS", defaultValue = "300",
            description = "how long all players of a case may take to listen (default: ${DEFAULT-VALUE})")
    int startDeadline;

    /*
     * Six seconds: the JVM hands the compiler's cached arena chunks back to malloc every 5 s
     * (its chunk pool cleaner), and the players' native-heap trim returns them to the system
     * within a second; a player idle for minutes, as players are between runs, is past both.
     */
    @Option(names = "--settle", paramLabel = "MS", defaultValue = "6000",
            description = "how long idle players are left alone before their memory is read; past the JVM's 5-s "
                    + "clean-up of compiler memory (default: ${DEFAULT-VALUE})")
    int settleMillis;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "target/bench/result.json",
            description = "where every sample goes, as JSON (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--keep", description = "keep the generated test and worker files (their folder is printed)")
    boolean keep;

    private List<String> argv = List.of();

    public static void main(String[] args) {
        BenchCommand command = new BenchCommand();
        command.argv = List.of(args);
        System.exit(new CommandLine(command).execute(args));
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        // The conductor's warnings are part of what a failed case reports; its chatter is not.
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .setLevel(Level.WARN);
        if (protocol != 1 && protocol != 2) {
            System.err.println("bench: --protocol is 1 or 2");
            return 2;
        }
        if (trials < 1 || trialsAtScale < 1 || warmup < 0 || startingAtOnce < 1 || players.stream().anyMatch(n -> n < 1)) {
            System.err.println("bench: --players, --trials, --trials-at-scale and --starting-at-once must be at "
                    + "least 1, --warmup at least 0");
            return 2;
        }
        PrintStream progress = System.err;
        BenchCase.Settings settings = new BenchCase.Settings(warmup, Duration.ofSeconds(ioDeadline), startingAtOnce,
                Duration.ofSeconds(startDeadline), Duration.ofMillis(settleMillis), keep, progress);
        List<String> opts = split(playerJavaOpts.value);
        List<BenchCase> cases = new ArrayList<>();
        for (int n : players) {
            cases.add(new BenchCase(n, PlayerFleet.Mode.JVM, opts, trialsFor(n), protocol));
            if (inProcess) {
                cases.add(new BenchCase(n, PlayerFleet.Mode.IN_PROCESS, List.of(), trialsFor(n), protocol));
            }
        }
        if (baselinePlayers > 0 && !opts.isEmpty()) {
            cases.add(new BenchCase(baselinePlayers, PlayerFleet.Mode.JVM, List.of(), trialsFor(baselinePlayers), protocol));
        }

        Machine machine = Machine.here();
        progress.println("bench: " + machine.describe());
        long t0 = System.nanoTime();
        List<Outcome> outcomes = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (BenchCase c : cases) {
            try {
                outcomes.add(c.run(settings));
            } catch (IOException | ConfigException | IllegalStateException e) {
                failures.add(c.describe() + ": " + e.getMessage());
                progress.println("NOT MEASURED: " + e.getMessage());
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;

        List<String> command = new ArrayList<>(List.of("bin/bench"));
        command.addAll(argv);
        ResultFile.write(out, command, machine, minutes, outcomes);
        PrintStream o = System.out;
        o.println();
        o.printf(Locale.ROOT, "Conductor benchmark: trials of 4 phases, one '%s' step per worker and phase, after %d "
                + "warm-up trials; players on 127.0.0.1; %.1f minutes%n", BenchLab.STEP, warmup, minutes);
        o.println("machine: " + machine.describe());
        ResultTable.print(o, outcomes);
        ResultTable.bars(o, outcomes);
        o.println();
        o.println("every sample: " + out.toAbsolutePath());
        failures.forEach(f -> o.println("NOT MEASURED: " + f));
        return failures.isEmpty() ? 0 : 1;
    }

    private int trialsFor(int n) {
        return n > ResultTable.BAR_PLAYERS ? Math.min(trials, trialsAtScale) : trials;
    }

    private static List<String> split(String opts) {
        String s = opts.strip();
        return s.isEmpty() ? List.of() : Arrays.asList(s.split("\\s+"));
    }
}
