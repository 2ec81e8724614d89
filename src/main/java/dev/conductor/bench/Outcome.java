package dev.conductor.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * What one case measured.
 *
 * @param warmup              trials run first and not measured
 * @param loadAverage         the machine's /proc/loadavg when the case began
 * @param playersUpSeconds    from starting the first player to the last one listening
 * @param idleBeforeRun       whether the players had stopped using CPU before the run began
 * @param firstContactSeconds the players' first phases, in small groups, before the run
 * @param runSeconds          the conductor's whole run, warm-up trials included
 * @param foreignCpuCores     CPU used during the run by processes that are not the benchmark's, in
 *                            cores (0.5 = half a CPU busy with other work on average): noise
 * @param benchCpuMsPerTrial  CPU time of this JVM (the conductor, and in-process players) per trial
 * @param playerCpuMsPerTrial per player JVM: its own CPU time per trial, warm-up trials included
 * @param protocolsSpoken     the protocol versions the conductor's links ended up speaking
 * @param timings             the conductor's timing, per measured trial
 * @param idleFresh           each player JVM's memory once all listen and are idle, before any trial
 * @param idleAfterTrials     each player JVM's memory after the last trial: warmed up, heap grown
 */
record Outcome(BenchCase benchCase, int warmup, String loadAverage, double playersUpSeconds, boolean idleBeforeRun,
               double firstContactSeconds, double runSeconds, double foreignCpuCores, double benchCpuMsPerTrial,
               List<Double> playerCpuMsPerTrial, List<Integer> protocolsSpoken, Timings timings, List<Memory> idleFresh,
               List<Memory> idleAfterTrials) {

    int players() {
        return benchCase.players();
    }

    PlayerFleet.Mode mode() {
        return benchCase.mode();
    }

    List<String> javaOpts() {
        return benchCase.javaOpts();
    }

    int trials() {
        return benchCase.trials();
    }

    String label() {
        return "v" + benchCase.protocol() + " " + mode().label() + (javaOpts().isEmpty() ? "" : "+opts");
    }

    static Summary rssMb(List<Memory> sample) {
        return Summary.of(sample.stream().map(m -> m.rssKb() / 1024.0).toList());
    }

    /** The worst idle RSS of any player at either moment: what the 64 MB bar is about. */
    double worstRssMb() {
        return Math.max(rssMb(idleFresh).max(), rssMb(idleAfterTrials).max());
    }

    /** Collects an outcome while a case runs. */
    static final class Builder {
        private final BenchCase benchCase;
        private final int warmup;
        private final String loadAverage;
        double playersUpSeconds;
        boolean idleBeforeRun;
        double firstContactSeconds;
        double runSeconds;
        double foreignCpuCores;
        double benchCpuMsPerTrial;
        final List<Double> playerCpuMsPerTrial = new ArrayList<>();
        List<Integer> protocolsSpoken = List.of();
        Timings timings;
        List<Memory> idleFresh = List.of();
        List<Memory> idleAfterTrials = List.of();

        Builder(BenchCase benchCase, int warmup, String loadAverage) {
            this.benchCase = benchCase;
            this.warmup = warmup;
            this.loadAverage = loadAverage;
        }

        Outcome build() {
            return new Outcome(benchCase, warmup, loadAverage, playersUpSeconds, idleBeforeRun, firstContactSeconds,
                    runSeconds, foreignCpuCores, benchCpuMsPerTrial, List.copyOf(playerCpuMsPerTrial), protocolsSpoken, timings,
                    idleFresh, idleAfterTrials);
        }
    }
}
