package dev.conductor.it;

import dev.conductor.events.Event;
import dev.conductor.plan.OnFailure;
import dev.conductor.scenario.Scenario;
import dev.conductor.scenario.ScenarioResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DTest's own self-test (shared/reference/dtest), re-created with the scenario API on two real
 * players, and its TAP output checked line by line against what DTest printed.
 *
 * <p>DTest's 17 lines, and ours for each (the differences are DTest's defects, fixed):
 * <pre>
 *  DTest                                               ours
 *  1  ok Barrier aBarrier crossed by all 2             ok barrier aBarrier (2 arrived), then one ok per tester's
 *                                                      barrier step (every step is a test point)
 *  2  ok SKIPPED test # SKIP --because that's life--   ok DTester2: SKIPPED test # SKIP --because that's life--
 *  3  not ok here is a failure                         not ok DTester2: here is a failure
 *  4-7 ok ok step using ... (four of them)             the same four, with the tester's name
 *  8  ok Barrier anotherBarrier crossed by all 1       ok barrier anotherBarrier (1 arrived) + the step's own ok
 *  9  ok TODO step # TODO --TODO step--                ok DTester2: TODO step # TODO --TODO step--
 *  10 ok myCustomStep (an explicit ok after the        ok DTester1: myCustomStep: the custom step is its own
 *     custom step, which alone was not reported)       test point, no ok after it needed
 *  11 ok Barrier wait4me4ever crossed by all 2         as line 1
 *  12 not ok Barrier timedBarrier timed-out for        not ok barrier timedBarrier never came: DTester1 (reason:
 *     DTester2 waiting no more than 1.5 s              DTester2 gave up after 1.5 s), then not ok for both
 *                                                      testers' barrier steps: DTester1, arriving after the
 *                                                      barrier was given up, is told at once and fails too
 *                                                      (DTest's T1 was released silently); T1's 6 s sleep is
 *                                                      a test point of its own
 *  13 not ok Will make next step to be skipped         not ok DTester2: Will make next step to be skipped
 *  14 ok This one will be done                         the same (the else branch of the first if-then-else)
 *  15 ok This second one should be done                the same (the then branch of the second)
 *  16 ok --END step--                                  the same
 *  17 not ok Tester DTester2 did timeout               no such line: the timed-out barrier is already a
 *                                                      failed point, with who and why in its YAML block
 *  trailer "## Test Sequence ...: FAILED."             "# N ok, M not ok, ...; exit code 1", and the run's
 *                                                      exit code is 1 (DTest exited 0 even when FAILED)
 * </pre>
 * The two testers run side by side, so the order in which their lines interleave is not fixed;
 * each tester's own lines, and the barriers among them, are in a fixed order, and are checked so.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DTestSelfTest {
    @TempDir
    Path dir;

    /** Each tester's test points, in its order, as our TAP describes them (with the line's verdict). */
    private static final List<String> T1 = List.of(
            "ok DTester1: barrier: aBarrier 30",
            "ok DTester1: myCustomStep",
            "ok DTester1: barrier: wait4me4ever 30",
            "ok DTester1: sleep: 6",
            "not ok DTester1: barrier: timedBarrier 10.6");
    private static final List<String> T2 = List.of(
            "ok DTester2: barrier: aBarrier 30",
            "ok DTester2: SKIPPED test # SKIP --because that's life--",
            "not ok DTester2: here is a failure",
            "ok DTester2: ok step using 'string' ok name",
            "ok DTester2: ok step using 'DTester.ok' unbound method",
            "ok DTester2: ok step using 'tester2.__class__.ok' unbound method",
            "ok DTester2: ok step using 'tester2.ok' bound method",
            "ok DTester2: barrier: anotherBarrier 30",
            "ok DTester2: TODO step # TODO --TODO step--",
            "ok DTester2: barrier: wait4me4ever 30",
            "not ok DTester2: barrier: timedBarrier 1.5",
            "not ok DTester2: Will make next step to be skipped",
            "ok DTester2: This one will be done",
            "ok DTester2: This second one should be done",
            "ok DTester2: --END step--");
    private static final List<String> BARRIERS = List.of(
            "ok barrier aBarrier (2 arrived)",
            "ok barrier anotherBarrier (1 arrived)",
            "ok barrier wait4me4ever (2 arrived)",
            "not ok barrier timedBarrier never came: DTester1");

    @Test
    void theSelfTestScenarioGivesDTestsLinesWithItsDefectsFixed() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("h1", "").worker("h2", "");
        try (PlayerProcess p1 = PlayerProcess.start(lab.workerFile("h1"), "-q");
             PlayerProcess p2 = PlayerProcess.start(lab.workerFile("h2"), "-q")) {
            ScenarioResult r = Scenario.named("DTest-Autotest")
                    .results(dir.resolve("results"))
                    .live(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                            dev.conductor.report.Verbosity.NORMAL)
                    // DTest's testers go on after a failure; its self-test relies on that.
                    .onFailure(OnFailure.CONTINUE)
                    .barrier("anotherBarrier", "DTester2")
                    .tester("DTester1", "127.0.0.1:" + lab.cmdport("h1"), t -> {
                        t.barrier("aBarrier");
                        t.step("myCustomStep", () -> true);
                        t.barrier("wait4me4ever");
                        t.sleep(Duration.ofSeconds(6));
                        t.barrier("timedBarrier", Duration.ofMillis(10_600));
                    })
                    .tester("DTester2", "127.0.0.1:" + lab.cmdport("h2"), t -> {
                        t.barrier("aBarrier");
                        t.skip("SKIPPED test", "--because that's life--");
                        t.ok("here is a failure", false);
                        t.ok("ok step using 'string' ok name", true);
                        t.ok("ok step using 'DTester.ok' unbound method", true);
                        t.ok("ok step using 'tester2.__class__.ok' unbound method", true);
                        t.ok("ok step using 'tester2.ok' bound method", true);
                        t.barrier("anotherBarrier");
                        t.todo("TODO step", "--TODO step--", true);
                        t.barrier("wait4me4ever");
                        t.barrier("timedBarrier", Duration.ofMillis(1_500));
                        t.ok("Will make next step to be skipped", false);
                        if (t.lastOk()) {
                            t.ok("This one should be skipped", true);
                        } else {
                            t.ok("This one will be done", true);
                        }
                        if (t.lastOk()) {
                            t.ok("This second one should be done", true);
                        } else {
                            t.ok("This second one should be skipped", true);
                        }
                        t.ok("--END step--", true);
                    })
                    .run();

            String tap = Files.readString(r.runDir().orElseThrow().resolve("report.tap"));
            List<String> lines = tap.lines().toList();
            assertThat(lines.get(0)).isEqualTo("TAP version 14");
            int total = T1.size() + T2.size() + BARRIERS.size();
            assertThat(lines.get(1)).isEqualTo("1.." + total);

            // Every test point numbered in turn; the YAML blocks of failures stand between them.
            Pattern point = Pattern.compile("^(ok|not ok) (\\d+) - (.*)$");
            List<String> points = new java.util.ArrayList<>();
            for (String line : lines) {
                Matcher m = point.matcher(line);
                if (m.matches()) {
                    assertThat(Integer.parseInt(m.group(2))).as(line).isEqualTo(points.size() + 1);
                    points.add(m.group(1) + " " + m.group(3));
                }
            }
            assertThat(points).hasSize(total);
            assertThat(points.stream().filter(p -> p.contains(" DTester1: ")).toList()).containsExactlyElementsOf(T1);
            assertThat(points.stream().filter(p -> p.contains(" DTester2: ")).toList()).containsExactlyElementsOf(T2);
            assertThat(points.stream().filter(p -> p.contains(" barrier ") && !p.contains(": barrier")).toList())
                    .containsExactlyElementsOf(BARRIERS);
            // A barrier's release comes before the steps of those it released.
            assertThat(points.indexOf("ok barrier aBarrier (2 arrived)"))
                    .isLessThan(points.indexOf("ok DTester1: barrier: aBarrier 30"))
                    .isLessThan(points.indexOf("ok DTester2: barrier: aBarrier 30"));
            // The timed barrier: given up by DTester2's limit, and its YAML says so.
            assertThat(tap).contains("reason: \"worker 'DTester2' gave up waiting after 1.5 s\"");
            assertThat(tap).endsWith("# " + (total - 5 - 2) + " ok, 5 not ok, 2 skipped; conduct exit code 1\n");
            assertThat(r.exitCode()).as("DTest exited 0 although its sequence FAILED").isEqualTo(1);

            // DTest's chart had neither results nor times nor barrier exits; ours has all three.
            String chart = Files.readString(r.runDir().get().resolve("sequence.mmd"));
            assertThat(chart).contains("DTester1", "DTester2", "timedBarrier", "FAIL", "ms");
            assertThat(r.events()).filteredOn(e -> e instanceof Event.BarrierReleased).hasSize(4);
        }
    }
}
