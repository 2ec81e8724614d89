package dev.conductor.it;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.TestPlan;
import dev.conductor.wire.Tls;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Mutual TLS for v2, with certificates made by openssl for the test. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsTest {
    @TempDir
    static Path pki;
    @TempDir
    Path dir;

    @BeforeAll
    static void makeCertificates() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed: TLS tests skipped");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "2", "-subj", "/CN=lab-ca");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "rogue-ca.key",
                "-out", "rogue-ca.pem", "-days", "2", "-subj", "/CN=rogue-ca");
        for (String[] who : new String[][]{{"player", "ca"}, {"conductor", "ca"}, {"intruder", "rogue-ca"}}) {
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", who[0] + ".key",
                    "-out", who[0] + ".csr", "-subj", "/CN=" + who[0]);
            openssl("x509", "-req", "-in", who[0] + ".csr", "-CA", who[1] + ".pem", "-CAkey", who[1] + ".key",
                    "-CAcreateserial", "-out", who[0] + ".pem", "-days", "2");
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("openssl"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).directory(pki.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + out).isZero();
    }

    private static String[] tlsArgs(String who) {
        return new String[]{"--tls-cert", pki.resolve(who + ".pem").toString(), "--tls-key", pki.resolve(who + ".key").toString(),
                "--tls-ca", pki.resolve("ca.pem").toString()};
    }

    private static int conduct(Path test, Conductor.Options options, List<Event> into) throws Exception {
        TestPlan plan = PlanLoader.load(test);
        EventLog log = new EventLog(List.of(into::add));
        return new Conductor(plan, options, log).run();
    }

    @Test
    void mutualTlsRunsAndEveryoneElseIsRefused() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("secure", "[Run]\nstep1: echo over tls");
        Path test = lab.write();
        Conductor.Options base = Conductor.Options.defaults(PlanLoader.load(test));
        try (var player = PlayerProcess.start(lab.workerFile("secure"), tlsArgs("player"))) {
            var ours = Tls.context(new Tls.Files3(pki.resolve("conductor.pem"), pki.resolve("conductor.key"), pki.resolve("ca.pem")));
            List<Event> ok = new java.util.ArrayList<>();
            assertThat(conduct(test, base.withTls(ours), ok)).isZero();
            assertThat(ok).filteredOn(e -> e instanceof Event.StepFinished)
                    .extracting(e -> ((Event.StepFinished) e).stdout()).containsExactly("over tls\n");

            List<Event> plain = new java.util.ArrayList<>();
            assertThat(conduct(test, base, plain)).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(plain).filteredOn(e -> e instanceof Event.WorkerLost).first()
                    .extracting(e -> ((Event.WorkerLost) e).reason()).asString().contains("requires TLS");

            var intruder = Tls.context(new Tls.Files3(pki.resolve("intruder.pem"), pki.resolve("intruder.key"), pki.resolve("ca.pem")));
            List<Event> rogue = new java.util.ArrayList<>();
            assertThat(conduct(test, base.withTls(intruder), rogue)).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(rogue).noneMatch(e -> e instanceof Event.StepFinished);
            assertThat(player.stderr()).contains("TLS handshake failed");
        }
        // A conductor with TLS does not talk to a player without it.
        try (var open = PlayerProcess.start(lab.workerFile("secure"))) {
            var ours = Tls.context(new Tls.Files3(pki.resolve("conductor.pem"), pki.resolve("conductor.key"), pki.resolve("ca.pem")));
            List<Event> events = new java.util.ArrayList<>();
            assertThat(conduct(test, base.withTls(ours), events)).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(events).filteredOn(e -> e instanceof Event.WorkerLost).first()
                    .extracting(e -> ((Event.WorkerLost) e).reason()).asString().contains("TLS with");
        }
    }

    @Test
    void badTlsFilesAreRefusedClearlyByTheCommands() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: true");
        Path test = lab.write();
        Jvm.Result partial = Jvm.run("dev.conductor.cli.ConductCommand", 30, "--tls-cert", pki.resolve("conductor.pem").toString(),
                test.toString());
        assertThat(partial.exitCode()).isEqualTo(2);
        assertThat(partial.stderr()).contains("--tls-key").doesNotContain("\tat ");
        Jvm.Result swapped = Jvm.run("dev.conductor.cli.PlayerCommand", 30, "--tls-cert", pki.resolve("player.key").toString(),
                "--tls-key", pki.resolve("player.pem").toString(), "--tls-ca", pki.resolve("ca.pem").toString(),
                lab.workerFile("dut").toString());
        assertThat(swapped.exitCode()).isEqualTo(2);
        assertThat(swapped.stderr()).contains("no PEM certificate").doesNotContain("\tat ");
    }
}
