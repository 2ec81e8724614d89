package dev.conductor.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The commands as a user runs them: their own JVM, their exit codes, what they print where. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CliTest {
    private static final String CONDUCT = "dev.conductor.cli.ConductCommand";
    private static final String PLAYER = "dev.conductor.cli.PlayerCommand";

    @TempDir
    Path dir;

    @Test
    void jsonGoesToStdoutAloneWithRealWorkerNamesAndEveryStepsDetails() throws Exception {
        Lab lab = new Lab(dir).test("trials: 2");
        lab.worker("sender", "[Run]\nstep1: echo sent\ntimeout5: echo timed >&2");
        lab.worker("receiver", "[Run]\nspawn1: sleep 0.1\n[Reset]\nstep1: echo bye");
        Path test = lab.write();
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-f", "json", test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout()); // fails on any stray text
        assertThat(report.at("/metadata/total_trials").asInt()).isEqualTo(2);
        assertThat(report.at("/metadata/exit_code").asInt()).isZero();
        assertThat(report.get("trials")).hasSize(2);
        JsonNode sender = report.at("/trials/1/phases/run/workers/sender/results");
        assertThat(sender.get(0).get("command").asText()).isEqualTo("echo sent");
        assertThat(sender.get(0).get("stdout").asText()).isEqualTo("sent\n");
        assertThat(sender.get(0).get("mode").asText()).isEqualTo("normal");
        assertThat(sender.get(1).get("mode").asText()).isEqualTo("timeout");
        assertThat(sender.get(1).get("stderr").asText()).isEqualTo("timed\n");
        assertThat(sender.get(1).get("duration_ms").isNumber()).isTrue();
        assertThat(sender.get(2).get("code").asInt()).isEqualTo(65535);
        assertThat(report.at("/trials/0/phases/run/workers/receiver/results/0/status").asText()).isEqualTo("spawned");
        assertThat(report.at("/trials/0/phases/reset/workers/receiver/results/0/stdout").asText()).isEqualTo("bye\n");
    }

    @Test
    void outputFileGetsTheReportAndStdoutTheLiveAccount() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: echo hello");
        Path test = lab.write();
        Path out = dir.resolve("reports/run.json");
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-f", "json", "-o", out.toString(), test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("ok").contains("dut").contains("step1").contains("| hello").contains("PASS");
        assertThat(new ObjectMapper().readTree(out.toFile()).at("/trials/0/phases/run/workers/dut/results/0/stdout").asText())
                .isEqualTo("hello\n");
    }

    @Test
    void aFailedStepExitsOneAndTheTextShowsCodeAndOutput() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: echo why >&2; exit 7\nstep2: echo never");
        Path test = lab.write();
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", test.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stdout()).contains("FAIL 7").contains("! why").contains("SKIP").contains("1 failed, 1 skipped");
    }

    @Test
    void anUnreachablePlayerExitsThreeNamingIt() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("ghost", "[Run]\nstep1: true");
        Path test = lab.write();
        Jvm.Result r = Jvm.run(CONDUCT, 60, test.toString());
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).contains("LOST").contains("ghost").contains("connection refused");
        assertThat(r.stdout() + r.stderr()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void badConfigExitsTwoNamingFileAndLineWithoutATrace() throws Exception {
        Files.writeString(dir.resolve("w.cfg"), "[Coordinator]\nplayer: 127.0.0.1\nconductor: 127.0.0.1\ncmdport: 99999\nresultsport: 6971\n[Rnu]\nstep1: true\n");
        Files.writeString(dir.resolve("test.cfg"), "[Test]\ntrials: 1\n[Workers]\nw: w.cfg\nmissing: nowhere.cfg\n");
        Jvm.Result r = Jvm.run(CONDUCT, 30, dir.resolve("test.cfg").toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).contains("w.cfg:4").contains("cmdport").contains("Rnu").contains("nowhere.cfg");
        assertThat(r.stderr()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void badUsageExitsTwo() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: true");
        Path test = lab.write();
        assertThat(Jvm.run(CONDUCT, 30, "-p", "bogus", test.toString()).stderr()).contains("unknown phase 'bogus'");
        assertThat(Jvm.run(CONDUCT, 30, "-p", "bogus", test.toString()).exitCode()).isEqualTo(2);
        assertThat(Jvm.run(CONDUCT, 30, "-c", "nobody", test.toString()).stderr()).contains("no worker 'nobody'").contains("dut");
        assertThat(Jvm.run(CONDUCT, 30, "-t", "zero", test.toString()).exitCode()).isEqualTo(2);
        assertThat(Jvm.run(CONDUCT, 30, "-f", "xml", test.toString()).stderr()).contains("unknown format 'xml'");
        assertThat(Jvm.run(CONDUCT, 30, dir.resolve("absent.cfg").toString()).exitCode()).isEqualTo(2);
    }

    @Test
    void dryRunPrintsThePlanAndContactsNoOne() throws Exception {
        Lab lab = new Lab(dir).test("trials: 3");
        lab.worker("dut", "[Startup]\nspawn1: sleep 9\n[Run]\nstep1: echo a\ntimeout7: echo b\nstep3: timeout2:echo c");
        Path test = lab.write();
        Jvm.Result r = Jvm.run(CONDUCT, 30, "--dry-run", "-p", "startup", "run", test.toString());
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).contains("3 trial(s)").contains("worker dut").contains("spawn1").contains("background")
                .contains("timeout7").contains("limit 7 s").contains("limit 2 s").contains("deadline 49 s");
        JsonNode plan = new ObjectMapper().readTree(Jvm.run(CONDUCT, 30, "--dry-run", "-f", "json", test.toString()).stdout());
        assertThat(plan.at("/workers/dut/phases/run/steps/2/command").asText()).isEqualTo("echo c");
    }

    @Test
    void runOnlySomePhasesAndWorkersAsTheReferenceOptionsSay() throws Exception {
        Lab lab = new Lab(dir).test("trials: 3");
        lab.worker("a", "[Startup]\nstep1: echo a-start\n[Run]\nstep1: echo a-run");
        lab.worker("b", "[Run]\nstep1: echo b-run");
        Path test = lab.write();
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-t", "1", "-p", "run", "--clients", "a", "-f", "json", test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        assertThat(report.get("trials")).hasSize(1);
        assertThat(report.at("/trials/0/phases").fieldNames()).toIterable().containsExactly("run");
        assertThat(report.at("/trials/0/phases/run/workers").fieldNames()).toIterable().containsExactly("a");
    }

    @Test
    void versionAndHelp() throws Exception {
        assertThat(Jvm.run(CONDUCT, 30, "--version").stdout()).contains("Conductor for Java");
        assertThat(Jvm.run(PLAYER, 30, "--version").stdout()).contains("Conductor for Java");
        assertThat(Jvm.run(CONDUCT, 30, "--help").stdout()).contains("Exit codes").contains("--local");
    }

    @Test
    void playerRefusesAPortInUseAndABadConfigClearly() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Lab lab = new Lab(dir);
            lab.worker("dut", "[Run]\nstep1: true");
            lab.write();
            Jvm.Result r = Jvm.run(PLAYER, 30, "-p", String.valueOf(taken.getLocalPort()), lab.workerFile("dut").toString());
            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.stderr()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()).doesNotContain("\tat ");
        }
        Files.writeString(dir.resolve("bad.cfg"), "[Coordinator]\nplayer 127.0.0.1\n");
        Jvm.Result r = Jvm.run(PLAYER, 30, dir.resolve("bad.cfg").toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).contains("bad.cfg:2");
    }

    @Test
    void aPlayerOnANonLoopbackAddressWarnsThatItHasNoAuthentication() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: true");
        lab.write();
        int port = Lab.freePort();
        // 0.0.0.0 is any address, not loopback; the test only listens, it sends nothing anywhere.
        try (var p = PlayerProcess.start(lab.workerFile("dut"), "-b", "0.0.0.0", "-p", String.valueOf(port))) {
            assertThat(p.stderr()).contains("WARNING").contains("without authentication");
        }
    }
}
