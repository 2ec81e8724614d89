package dev.conductor.bench;

import dev.conductor.plan.Phase;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/** The benchmark's numbers as text tables, and the bars of issue 2 checked against them. */
final class ResultTable {
    /** The bars, checked at this many players. */
    static final int BAR_PLAYERS = 32;
    /** Issue 3 (protocol v2): at 32 players, median and p99; at 128 players, median. */
    static final double BAR_SPREAD_MS = 1;
    static final double BAR_SPREAD_P99_MS = 2;
    static final int BAR_SCALE_PLAYERS = 128;
    static final double BAR_SCALE_SPREAD_MS = 2;
    static final double BAR_TRIAL_OVERHEAD_MS = 50;
    static final double BAR_RSS_MB = 64;

    private ResultTable() {
    }

    static void print(PrintStream o, List<Outcome> outcomes) {
        o.println();
        o.println("                                 |   Run start spread (ms)     | phase overhead | 4-phase trial  | idle RSS per player (MB)");
        o.println("case               players trials|  median   p90   p99    max  | median   p90   | overhead (ms)  | fresh       after trials");
        o.println("                                 |                             |  (ms)          | median   p90   | median max  median max");
        for (Outcome c : outcomes) {
            Summary spread = Summary.of(c.timings().startSpread());
            Summary phase = Summary.of(c.timings().phaseOverheadPooled());
            Summary trial = Summary.of(c.timings().trialOverhead());
            String rss = c.idleFresh().isEmpty() ? "   (shares the bench's JVM)"
                    : String.format(Locale.ROOT, "%6.1f %5.1f %6.1f %5.1f", Outcome.rssMb(c.idleFresh()).median(),
                    Outcome.rssMb(c.idleFresh()).max(), Outcome.rssMb(c.idleAfterTrials()).median(),
                    Outcome.rssMb(c.idleAfterTrials()).max());
            o.printf(Locale.ROOT, "%-18s %7d %6d| %6.2f %6.2f %6.2f %6.2f | %6.2f %6.2f  | %6.1f %6.1f  | %s%n",
                    c.label(), c.players(), c.trials(), spread.median(), spread.p90(), spread.p99(), spread.max(),
                    phase.median(), phase.p90(), trial.median(), trial.p90(), rss);
        }
        outcomes.stream().filter(c -> !c.javaOpts().isEmpty()).map(c -> String.join(" ", c.javaOpts())).distinct()
                .forEach(opts -> o.println("  jvm+opts: each player in its own JVM, run with " + opts));
        o.println("  jvm: each player in its own JVM with the JVM's default options; "
                + "in-process: players are threads of the bench's JVM");

        o.println();
        o.println("case               players | players up (s) | first contact (s) | run (s) | CPU per trial (ms): "
                + "player median/max, bench JVM | other work during run (cores)");
        for (Outcome c : outcomes) {
            Summary cpu = Summary.of(c.playerCpuMsPerTrial());
            o.printf(Locale.ROOT, "%-18s %7d | %8.1f%s | %17.1f | %7.1f | %s %9.1f | %.2f%n", c.label(), c.players(),
                    c.playersUpSeconds(), c.idleBeforeRun() ? "      " : " busy!", c.firstContactSeconds(),
                    c.runSeconds(), c.playerCpuMsPerTrial().isEmpty() ? "     -      -"
                            : String.format(Locale.ROOT, "%6.1f %6.1f", cpu.median(), cpu.max()),
                    c.benchCpuMsPerTrial(), c.foreignCpuCores());
        }

        boolean anyLate = outcomes.stream().anyMatch(c -> !c.timings().runStartLate().isEmpty());
        if (anyLate) {
            o.println();
            o.println("v2 simultaneous start: the clock offset estimates the Run phases were started with (on one machine "
                    + "the truth is 0), the error bound the conductor gave them, and how late the last player started "
                    + "after the instant it was given (as the players report it)");
            o.println("case               players | |offset| (ms) median    max | bound (ms) median    max "
                    + "| latest player late (ms) median    p90    max");
            for (Outcome c : outcomes) {
                if (c.timings().runStartLate().isEmpty()) {
                    continue;
                }
                Summary offset = Summary.of(c.timings().clockOffsetsMicros().stream().map(v -> Math.abs(v) / 1000.0).toList());
                Summary late = Summary.of(c.timings().runStartLatest());
                List<Long> errors = c.timings().clockErrorsMicros();
                Summary bound = Summary.of(errors.stream().map(v -> v / 1000.0).toList());
                o.printf(Locale.ROOT, "%-18s %7d |            %6.2f %6.2f |         %s |                   %6.2f %6.2f %6.2f%n",
                        c.label(), c.players(), offset.median(), offset.max(),
                        errors.isEmpty() ? "     -      -" : String.format(Locale.ROOT, "%6.2f %6.2f", bound.median(), bound.max()),
                        late.median(), late.p90(), late.max());
            }
        }

        o.println();
        o.println("Where a phase's time goes (medians, ms): dispatch = phase start to the last start order sent "
                + "(v1: phase downloaded, run connections opened, runs written; v2: phase and start instant sent);");
        o.println("first start = phase start to the earliest step start on a player; step = longest step; "
                + "after = latest step end to phase end (results in, 'phase complete' noticed).");
        o.println("case               players | phase    | dispatch first start   step  after | overhead");
        for (Outcome c : outcomes) {
            Timings t = c.timings();
            for (Phase p : Phase.values()) {
                o.printf(Locale.ROOT, "%-18s %7d | %-8s | %8.2f %11.2f %6.2f %6.2f | %8.2f%n", c.label(), c.players(),
                        p.key(), median(t.dispatch().get(p)), median(t.toFirstStart().get(p)),
                        median(t.longestStep().get(p)), median(t.afterLastStep().get(p)),
                        median(t.phaseOverhead().get(p)));
            }
        }
    }

    static void bars(PrintStream o, List<Outcome> outcomes) {
        o.println();
        o.println("Bars of issues 2 and 3, at " + BAR_PLAYERS + " (and " + BAR_SCALE_PLAYERS
                + ") players, each in its own JVM:");
        boolean any = false;
        for (Outcome c : outcomes) {
            if (c.players() == BAR_SCALE_PLAYERS && c.mode() == PlayerFleet.Mode.JVM) {
                double spread = Summary.of(c.timings().startSpread()).median();
                o.printf(Locale.ROOT, "  [%d players, %s]%n", c.players(), c.javaOpts().isEmpty()
                        ? "the JVM's default options" : String.join(" ", c.javaOpts()));
                o.printf(Locale.ROOT, "    Run start spread, median          %7.2f ms  < %2.0f ms  %s%n", spread,
                        BAR_SCALE_SPREAD_MS, verdict(spread < BAR_SCALE_SPREAD_MS));
            }
            if (c.players() != BAR_PLAYERS || c.mode() != PlayerFleet.Mode.JVM) {
                continue;
            }
            any = true;
            double spread = Summary.of(c.timings().startSpread()).median();
            double spreadP99 = Summary.of(c.timings().startSpread()).p99();
            double trial = Summary.of(c.timings().trialOverhead()).median();
            double rssFresh = Outcome.rssMb(c.idleFresh()).max();
            double rssAfter = Outcome.rssMb(c.idleAfterTrials()).max();
            o.printf(Locale.ROOT, "  [%s]%n", c.javaOpts().isEmpty() ? "players with the JVM's default options"
                    : "players with " + String.join(" ", c.javaOpts()));
            o.printf(Locale.ROOT, "    Run start spread, median          %7.2f ms  < %2.0f ms  %s%n", spread,
                    BAR_SPREAD_MS, verdict(spread < BAR_SPREAD_MS));
            o.printf(Locale.ROOT, "    Run start spread, p99             %7.2f ms  < %2.0f ms  %s%n", spreadP99,
                    BAR_SPREAD_P99_MS, verdict(spreadP99 < BAR_SPREAD_P99_MS));
            o.printf(Locale.ROOT, "    4-phase trial overhead, median    %7.2f ms  < %2.0f ms  %s%n", trial,
                    BAR_TRIAL_OVERHEAD_MS, verdict(trial < BAR_TRIAL_OVERHEAD_MS));
            // Not a bar: the whole of it, for comparing ways of starting steps (where a step's own start
            // cost lands, inside its measured duration or before its instant, moves time between the two).
            o.printf(Locale.ROOT, "    4-phase trial, wall, median       %7.2f ms  (steps started through %s)%n",
                    Summary.of(c.timings().trialWall()).median(), BenchCase.stepLauncher());
            o.printf(Locale.ROOT, "    idle player RSS, worst, fresh     %7.1f MB  < %2.0f MB  %s%n", rssFresh,
                    BAR_RSS_MB, verdict(rssFresh < BAR_RSS_MB));
            o.printf(Locale.ROOT, "    idle player RSS, worst, after run %7.1f MB  < %2.0f MB  %s%n", rssAfter,
                    BAR_RSS_MB, verdict(rssAfter < BAR_RSS_MB));
        }
        if (!any) {
            o.println("  (no case with " + BAR_PLAYERS + " players in their own JVMs was run)");
        }
        o.println("  Python reference (issue 2): ~50 ms start spread at 32 players, and some runs never finished.");
    }

    private static String verdict(boolean met) {
        return met ? "met" : "NOT MET";
    }

    private static double median(List<Double> values) {
        return Summary.of(values).median();
    }
}
