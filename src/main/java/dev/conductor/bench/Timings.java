package dev.conductor.bench;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one benchmark run's event log says about the conductor's timing, per measured trial, in
 * milliseconds. Everything comes from the log (the conductor is not asked anything), and every
 * figure compares times on one clock: the conductor's {@code at}s with each other, or the players'
 * {@code startedAt}s with each other (all players run on this machine, so they share its clock).
 *
 * @param startSpread    per trial: latest minus earliest start of the Run phase's first step
 * @param phaseOverhead  per phase, per trial: PhaseStarted to PhaseFinished minus the longest step
 * @param trialOverhead  per trial: TrialStarted to TrialFinished minus each phase's longest step
 * @param trialWall      per trial: TrialStarted to TrialFinished
 * @param longestStep    per phase, per trial: the longest step duration the players reported
 * @param dispatch       per phase, per trial: PhaseStarted to the last {@code run} written
 *                       (download to every player, open every run connection, write the runs)
 * @param toFirstStart   per phase, per trial: PhaseStarted to the earliest step start on a player
 * @param afterLastStep  per phase, per trial: the latest step end on a player to PhaseFinished
 *                       (result connections, "phases complete", the conductor noticing)
 * @param runStarts      per trial: each worker's Run step start after the earliest one, in the
 *                       order the conductor writes the runs (the workers' order), to see whether
 *                       the spread comes from the writing order or from the players
 */
record Timings(List<Double> startSpread, Map<Phase, List<Double>> phaseOverhead, List<Double> trialOverhead,
               List<Double> trialWall, Map<Phase, List<Double>> longestStep, Map<Phase, List<Double>> dispatch,
               Map<Phase, List<Double>> toFirstStart, Map<Phase, List<Double>> afterLastStep,
               List<List<Double>> runStarts) {

    /** Every phase's overheads of every trial in one list. */
    List<Double> phaseOverheadPooled() {
        List<Double> all = new ArrayList<>();
        phaseOverhead.values().forEach(all::addAll);
        return all;
    }

    /**
     * @param warmup  trials 1..warmup are not measured
     * @param workers how many workers every phase must have heard from
     * @throws IllegalStateException when a measured phase is incomplete: a benchmark of a
     *                               failing run would measure the failure
     */
    static Timings of(List<Event> events, int warmup, int workers) {
        Map<Integer, Instant> trialStart = new HashMap<>();
        Map<Integer, Instant> trialEnd = new HashMap<>();
        Map<Key, Instant> phaseStart = new HashMap<>();
        Map<Key, Instant> phaseEnd = new HashMap<>();
        Map<Key, Instant> lastRunSent = new HashMap<>();
        Map<Key, List<Event.StepFinished>> steps = new HashMap<>();
        for (Event e : events) {
            switch (e) {
                case Event.TrialStarted t -> trialStart.put(t.trial(), t.at());
                case Event.TrialFinished t -> trialEnd.put(t.trial(), t.at());
                case Event.PhaseStarted p -> phaseStart.put(new Key(p.trial(), p.phase()), p.at());
                case Event.PhaseFinished p -> phaseEnd.put(new Key(p.trial(), p.phase()), p.at());
                case Event.WorkerStarted w -> lastRunSent.merge(new Key(w.trial(), w.phase()), w.at(), Timings::later);
                case Event.StepFinished s -> steps.computeIfAbsent(new Key(s.trial(), s.phase()), k -> new ArrayList<>()).add(s);
                default -> {
                }
            }
        }
        List<Double> spread = new ArrayList<>();
        List<List<Double>> runStarts = new ArrayList<>();
        List<Double> trialOverhead = new ArrayList<>();
        List<Double> trialWall = new ArrayList<>();
        Map<Phase, List<Double>> phaseOverhead = perPhase();
        Map<Phase, List<Double>> longest = perPhase();
        Map<Phase, List<Double>> dispatch = perPhase();
        Map<Phase, List<Double>> toFirst = perPhase();
        Map<Phase, List<Double>> afterLast = perPhase();
        List<Integer> trials = trialStart.keySet().stream().filter(t -> t > warmup).sorted().toList();
        for (int trial : trials) {
            double stepsTotal = 0;
            for (Phase phase : Phase.values()) {
                Key key = new Key(trial, phase);
                List<Event.StepFinished> got = steps.getOrDefault(key, List.of()).stream()
                        .filter(s -> s.index() == 0).sorted(Comparator.comparing(Event.StepFinished::worker)).toList();
                if (got.size() != workers || !phaseStart.containsKey(key) || !phaseEnd.containsKey(key)) {
                    throw new IllegalStateException("trial " + trial + ", phase " + phase.key() + ": " + got.size()
                            + " of " + workers + " workers reported their step");
                }
                Instant firstStart = null;
                Instant lastStart = null;
                Instant lastEnd = null;
                double maxDuration = 0;
                for (Event.StepFinished s : got) {
                    Instant started = s.startedAt().orElseThrow(() -> new IllegalStateException(
                            "worker " + s.worker() + " did not say when its step started (a reference player?)"));
                    Duration took = s.duration().orElseThrow();
                    firstStart = firstStart == null ? started : earlier(firstStart, started);
                    lastStart = lastStart == null ? started : later(lastStart, started);
                    lastEnd = lastEnd == null ? started.plus(took) : later(lastEnd, started.plus(took));
                    maxDuration = Math.max(maxDuration, millis(took));
                }
                double wall = millis(phaseStart.get(key), phaseEnd.get(key));
                phaseOverhead.get(phase).add(wall - maxDuration);
                longest.get(phase).add(maxDuration);
                dispatch.get(phase).add(millis(phaseStart.get(key), lastRunSent.get(key)));
                toFirst.get(phase).add(millis(phaseStart.get(key), firstStart));
                afterLast.get(phase).add(millis(lastEnd, phaseEnd.get(key)));
                stepsTotal += maxDuration;
                if (phase == Phase.RUN) {
                    spread.add(millis(firstStart, lastStart));
                    Instant earliest = firstStart;
                    runStarts.add(got.stream().map(s -> millis(earliest, s.startedAt().orElseThrow())).toList());
                }
            }
            double wall = millis(trialStart.get(trial), trialEnd.get(trial));
            trialWall.add(wall);
            trialOverhead.add(wall - stepsTotal);
        }
        return new Timings(spread, phaseOverhead, trialOverhead, trialWall, longest, dispatch, toFirst, afterLast,
                runStarts);
    }

    private record Key(int trial, Phase phase) {
    }

    private static Map<Phase, List<Double>> perPhase() {
        Map<Phase, List<Double>> m = new EnumMap<>(Phase.class);
        for (Phase p : Phase.values()) {
            m.put(p, new ArrayList<>());
        }
        return m;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private static Instant earlier(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static double millis(Instant from, Instant to) {
        return millis(Duration.between(from, to));
    }

    private static double millis(Duration d) {
        return d.toNanos() / 1e6;
    }
}
