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
 * What one run's event log says about the conductor's timing, per measured trial, in
 * milliseconds. Everything comes from the log; the conductor is not asked anything.
 *
 * <p>One clock: all players run on this machine and read its system clock, as the conductor
 * does, so their step start times are compared as they measured them. Over v2 the conductor
 * corrects each player's times by the clock offset it estimated before the phase (recorded in
 * {@code worker_started}), which is right between machines but on one machine only adds that
 * estimate's error (up to half a probe's round trip); that correction is undone here. The spread as the conductor
 * reports it is kept too, as {@code startSpreadCorrected}.
 *
 * @param startSpread          per trial: latest minus earliest start of the Run phase's first step
 * @param startSpreadCorrected the same on the conductor's offset-corrected times (v2; = startSpread for v1)
 * @param phaseOverhead        per phase, per trial: PhaseStarted to PhaseFinished minus the longest step
 * @param trialOverhead        per trial: TrialStarted to TrialFinished minus each phase's longest step
 * @param trialWall            per trial: TrialStarted to TrialFinished
 * @param longestStep          per phase, per trial: the longest step duration the players reported
 * @param dispatch             per phase, per trial: PhaseStarted to the last start order sent (v1:
 *                             download, connect and write {@code run} to every player; v2: send the
 *                             phase and the start instant over the open links)
 * @param toFirstStart         per phase, per trial: PhaseStarted to the earliest step start on a player
 * @param afterLastStep        per phase, per trial: the latest step end on a player to PhaseFinished
 *                             (results delivered, "phase complete", the conductor noticing)
 * @param runStarts            per trial: each worker's Run step start after the earliest one, in the
 *                             order the conductor sends the start orders (the workers' order), to
 *                             see whether the spread follows that order or the players
 * @param clockOffsetsMicros   the clock offset (player minus conductor) each measured Run phase's start
 *                             instant was converted with, per worker (v2; on one machine the true
 *                             offset is 0, so this is the estimate's error)
 * @param clockRttsMicros      the round trip of the clock probe each link's first estimate came from
 * @param clockErrorsMicros    the error bound the conductor gave each offset of clockOffsetsMicros
 * @param runStartLate         v2 only, per trial: how late each player started the Run phase after the
 *                             instant it was given on its own clock, as the player reported it (or,
 *                             from older players, as computed from the instant and its offset): late
 *                             arrival of the start order, or a late wake-up
 */
record Timings(List<Double> startSpread, List<Double> startSpreadCorrected, Map<Phase, List<Double>> phaseOverhead,
               List<Double> trialOverhead, List<Double> trialWall, Map<Phase, List<Double>> longestStep,
               Map<Phase, List<Double>> dispatch, Map<Phase, List<Double>> toFirstStart,
               Map<Phase, List<Double>> afterLastStep, List<List<Double>> runStarts, List<Long> clockOffsetsMicros,
               List<Long> clockRttsMicros, List<Long> clockErrorsMicros, List<List<Double>> runStartLate) {

    /** Per trial, the latest player's lateness (v2). */
    List<Double> runStartLatest() {
        return runStartLate.stream().map(t -> t.stream().mapToDouble(Double::doubleValue).max().orElse(0)).toList();
    }

    /** Every phase's overheads of every trial in one list. */
    List<Double> phaseOverheadPooled() {
        List<Double> all = new ArrayList<>();
        phaseOverhead.values().forEach(all::addAll);
        return all;
    }

    /** A step start as the player measured it, and as the conductor reported it. */
    private record Start(String worker, Instant own, Instant corrected, Duration took, long offsetMicros) {
        Instant end() {
            return own.plus(took);
        }
    }

    private record Key(int trial, Phase phase) {
    }

    private record WorkerKey(int trial, Phase phase, String worker) {
    }

    /**
     * @param warmup  trials 1..warmup are not measured
     * @param workers how many workers every phase must have heard from
     * @throws IllegalStateException when a measured phase is incomplete
     */
    static Timings of(List<Event> events, int warmup, int workers) {
        Map<Integer, Instant> trialStart = new HashMap<>();
        Map<Integer, Instant> trialEnd = new HashMap<>();
        Map<Key, Instant> phaseStart = new HashMap<>();
        Map<Key, Instant> phaseEnd = new HashMap<>();
        Map<Key, Instant> lastStartSent = new HashMap<>();
        Map<Key, List<Start>> starts = new HashMap<>();
        Map<Key, Instant> released = new HashMap<>();
        Map<String, Long> offsets = new HashMap<>();
        Map<WorkerKey, Event.WorkerStarted> startedWith = new HashMap<>();
        Map<WorkerKey, Duration> reportedLate = new HashMap<>();
        boolean v2 = events.stream().anyMatch(e -> e instanceof Event.LinkOpened l && l.protocol() == 2);
        List<Long> offsetsSeen = new ArrayList<>();
        List<Long> errorsSeen = new ArrayList<>();
        List<Long> rttsSeen = new ArrayList<>();
        for (Event e : events) {
            switch (e) {
                case Event.LinkOpened l -> {
                    offsets.put(l.worker(), l.offsetMicros());
                    rttsSeen.add(l.rttMicros());
                }
                case Event.TrialStarted t -> trialStart.put(t.trial(), t.at());
                case Event.TrialFinished t -> trialEnd.put(t.trial(), t.at());
                case Event.PhaseStarted p -> phaseStart.put(new Key(p.trial(), p.phase()), p.at());
                case Event.PhaseFinished p -> phaseEnd.put(new Key(p.trial(), p.phase()), p.at());
                case Event.PhaseReleased r -> released.put(new Key(r.trial(), r.phase()), r.startAt());
                case Event.WorkerStarted w -> {
                    lastStartSent.merge(new Key(w.trial(), w.phase()), w.at(), Timings::later);
                    if (w.clockErrorMicros() >= 0) {
                        startedWith.put(new WorkerKey(w.trial(), w.phase(), w.worker()), w);
                    }
                }
                case Event.WorkerFinished w when w.startLate().isPresent() ->
                        reportedLate.put(new WorkerKey(w.trial(), w.phase(), w.worker()), w.startLate().get());
                case Event.StepFinished s when s.index() == 0 -> {
                    Instant corrected = s.startedAt().orElseThrow(() -> new IllegalStateException("worker "
                            + s.worker() + " did not say when its step started (a reference player?)"));
                    Event.WorkerStarted with = startedWith.get(new WorkerKey(s.trial(), s.phase(), s.worker()));
                    long offset = with != null ? with.offsetMicros() : offsets.getOrDefault(s.worker(), 0L);
                    Instant own = corrected.plusNanos(offset * 1000);
                    starts.computeIfAbsent(new Key(s.trial(), s.phase()), k -> new ArrayList<>())
                            .add(new Start(s.worker(), own, corrected, s.duration().orElseThrow(), offset));
                }
                default -> {
                }
            }
        }
        List<Double> spread = new ArrayList<>();
        List<Double> spreadCorrected = new ArrayList<>();
        List<List<Double>> runStarts = new ArrayList<>();
        List<List<Double>> runStartLate = new ArrayList<>();
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
                List<Start> got = starts.getOrDefault(key, List.of()).stream()
                        .sorted(Comparator.comparing(Start::worker)).toList();
                if (got.size() != workers || !phaseStart.containsKey(key) || !phaseEnd.containsKey(key)) {
                    throw new IllegalStateException("trial " + trial + ", phase " + phase.key() + ": " + got.size()
                            + " of " + workers + " workers reported their step");
                }
                Instant first = got.stream().map(Start::own).min(Comparator.naturalOrder()).orElseThrow();
                Instant last = got.stream().map(Start::own).max(Comparator.naturalOrder()).orElseThrow();
                Instant lastEnd = got.stream().map(Start::end).max(Comparator.naturalOrder()).orElseThrow();
                double maxDuration = got.stream().mapToDouble(s -> millis(s.took())).max().orElseThrow();
                double wall = millis(phaseStart.get(key), phaseEnd.get(key));
                phaseOverhead.get(phase).add(wall - maxDuration);
                longest.get(phase).add(maxDuration);
                dispatch.get(phase).add(millis(phaseStart.get(key), lastStartSent.get(key)));
                toFirst.get(phase).add(millis(phaseStart.get(key), first));
                afterLast.get(phase).add(millis(lastEnd, phaseEnd.get(key)));
                stepsTotal += maxDuration;
                if (phase == Phase.RUN) {
                    spread.add(millis(first, last));
                    spreadCorrected.add(millis(got.stream().map(Start::corrected).min(Comparator.naturalOrder())
                            .orElseThrow(), got.stream().map(Start::corrected).max(Comparator.naturalOrder()).orElseThrow()));
                    runStarts.add(got.stream().map(s -> millis(first, s.own())).toList());
                    for (Start s : got) {
                        Event.WorkerStarted with = startedWith.get(new WorkerKey(trial, phase, s.worker()));
                        if (with != null) {
                            offsetsSeen.add(with.offsetMicros());
                            errorsSeen.add(with.clockErrorMicros());
                        }
                    }
                    Instant announced = released.get(key);
                    if (v2 && announced != null) {
                        runStartLate.add(got.stream().map(s -> {
                            Duration said = reportedLate.get(new WorkerKey(trial, phase, s.worker()));
                            return said != null ? millis(said)
                                    : millis(announced.plusNanos(s.offsetMicros() * 1000), s.own());
                        }).toList());
                    }
                }
            }
            double wall = millis(trialStart.get(trial), trialEnd.get(trial));
            trialWall.add(wall);
            trialOverhead.add(wall - stepsTotal);
        }
        return new Timings(spread, spreadCorrected, phaseOverhead, trialOverhead, trialWall, longest, dispatch, toFirst,
                afterLast, runStarts, offsetsSeen, rttsSeen, errorsSeen, runStartLate);
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

    private static double millis(Instant from, Instant to) {
        return millis(Duration.between(from, to));
    }

    private static double millis(Duration d) {
        return d.toNanos() / 1e6;
    }
}
