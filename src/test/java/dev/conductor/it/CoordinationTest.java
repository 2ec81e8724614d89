package dev.conductor.it;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.ConfigException;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Barriers, expect, send/close, signal/terminate/wait and sleep, with real players and processes. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CoordinationTest {
    @TempDir
    Path dir;

    private record Run(int exitCode, List<Event> events) {
        <T extends Event> List<T> all(Class<T> type) {
            return events.stream().filter(type::isInstance).map(type::cast).toList();
        }

        List<Event.StepFinished> steps(String worker) {
            return all(Event.StepFinished.class).stream().filter(s -> s.worker().equals(worker)).toList();
        }
    }

    private Run conduct(Path test) throws Exception {
        TestPlan plan = PlanLoader.load(test);
        EventLog log = new EventLog(List.of());
        try (var transcripts = dev.conductor.conduct.Transcripts.in(dir.resolve("run"))) {
            int code = new Conductor(plan, Conductor.Options.defaults(plan), log, transcripts).run();
            return new Run(code, log.events());
        }
    }

    @Test
    void aClientWaitsAtABarrierUntilTheServerIsListeningThenTalksToIt() throws Exception {
        int port = Lab.freePort();
        Lab lab = new Lab(dir);
        lab.worker("server", "[Run]\n"
                + "spawn1: sleep 0.3; perl -MIO::Socket::INET -e '$|=1; $s = IO::Socket::INET->new(LocalAddr => \"127.0.0.1\","
                + " LocalPort => " + port + ", Listen => 1, ReuseAddr => 1) or die; print \"listening on " + port + "\\n\";"
                + " while ($c = $s->accept) { $l = <$c>; print \"got: $l\"; print $c \"echo: $l\"; close $c }'\n"
                + "step2: expect: spawn1 /listening on (\\d+)/ 10\n"
                + "step3: barrier: ready 10\n"
                + "step4: barrier: done 10\n"
                + "step5: expect: spawn1 /got: hello/ 5\n"
                + "step6: terminate: spawn1 2\n");
        lab.worker("client", "[Run]\n"
                + "step1: barrier: ready 10\n"
                + "step2: perl -MIO::Socket::INET -e '$c = IO::Socket::INET->new(PeerAddr => \"127.0.0.1\", PeerPort => "
                + port + ") or die \"connect: $!\"; print $c \"hello\\n\"; print scalar <$c>'\n"
                + "step3: barrier: done 10\n"
                + "spawn2: tr a-z A-Z\n"
                + "step4: send: spawn2 line\\sone\\n\\x41\n"
                + "step5: close: spawn2\n"
                + "step6: wait: spawn2 5\n"
                + "step7: sleep: 0.2\n");
        Path test = lab.write();
        try (var s = PlayerProcess.start(lab.workerFile("server")); var c = PlayerProcess.start(lab.workerFile("client"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).as(run.events().toString()).isZero();
            assertThat(run.steps("client").get(1).stdout()).isEqualTo("echo: hello\n");
            assertThat(run.steps("server").get(1).stdout()).isEqualTo("listening on " + port);
            assertThat(run.all(Event.BarrierReleased.class)).extracting(Event.BarrierReleased::name, Event.BarrierReleased::ok)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("ready", true), org.assertj.core.groups.Tuple.tuple("done", true));
            assertThat(run.all(Event.BarrierArrived.class)).hasSize(4);
            // The client only connected after the server said it listens.
            Event.StepFinished listening = run.steps("server").get(1);
            Event.StepFinished connected = run.steps("client").get(1);
            assertThat(connected.startedAt().orElseThrow()).isAfter(listening.at().minusMillis(50));
            assertThat(run.all(Event.SpawnExited.class)).anyMatch(e -> e.worker().equals("client") && e.code() == 0);
            // What 'send' wrote (escapes decoded) came back through 'tr' into the client's transcript.
            assertThat(Files.readString(dir.resolve("run/trial-1/client.out"))).contains("LINE ONE\nA");
            assertThat(run.steps("client").get(6).message()).contains("exited with code 0");
        }
    }

    @Test
    void aBarrierFailsAtOnceNamingWhoCannotComeAndTheWaitersFail() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("early", "[Run]\nstep1: barrier: meet 20\nstep2: echo never");
        lab.worker("broken", "[Run]\nstep1: false\nstep2: barrier: meet 20");
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("early")); var b = PlayerProcess.start(lab.workerFile("broken"))) {
            long t0 = System.nanoTime();
            Run run = conduct(test);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("not the 20 s limit").isLessThan(Duration.ofSeconds(12));
            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.all(Event.BarrierReleased.class)).singleElement().satisfies(r -> {
                assertThat(r.ok()).isFalse();
                assertThat(r.missing()).containsExactly("broken");
                assertThat(r.reason()).contains("worker 'broken' will not come");
            });
            assertThat(run.steps("early")).extracting(Event.StepFinished::status).containsExactly(Status.TIMEOUT, Status.SKIPPED);
            assertThat(run.steps("early").getFirst().message()).contains("never came").contains("broken");
        }
    }

    @Test
    void aBarrierTimesOutAfterItsLimit() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("punctual", "[Run]\nstep1: barrier: meet 1");
        lab.worker("late", "[Run]\nstep1: sleep 4\nstep2: barrier: meet 1");
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("punctual")); var b = PlayerProcess.start(lab.workerFile("late"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isEqualTo(1);
            Event.BarrierReleased r = run.all(Event.BarrierReleased.class).getFirst();
            assertThat(r.ok()).isFalse();
            assertThat(r.reason()).contains("timed out");
            assertThat(r.missing()).containsExactly("late");
        }
    }

    @Test
    void anExpectThatNeverMatchesShowsWhatWasRead() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nspawn1: echo booting; echo still booting; sleep 30\nstep2: expect: spawn1 /ready/ 1\nstep3: echo never");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isEqualTo(1);
            Event.StepFinished expect = run.steps("dut").get(1);
            assertThat(expect.status()).isEqualTo(Status.TIMEOUT);
            assertThat(expect.message()).contains("/ready/ not found").contains("still booting");
            assertThat(run.steps("dut").get(2).status()).isEqualTo(Status.SKIPPED);
        }
    }

    @Test
    void expectFindsAPatternSplitAcrossChunksAtTheEndOfMuchOutput() throws Exception {
        Lab lab = new Lab(dir);
        // 20 MB of noise, then the marker written in two pieces with a pause between them.
        lab.worker("dut", "[Run]\nspawn1: head -c 20000000 /dev/zero | tr '\\\\0' x; printf 'MAR'; sleep 0.3; printf 'KER-42\\\\n'; sleep 30\n"
                + "step2: expect: spawn1 /MARKER-(\\d+)/ 20\nstep3: signal: spawn1 TERM\n");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            assertThat(run.steps("dut").get(1).stdout()).isEqualTo("MARKER-42");
            assertThat(run.all(Event.SpawnExited.class)).anyMatch(e -> e.code() == 143 || e.code() == 128 + 15);
        }
    }

    /**
     * While the expect waits, the spawned step's output is kept (in memory, then in a spill file)
     * and sent after: every byte still reaches the transcript, in order, before the phase ends.
     */
    @Test
    void outputKeptWhileAnExpectWaitsArrivesWholeAndInOrder() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nspawn1: seq 1 3000000; echo THE-END; seq 3000001 3100000\n"
                + "step2: expect: spawn1 /THE-END/ 60\nstep3: wait: spawn1 60\n");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            StringBuilder expected = new StringBuilder(24_000_000);
            for (int i = 1; i <= 3_100_000; i++) {
                expected.append(i).append('\n');
                if (i == 3_000_000) {
                    expected.append("THE-END\n");
                }
            }
            byte[] transcript = Files.readAllBytes(dir.resolve("run/trial-1/dut.out"));
            assertThat(transcript.length).isEqualTo(expected.length());
            assertThat(new String(transcript, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo(expected.toString());
            // The chunks' offsets follow each other with no gap and no overlap.
            long at = 0;
            for (Event.Output o : run.all(Event.Output.class)) {
                assertThat(o.offset()).isEqualTo(at);
                at += o.length();
            }
            assertThat(at).isEqualTo(transcript.length);
        }
    }

    @Test
    void coordinationStepsAreCheckedBeforeAnythingRuns() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: expect: spawn9 /x/ 5\nstep2: barrier: bad name!\nstep3: send: - hi\n"
                + "spawn4: cat\nstep5: signal: spawn4 NOPE\nstep6: expect: spawn4 /unclosed(/ 5\nstep7: sleep: -1\nspawn8: expect: spawn4 /x/");
        Path test = lab.write();
        assertThatThrownBy(() -> PlanLoader.load(test)).isInstanceOf(ConfigException.class).satisfies(e -> {
            String m = e.getMessage();
            assertThat(m).contains("dut.cfg:8: step 'step1'").contains("'spawn9', which is not a spawned step before it");
            assertThat(m).contains("dut.cfg:9:").contains("barrier");
            assertThat(m).contains("dut.cfg:10:").contains("no step is spawned before it");
            assertThat(m).contains("dut.cfg:12:").contains("unknown signal 'NOPE'");
            assertThat(m).contains("dut.cfg:13:").contains("not a valid regular expression");
            assertThat(m).contains("dut.cfg:14:").contains("the time to sleep must be more than 0");
            assertThat(m).contains("dut.cfg:15:").contains("cannot also be a spawn step");
        });
    }

    @Test
    void aV1OnlyLinkRefusesCoordinationStepsClearly() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: sleep: 0.1");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            TestPlan plan = PlanLoader.load(test);
            EventLog log = new EventLog(List.of());
            int code = new Conductor(plan, Conductor.Options.defaults(plan).withMaxProtocol(1), log).run();
            assertThat(code).isEqualTo(3);
            assertThat(log.events()).filteredOn(e -> e instanceof Event.WorkerLost).first()
                    .extracting(e -> ((Event.WorkerLost) e).reason()).asString().contains("cannot carry the step 'sleep: 0.1'");
        }
        assertThat(Files.exists(test)).isTrue();
    }

    @Test
    void putAndGetCopyFilesAndFoldersWithChecksumsAndNeverOutsideTheirFolders() throws Exception {
        Files.createDirectories(dir.resolve("payload/sub"));
        byte[] blob = new byte[1_500_000];
        new java.util.Random(3).nextBytes(blob);
        Files.write(dir.resolve("payload/blob.bin"), blob);
        Files.writeString(dir.resolve("payload/sub/note.txt"), "note\n");
        Path playerDir = Files.createDirectories(dir.resolve("player-files"));
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: put: payload/blob.bin in/blob.bin\nstep2: put: payload in/tree\n"
                + "step3: cmp in/blob.bin in/tree/blob.bin && echo same\nstep4: get: in/tree back\n");
        Path test = lab.write();
        // The player's files folder is its working folder.
        List<String> argv = new java.util.ArrayList<>(Jvm.command("dev.conductor.cli.PlayerCommand"));
        argv.add(lab.workerFile("dut").toString());
        Process player = new ProcessBuilder(argv).directory(playerDir.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", lab.cmdport("dut"))) {
                    return true;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            Run run = conduct(test);
            assertThat(run.exitCode()).as(run.events().toString()).isZero();
            assertThat(Files.readAllBytes(playerDir.resolve("in/blob.bin"))).isEqualTo(blob);
            assertThat(run.steps("dut").get(2).stdout()).isEqualTo("same\n");
            assertThat(Files.readAllBytes(dir.resolve("run/trial-1/dut/back/blob.bin"))).isEqualTo(blob);
            assertThat(Files.readString(dir.resolve("run/trial-1/dut/back/sub/note.txt"))).isEqualTo("note\n");
            List<Event.FileCopied> copies = run.all(Event.FileCopied.class);
            assertThat(copies).extracting(Event.FileCopied::direction).containsExactly("put", "put", "get");
            assertThat(copies).allMatch(c -> c.error().isEmpty());
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(blob));
            assertThat(copies.getFirst().entries()).singleElement().extracting(e -> e.sha256()).isEqualTo(sha);
        } finally {
            player.destroy();
            player.waitFor(15, TimeUnit.SECONDS);
        }
        Lab escape = new Lab(dir.resolve("x"));
        Files.createDirectories(dir.resolve("x"));
        escape.worker("dut", "[Run]\nstep1: put: ../secret in/s\nstep2: get: /etc/passwd");
        Path bad = escape.write();
        assertThatThrownBy(() -> PlanLoader.load(bad)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("dut.cfg:8").hasMessageContaining("dut.cfg:9").hasMessageContaining("stay inside its folder");
    }

    @Test
    void phasesWithBarriersAcrossPhasesKeepTheirOwnNames() throws Exception {
        Lab lab = new Lab(dir).test("trials: 2");
        lab.worker("a", "[Startup]\nstep1: barrier: up 5\n[Run]\nstep1: barrier: go 5\n[Reset]\nstep1: barrier: down 5");
        lab.worker("b", "[Startup]\nstep1: barrier: up 5\n[Run]\nstep1: barrier: go 5\n[Reset]\nstep1: barrier: down 5");
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("a")); var b = PlayerProcess.start(lab.workerFile("b"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            assertThat(run.all(Event.BarrierReleased.class)).hasSize(6).allMatch(Event.BarrierReleased::ok);
            assertThat(run.all(Event.BarrierReleased.class)).extracting(Event.BarrierReleased::phase)
                    .containsExactly(Phase.STARTUP, Phase.RUN, Phase.RESET, Phase.STARTUP, Phase.RUN, Phase.RESET);
        }
    }

    /**
     * Over v2 a phase's first command is forked ahead of its start and held until the start
     * instant (docs/PROTOCOL.md): held or not, a spawned first step keeps its stdin pipe for
     * 'send:', a foreground one reads /dev/null, both see their CONDUCTOR_* variables and not
     * the variable that carried the held command, and the player says how late it started.
     */
    @Test
    void aHeldFirstStepBehavesAsAnUnheldOne() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\n"
                + "spawn1: tr a-z A-Z\n"
                + "step2: send: spawn1 held\\n\n"
                + "step3: close: spawn1\n"
                + "step4: expect: spawn1 /HELD/ 5\n"
                + "step5: wait: spawn1 5\n"
                + "[Run]\n"
                + "step1: echo \"$CONDUCTOR_PHASE $CONDUCTOR_WORKER [${CONDUCTOR_HELD_STEP-unset}] $0 $# "
                + "$(readlink /proc/$$/fd/0)\"\n");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"), "--hold-first-step")) {
            Run run = conduct(test);
            assertThat(run.exitCode()).as(run.events().toString()).isZero();
            assertThat(run.steps("dut").get(3).stdout()).isEqualTo("HELD");
            assertThat(run.steps("dut").getLast().stdout()).isEqualTo("run dut [unset] /bin/sh 0 /dev/null\n");
            assertThat(run.all(Event.WorkerFinished.class)).hasSize(4)
                    .allSatisfy(w -> assertThat(w.startLate()).isPresent());
            assertThat(run.all(Event.WorkerStarted.class)).hasSize(4)
                    .allSatisfy(w -> assertThat(w.clockErrorMicros()).isNotNegative());
        }
    }
}
