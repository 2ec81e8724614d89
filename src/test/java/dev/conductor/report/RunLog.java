package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.StepResult.Status;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Writes event logs the way the conductor does, event by event, for the reports to read. */
final class RunLog {
    static final Instant T0 = Instant.parse("2026-03-04T05:06:07Z");

    private final List<Event> events = new ArrayList<>();
    private final Set<String> lostInPhase = new LinkedHashSet<>();
    private List<String> phaseWorkers = List.of();
    private Instant now = T0;

    static RunLog start(String testFile, int trials, String... workers) {
        RunLog log = new RunLog();
        List<Event.WorkerInfo> infos = new ArrayList<>();
        for (int i = 0; i < workers.length; i++) {
            infos.add(new Event.WorkerInfo(workers[i], "127.0.0.1", 6900 + 10 * i));
        }
        log.events.add(new Event.RunStarted(log.tick(1), testFile, trials, List.of(Phase.values()), infos));
        return log;
    }

    RunLog trial(int trial) {
        events.add(new Event.TrialStarted(tick(1), trial));
        return this;
    }

    RunLog phase(int trial, Phase phase, String... workers) {
        phaseWorkers = List.of(workers);
        lostInPhase.clear();
        events.add(new Event.PhaseStarted(tick(1), trial, phase, phaseWorkers));
        events.add(new Event.PhaseReleased(tick(1), trial, phase, now.plusMillis(5)));
        for (String w : workers) {
            events.add(new Event.WorkerStarted(tick(1), trial, phase, w));
        }
        return this;
    }

    RunLog ok(int trial, Phase phase, String worker, int index, String key, String command, String stdout) {
        return step(trial, phase, worker, index, key, command, Status.OK, 0, stdout, 12, stdout, "");
    }

    RunLog step(int trial, Phase phase, String worker, int index, String key, String command, Status status, int code,
                String message, long millis, String stdout, String stderr) {
        Instant started = tick(1);
        events.add(new Event.StepStarted(started, trial, phase, worker, index, started));
        Step.Mode mode = key.startsWith("spawn") ? Step.Mode.SPAWN : key.startsWith("timeout") ? Step.Mode.TIMEOUT
                : Step.Mode.NORMAL;
        events.add(new Event.StepFinished(tick(millis), trial, phase, worker, index, key, command, mode, status, code,
                message, Optional.of(started), Optional.of(Duration.ofMillis(millis)), stdout, stderr));
        return this;
    }

    RunLog spawnExited(int trial, Phase phase, String worker, int index, int code) {
        events.add(new Event.SpawnExited(tick(1), trial, phase, worker, index, code));
        return this;
    }

    /** Each of {@code arrived} reaches barrier {@code name}, then the conductor releases it: ok when none is missing. */
    RunLog barrier(int trial, Phase phase, String name, List<String> arrived, List<String> missing, String reason) {
        for (String w : arrived) {
            events.add(new Event.BarrierArrived(tick(1), trial, phase, w, name));
        }
        events.add(new Event.BarrierReleased(tick(1), trial, phase, name, missing.isEmpty(), arrived, missing, reason));
        return this;
    }

    RunLog lost(int trial, Phase phase, String worker, String reason) {
        lostInPhase.add(worker);
        events.add(new Event.WorkerLost(tick(1), trial, phase, worker, reason));
        return this;
    }

    RunLog endPhase(int trial, Phase phase) {
        for (String w : phaseWorkers) {
            if (!lostInPhase.contains(w)) {
                events.add(new Event.WorkerFinished(tick(1), trial, phase, w));
            }
        }
        events.add(new Event.PhaseFinished(tick(1), trial, phase));
        return this;
    }

    RunLog endTrial(int trial) {
        events.add(new Event.TrialFinished(tick(1), trial));
        return this;
    }

    List<Event> finish(int exitCode, boolean interrupted) {
        events.add(new Event.RunFinished(tick(1), exitCode, interrupted));
        return List.copyOf(events);
    }

    private Instant tick(long millis) {
        now = now.plusMillis(millis);
        return now;
    }

    /** Output no report may choke on: colour codes, NUL, form feed, a lone surrogate, CDATA's end, YAML and TAP markers. */
    static final String NASTY = "\u001B[31mred\u001B[0m alert\n"
            + "nul:\u0000 bell:\u0007 ff:\u000C vt:\u000B del:\u007F c1:\u0085 lone:\uD800 pair:\uD83D\uDE00\n"
            + "]]> <tag attr=\"x\"> & 'q' # not a directive; also # SKIP not\n"
            + "...\n"
            + "---\n"
            + "\n"
            + "  indented: yes\n"
            + "\ttabbed\n"
            + "key: value # with a colon\n"
            + "back\\slash \\\" quote\n"
            + "trailing blanks   \n";

    /**
     * Two workers, one trial, every kind of outcome: ok, spawned (and its exit), timeout, a
     * failure with nasty output, a skip after it, a lost worker, and a passing Reset.
     */
    static List<Event> mixed() {
        Phase s = Phase.STARTUP;
        Phase r = Phase.RUN;
        Phase c = Phase.COLLECT;
        Phase z = Phase.RESET;
        return start("examples/mixed/test.cfg", 1, "receiver", "sender")
                .trial(1)
                .phase(1, s, "receiver", "sender")
                .ok(1, s, "receiver", 0, "step1", "rm -rf /tmp/rx && mkdir -p /tmp/rx", "")
                .step(1, s, "receiver", 1, "spawn1", "perl -e 'listen; accept'", Status.SPAWNED, 0, "Spawned", 3, "", "")
                .ok(1, s, "sender", 0, "step1", "head -c 1048576 /dev/urandom > /tmp/tx/sent.bin && echo \"payload ready\"",
                        "payload ready\n")
                .endPhase(1, s)
                .phase(1, r, "receiver", "sender")
                .step(1, r, "receiver", 0, "timeout10", "until [ -e /tmp/rx/done ]; do sleep 0.05; done",
                        Status.TIMEOUT, 65535, "Command timed out after 10 seconds (process tree killed)", 10_004,
                        "waiting\n".repeat(30), "")
                .step(1, r, "sender", 0, "step1", "echo why >&2; exit 7 # the #1 reason", Status.FAILED, 7,
                        "echo why >&2; exit 7 # the #1 reason\nexited with code 7", 25, "before\n", NASTY)
                .step(1, r, "sender", 1, "step2", "echo never", Status.SKIPPED, 65535,
                        "skipped: step 1 (echo why >&2; exit 7 # the #1 reason) failed earlier in this phase", 0, "", "")
                .spawnExited(1, s, "receiver", 1, 0)
                .endPhase(1, r)
                .phase(1, c, "receiver", "sender")
                .ok(1, c, "receiver", 0, "step1", "sha256sum < /tmp/rx/received.bin", "abc123  -\n")
                .lost(1, c, "sender", "no answer within 15 s (player at 127.0.0.1:6910 stopped answering)")
                .endPhase(1, c)
                .phase(1, z, "receiver", "sender")
                .ok(1, z, "receiver", 0, "step1", "rm -rf /tmp/rx && echo \"receiver reset\"", "receiver reset\n")
                .ok(1, z, "sender", 0, "step1", "rm -rf /tmp/tx && echo \"sender reset\"", "sender reset\n")
                .endPhase(1, z)
                .endTrial(1)
                .finish(3, false);
    }

    /** Two workers meet at barrier "ready"; then "late" gives up on b, which failed before it. */
    static List<Event> barriers() {
        Phase r = Phase.RUN;
        return start("examples/barriers/test.cfg", 1, "a", "b")
                .trial(1)
                .phase(1, r, "a", "b")
                .ok(1, r, "a", 0, "step1", "barrier: ready", "")
                .ok(1, r, "b", 0, "step1", "barrier: ready", "")
                .barrier(1, r, "ready", List.of("a", "b"), List.of(), "")
                .step(1, r, "b", 1, "step2", "false", Status.FAILED, 1, "false\nexited with code 1", 2, "", "")
                .barrier(1, r, "late", List.of("a"), List.of("b"), "b finished the phase without arriving")
                .step(1, r, "a", 1, "step2", "barrier: late", Status.FAILED, 1, "barrier late failed: b never came", 3,
                        "", "")
                .endPhase(1, r)
                .endTrial(1)
                .finish(1, false);
    }

    /** Two trials of two workers where everything passes. */
    static List<Event> passing() {
        RunLog log = start("examples/multi-player/test.cfg", 2, "receiver", "sender");
        for (int t = 1; t <= 2; t++) {
            log.trial(t);
            for (Phase p : Phase.values()) {
                log.phase(t, p, "receiver", "sender")
                        .ok(t, p, "receiver", 0, "step1", "echo " + p.key() + " on receiver", p.key() + "\n")
                        .ok(t, p, "sender", 0, "step1", "echo " + p.key() + " on sender", p.key() + "\n")
                        .endPhase(t, p);
            }
            log.endTrial(t);
        }
        return log.finish(0, false);
    }
}
