package dev.conductor.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The TAP report, read back by the consumer the issue names: Perl's {@code prove} (and its
 * TAP::Parser, for the YAML blocks).
 *
 * <p>DTest's TAP ({@code shared/reference/dtest/autotest.tap}) and what we do instead:
 * <ul>
 * <li>no {@code TAP version} line, so it was TAP 12, where YAML diagnostics do not exist: we
 * start with the version line and put the plan right after it;</li>
 * <li>only explicit {@code ok} calls became test points, so a failing command was silent unless
 * an {@code ok} followed it: every step is a test point here, whatever its result;</li>
 * <li>a failure was a bare {@code not ok} line: ours carry a YAML block with worker, phase,
 * trial, code, status, duration, command and the end of stdout and stderr;</li>
 * <li>a timed-out tester showed up only as one extra {@code not ok} at the very end ("Tester
 * did timeout"), far from where it happened: a timed-out step is {@code not ok} where it is,
 * with the limit in its reason, and a lost worker is a {@code not ok} in its own phase;</li>
 * <li>descriptions were not escaped, so a {@code #} in a name turned the rest into a bogus
 * directive: ours escape {@code #} and {@code \} as TAP 14 says;</li>
 * <li>the verdict ("FAILED") was only a trailing comment and the process exited 0 even then:
 * the verdict is in the test points, prove fails on them, and conduct's exit code is non-zero;
 * an interrupted run ends with a {@code not ok} of its own, since the steps it never ran are in
 * no plan ({@code Bail out!} would do, but prove still prints "Result: PASS" above it).</li>
 * </ul>
 * As in DTest, every barrier is a test point of its own (released, or naming who never came).
 */
class TapReportTest {
    private static final Path PROVE = Path.of("/usr/bin/prove");
    private static final Pattern POINT = Pattern.compile("^(ok|not ok) (\\d+) - (.*)$");

    @TempDir
    Path dir;

    @Test
    void versionThenPlanThenOnePointPerStepAndLostWorkerInPhaseAndWorkerOrder() {
        String tap = TapReport.render(RunLog.mixed());
        List<String> lines = tap.lines().toList();
        assertThat(lines.get(0)).isEqualTo("TAP version 14");
        assertThat(lines.get(1)).isEqualTo("1..10");
        List<String> points = lines.stream().filter(l -> POINT.matcher(l).matches()).toList();
        assertThat(points).containsExactly(
                "ok 1 - trial 1 startup receiver step1: rm -rf /tmp/rx && mkdir -p /tmp/rx",
                "ok 2 - trial 1 startup receiver spawn1: perl -e 'listen; accept'",
                "ok 3 - trial 1 startup sender step1: head -c 1048576 /dev/urandom > /tmp/tx/sent.bin && echo \"payload ready\"",
                "not ok 4 - trial 1 run receiver timeout10: until [ -e /tmp/rx/done ]; do sleep 0.05; done",
                "not ok 5 - trial 1 run sender step1: echo why >&2; exit 7 \\# the \\#1 reason",
                "ok 6 - trial 1 run sender step2: echo never # SKIP step 1 (echo why >&2; exit 7 # the #1 reason) failed earlier in this phase",
                "ok 7 - trial 1 collect receiver step1: sha256sum < /tmp/rx/received.bin",
                "not ok 8 - trial 1 collect sender: worker lost: no answer within 15 s (player at 127.0.0.1:6910 stopped answering)",
                "ok 9 - trial 1 reset receiver step1: rm -rf /tmp/rx && echo \"receiver reset\"",
                "ok 10 - trial 1 reset sender step1: rm -rf /tmp/tx && echo \"sender reset\"");
        assertThat(tap).contains("""
                not ok 4 - trial 1 run receiver timeout10: until [ -e /tmp/rx/done ]; do sleep 0.05; done
                  ---
                  worker: receiver
                  phase: run
                  trial: 1
                  step: 1
                  key: timeout10
                  code: 65535
                  status: timeout
                  duration_ms: 10004.000
                  command: "until [ -e /tmp/rx/done ]; do sleep 0.05; done"
                  reason: "Command timed out after 10 seconds (process tree killed)"
                  stdout_omitted_lines: 10
                  stdout: |
                    waiting
                """);
        assertThat(tap).endsWith("# 6 ok, 3 not ok, 1 skipped; conduct exit code 3\n");
    }

    @Test
    void proveReportsTheFailuresAndTheSkipWithoutParseErrors() throws Exception {
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        Prove p = prove(TapReport.render(RunLog.mixed(), 13));
        assertThat(p.output()).doesNotContain("Parse errors");
        assertThat(p.output()).contains("Failed tests:  4-5, 8").contains("Tests=10").contains("Result: FAIL");
        assertThat(p.output()).contains("ok 6 - trial 1 run sender step2: echo never # SKIP");
        assertThat(p.exitCode()).isNotZero();
    }

    @Test
    void provePassesAPassingRun() throws Exception {
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        Prove p = prove(TapReport.render(RunLog.passing(), 13));
        assertThat(p.output()).doesNotContain("Parse errors").contains("All tests successful").contains("Tests=16")
                .contains("Result: PASS");
        assertThat(p.exitCode()).isZero();
    }

    /**
     * Test::Harness learnt TAP 14 in 3.48 (2023); Debian 12's prove is 3.44 and calls the
     * version line a parse error (the only one: the rest of the stream is read as TAP 13).
     * That is why {@code -f tap13} exists: the same stream with the version line such a prove
     * takes.
     */
    @Test
    void version14DiffersFrom13OnlyInTheVersionLineAndOldProveObjectsToNothingElse() throws Exception {
        String v14 = TapReport.render(RunLog.passing());
        String v13 = TapReport.render(RunLog.passing(), 13);
        assertThat(v14).startsWith("TAP version 14\n");
        assertThat(v13).startsWith("TAP version 13\n");
        assertThat(v14.substring(v14.indexOf('\n'))).isEqualTo(v13.substring(v13.indexOf('\n')));
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        Prove p = prove(v14);
        assertThat(p.output()).contains("Tests=16");
        if (p.output().contains("Parse errors")) {
            assertThat(p.output()).contains("Parse errors: TAP specified version 14 but we don't know about versions later than 13");
            assertThat(p.output().lines().filter(l -> l.contains("Parse errors") || l.startsWith("  ") && l.contains("TAP")))
                    .hasSize(1);
        } else {
            assertThat(p.output()).contains("Result: PASS");
        }
    }

    @Test
    void yamlBlocksReadBackExactlyThroughTapParser() throws Exception {
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's TAP::Parser (Debian: perl)");
        String clean = "first line\n\n...\n---\n  indented: two\nkey: value # c\nback\\slash \"q\" 'a'\ntrailing   \n"
                + "emoji \uD83D\uDE00 é\nlast\n";
        List<Event> events = RunLog.start("t.cfg", 1, "w").trial(1).phase(1, Phase.RUN, "w")
                .step(1, Phase.RUN, "w", 0, "step1", "printf 'tricky'; exit 3", Status.FAILED, 3,
                        "printf 'tricky'; exit 3\nexited with code 3", 40, clean, RunLog.NASTY)
                .endPhase(1, Phase.RUN).endTrial(1).finish(1, false);
        String tap = TapReport.render(events, 13);
        assertThat(tap).contains("  stdout: |\n    first line\n    \n    ...\n");
        assertThat(tap).contains("  stderr: \"\\x1B[31mred\\x1B[0m alert\\nnul:\\x00 bell:\\x07");
        JsonNode parsed = parse(tap);
        assertThat(parsed.path("errors")).isEmpty();
        JsonNode yaml = parsed.path("yaml").get(0);
        assertThat(yaml.path("worker").asText()).isEqualTo("w");
        assertThat(yaml.path("phase").asText()).isEqualTo("run");
        assertThat(yaml.path("trial").asInt()).isEqualTo(1);
        assertThat(yaml.path("code").asInt()).isEqualTo(3);
        assertThat(yaml.path("status").asText()).isEqualTo("failed");
        assertThat(yaml.path("duration_ms").asDouble()).isEqualTo(40.0);
        assertThat(yaml.path("command").asText()).isEqualTo("printf 'tricky'; exit 3");
        assertThat(yaml.path("reason").asText()).isEqualTo("exited with code 3");
        assertThat(yaml.path("stdout").asText()).isEqualTo(clean);
        String expectedStderr = RunLog.NASTY.substring(0, RunLog.NASTY.length() - 1).replace('\uD800', '\uFFFD') + "\n";
        assertThat(yaml.path("stderr").asText()).isEqualTo(expectedStderr);
    }

    /** DTest's one test point per barrier, and a YAML block naming who never came when it failed. */
    @Test
    void eachBarrierIsATestPointThatNamesWhoNeverCame() throws Exception {
        String tap = TapReport.render(RunLog.barriers(), 13);
        assertThat(tap.lines().filter(l -> POINT.matcher(l).matches())).containsExactly(
                "ok 1 - trial 1 run a step1: barrier: ready",
                "not ok 2 - trial 1 run a step2: barrier: late",
                "ok 3 - trial 1 run b step1: barrier: ready",
                "not ok 4 - trial 1 run b step2: false",
                "ok 5 - trial 1 run barrier ready (2 arrived)",
                "not ok 6 - trial 1 run barrier late never came: b");
        assertThat(tap).contains("""
                not ok 6 - trial 1 run barrier late never came: b
                  ---
                  phase: run
                  trial: 1
                  arrived: "a"
                  missing: "b"
                  reason: "b finished the phase without arriving"
                  ...
                """);
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        assertThat(prove(tap).output()).doesNotContain("Parse errors").contains("Failed tests:  2, 4, 6");
    }

    /** A reference player sends no output fields: what it has is in the message, which is then quoted. */
    @Test
    void aReferencePlayersMessageIsQuotedWhenItIsAllThereIs() {
        List<Event> events = RunLog.start("t.cfg", 1, "old").trial(1).phase(1, Phase.RUN, "old")
                .step(1, Phase.RUN, "old", 0, "step1", "make test", Status.FAILED, 2, "make test\ncc: error: x.c\nmake: *** [test] Error 2",
                        5, "", "")
                .step(1, Phase.RUN, "old", 1, "timeout5", "sleep 9", Status.TIMEOUT, 1,
                        "Command timed out after 5 seconds (process tree killed)", 5000, "", "")
                .endPhase(1, Phase.RUN).endTrial(1).finish(1, false);
        String tap = TapReport.render(events);
        assertThat(tap).contains("""
                  reason: "cc: error: x.c"
                  message: |
                    make test
                    cc: error: x.c
                    make: *** [test] Error 2
                  ...
                """);
        // Our player's timeout message is the reason itself: no need to say it twice.
        assertThat(tap).contains("""
                  reason: "Command timed out after 5 seconds (process tree killed)"
                  ...
                """);
    }

    @Test
    void hashesAndBackslashesInNamesAreEscapedSoNoDirectiveIsInvented() throws Exception {
        List<Event> events = RunLog.start("t.cfg", 1, "w#1").trial(1).phase(1, Phase.RUN, "w#1")
                .ok(1, Phase.RUN, "w#1", 0, "step1", "echo 'a # SKIP b' \\ c", "")
                .ok(1, Phase.RUN, "w#1", 1, "step2", "echo x # TODO later", "")
                .endPhase(1, Phase.RUN).endTrial(1).finish(0, false);
        String tap = TapReport.render(events, 13);
        assertThat(tap).contains("ok 1 - trial 1 run w\\#1 step1: echo 'a \\# SKIP b' \\\\ c\n");
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's TAP::Parser (Debian: perl)");
        JsonNode parsed = parse(tap);
        assertThat(parsed.path("tests")).hasSize(2);
        for (JsonNode t : parsed.path("tests")) {
            assertThat(t.path("directive").asText()).as(t.toString()).isEmpty();
        }
        Prove p = prove(tap);
        assertThat(p.output()).contains("All tests successful").contains("Result: PASS");
    }

    @Test
    void anInterruptedRunEndsWithAFailureAndARunWithoutStepsSkipsAll() throws Exception {
        List<Event> interrupted = RunLog.start("t.cfg", 1, "w").trial(1).phase(1, Phase.RUN, "w")
                .ok(1, Phase.RUN, "w", 0, "step1", "true", "").endPhase(1, Phase.RUN).endTrial(1).finish(130, true);
        String tap = TapReport.render(interrupted, 13);
        assertThat(tap).startsWith("TAP version 13\n1..2\n").contains("""
                not ok 2 - run interrupted by the user: later steps did not run
                  ---
                  status: interrupted
                  exit_code: 130
                  ...
                """);
        List<Event> empty = RunLog.start("t.cfg", 1, "w").finish(0, false);
        assertThat(TapReport.render(empty)).startsWith("TAP version 14\n1..0 # SKIP no step ran\n");
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        assertThat(prove(tap).output()).contains("Failed test:  2").contains("Result: FAIL");
        assertThat(prove(TapReport.render(empty, 13)).output()).doesNotContain("Parse errors").contains("skipped: no step ran")
                .contains("Result: NOTESTS");
    }

    /** A scenario's report: points in the order they ended, tester-first descriptions, TODO read as TODO. */
    @Test
    void inTimeOrderPointsFollowTheLogAndATodoThatFailsIsNoFailureForProve() throws Exception {
        List<Event> events = RunLog.start("scenario s", 1, "a", "b").trial(1).phase(1, Phase.RUN, "a", "b")
                .step(1, Phase.RUN, "b", 0, "check1", "b checks first", Status.OK, 0, "passed", 1, "", "")
                .step(1, Phase.RUN, "a", 0, "todo1", "a known bug", Status.TODO, 1, "issue 12", 1, "", "")
                .step(1, Phase.RUN, "a", 1, "todo2", "fixed meanwhile", Status.TODO, 0, "issue 13", 1, "", "")
                .step(1, Phase.RUN, "b", 1, "skip2", "later", Status.SKIPPED, 0, "skipped: not yet", 1, "", "")
                .endPhase(1, Phase.RUN).endTrial(1).finish(0, false);
        String tap = TapReport.render(events, 13, TapReport.Order.TIME);
        assertThat(tap).contains("""
                1..4
                # conduct scenario s: 2 worker(s)
                ok 1 - b: b checks first
                not ok 2 - a: a known bug # TODO issue 12
                ok 3 - a: fixed meanwhile # TODO issue 13
                ok 4 - b: later # SKIP not yet
                """);
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        JsonNode parsed = parse(tap);
        assertThat(parsed.path("errors")).isEmpty();
        assertThat(parsed.path("tests").get(1).path("directive").asText()).isEqualTo("TODO");
        assertThat(parsed.path("tests").get(1).path("explanation").asText()).isEqualTo("issue 12");
        Prove p = prove(tap);
        assertThat(p.output()).contains("All tests successful", "Result: PASS");
        assertThat(p.exitCode()).isZero();
    }

    record Prove(int exitCode, String output) {
    }

    private Prove prove(String tap) throws IOException, InterruptedException {
        Path file = Files.createTempFile(dir, "report", ".tap");
        Files.writeString(file, tap);
        return run(List.of(PROVE.toString(), "-v", "--exec", "cat", file.toString()));
    }

    /** Every test point and YAML block as TAP::Parser reads them, and its parse errors. */
    private JsonNode parse(String tap) throws IOException, InterruptedException {
        Path file = Files.createTempFile(dir, "report", ".tap");
        Files.writeString(file, tap);
        Path script = dir.resolve("parse.pl");
        Files.writeString(script, """
                use strict; use warnings; use TAP::Parser; use JSON::PP;
                open(my $fh, '<:encoding(UTF-8)', $ARGV[0]) or die $!;
                my $tap = do { local $/; <$fh> };
                my $p = TAP::Parser->new({ tap => $tap });
                my (@tests, @yaml);
                while (my $r = $p->next) {
                    push @tests, { ok => $r->is_ok ? 1 : 0, number => $r->number, description => $r->description,
                                   directive => $r->directive, explanation => $r->explanation } if $r->is_test;
                    push @yaml, $r->data if $r->is_yaml;
                }
                print JSON::PP->new->utf8->canonical->encode({ tests => \\@tests, yaml => \\@yaml,
                                                               errors => [ $p->parse_errors ] });
                """);
        Prove r = run(List.of("perl", script.toString(), file.toString()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        return new ObjectMapper().readTree(r.output());
    }

    private static Prove run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Prove(p.exitValue(), out);
    }

    static Matcher point(String line) {
        return POINT.matcher(line);
    }
}
