package dev.conductor.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.conduct.Conductor;
import dev.conductor.conduct.Transcripts;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventJsonl;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import dev.conductor.player.Player;
import dev.conductor.report.JsonReport;
import dev.conductor.wire.Json;
import dev.conductor.wire.StepResult.Status;
import dev.conductor.wire.V1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scale bar: 64 players × 20 Run steps × 5 trials on loopback, and every one of the
 * 6,400 results is in memory, in the event log on disk and in the JSON report, each exactly once.
 */
class ScaleTest {
    private static final int PLAYERS = 64;
    private static final int STEPS = 20;
    private static final int TRIALS = 5;
    /** Run steps that go to the background (1-based positions); the others run in the foreground. */
    private static final Set<Integer> SPAWNED = Set.of(5, 12, 19);

    @TempDir
    Path dir;

    @Test
    // 64 player JVMs on 2 CPUs: 90 to 135 s alone, far more beside other builds; the limit is for a hang, not a speed bar.
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sixtyFourPlayersTwentyStepsFiveTrialsKeepEveryResult() throws Exception {
        int[] ports = distinctFreePorts(2 * PLAYERS);
        StringBuilder testFile = new StringBuilder("[Test]\ntrials: " + TRIALS + "\n\n[Workers]\n");
        for (int w = 0; w < PLAYERS; w++) {
            Files.writeString(dir.resolve(name(w) + ".cfg"), "[Coordinator]\nplayer: 127.0.0.1\nconductor: 127.0.0.1\n"
                    + "cmdport: " + ports[2 * w] + "\nresultsport: " + ports[2 * w + 1] + "\n\n" + sections());
            testFile.append(name(w)).append(": ").append(name(w)).append(".cfg\n");
        }
        Path test = Files.writeString(dir.resolve("test.cfg"), testFile);
        Path runDir = dir.resolve("results").resolve("scale");
        TestPlan plan = PlanLoader.load(test);

        List<Player> players = new ArrayList<>();
        int code;
        EventLog log;
        long started = System.nanoTime();
        try {
            for (int w = 0; w < PLAYERS; w++) {
                players.add(Player.start(Player.Options.of(new InetSocketAddress("127.0.0.1", ports[2 * w]), name(w))));
            }
            try (EventJsonl jsonl = new EventJsonl(runDir.resolve("events.jsonl"));
                 Transcripts transcripts = Transcripts.in(runDir)) {
                log = new EventLog(List.of(jsonl));
                code = new Conductor(plan, Conductor.Options.defaults(plan), log, transcripts).run();
            }
        } finally {
            players.forEach(Player::close);
        }
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        int expected = PLAYERS * STEPS * TRIALS;
        System.out.printf("ScaleTest: %d players x %d steps x %d trials = %d Run results in %d ms%n",
                PLAYERS, STEPS, TRIALS, expected, tookMs);

        assertThat(code).as("exit code; lost: %s", lost(log)).isZero();

        // 1. In memory.
        List<Event.StepFinished> run = log.events().stream()
                .filter(e -> e instanceof Event.StepFinished s && s.phase() == Phase.RUN)
                .map(e -> (Event.StepFinished) e).toList();
        assertThat(run).hasSize(expected);
        Set<String> seen = new HashSet<>();
        for (Event.StepFinished s : run) {
            assertThat(seen.add(s.worker() + "/" + s.trial() + "/" + s.index()))
                    .as("result of %s trial %d step %d seen once", s.worker(), s.trial(), s.index()).isTrue();
            boolean spawned = SPAWNED.contains(s.index() + 1);
            assertThat(s.status()).isEqualTo(spawned ? Status.SPAWNED : Status.OK);
            if (!spawned) {
                assertThat(s.stdout()).isEqualTo(s.worker() + " " + s.trial() + " " + (s.index() + 1) + "\n");
            }
        }
        assertThat(seen).isEqualTo(everyResult());

        // 2. In the event log on disk.
        Set<String> fromJsonl = new HashSet<>();
        int lines = 0;
        try (BufferedReader r = Files.newBufferedReader(runDir.resolve("events.jsonl"))) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode e = Json.MAPPER.readTree(line);
                if (e.path("type").asText().equals("step_finished") && e.path("phase").asText().equals("run")) {
                    lines++;
                    String key = e.path("worker").asText() + "/" + e.path("trial").asInt() + "/" + e.path("index").asInt();
                    assertThat(fromJsonl.add(key)).as("events.jsonl has %s once", key).isTrue();
                    assertThat(e.path("host").asText()).isEqualTo("127.0.0.1");
                }
            }
        }
        assertThat(lines).isEqualTo(expected);
        assertThat(fromJsonl).isEqualTo(everyResult());

        // 3. In the JSON report, leaving out each worker's "phases complete" entry.
        ObjectNode report = JsonReport.render(log.events());
        Set<String> fromReport = new HashSet<>();
        int entries = 0;
        assertThat(report.path("trials")).hasSize(TRIALS);
        for (JsonNode trial : report.path("trials")) {
            int t = trial.path("trial_number").asInt();
            JsonNode workers = trial.path("phases").path("run").path("workers");
            assertThat(workers.size()).isEqualTo(PLAYERS);
            for (var w : workers.properties()) {
                assertThat(w.getValue().path("status").asText()).isEqualTo("passed");
                for (JsonNode result : w.getValue().path("results")) {
                    if (result.path("code").asInt() == V1.PHASE_DONE) {
                        continue;
                    }
                    entries++;
                    String key = w.getKey() + "/" + t + "/" + (result.path("step").asInt() - 1);
                    assertThat(fromReport.add(key)).as("report has %s once", key).isTrue();
                }
            }
        }
        assertThat(entries).isEqualTo(expected);
        assertThat(fromReport).isEqualTo(everyResult());
        assertThat(report.path("metadata").path("exit_code").asInt()).isZero();
    }

    /**
     * Ports held open together until all are found, so none is handed out twice ({@link
     * Lab#freePort()} closes each at once, and among 128 the kernel often repeats one).
     */
    private static int[] distinctFreePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private static String name(int w) {
        return String.format("w%02d", w);
    }

    /** 20 Run steps, three of them spawned; one {@code true} in each other phase. */
    private static String sections() {
        StringBuilder b = new StringBuilder("[Startup]\nstep1: true\n\n[Run]\n");
        for (int i = 1; i <= STEPS; i++) {
            String key = SPAWNED.contains(i) ? "spawn" + i : "step" + i;
            b.append(key).append(": echo $CONDUCTOR_WORKER $CONDUCTOR_TRIAL ").append(i).append('\n');
        }
        return b.append("\n[Collect]\nstep1: true\n\n[Reset]\nstep1: true\n").toString();
    }

    private static Set<String> everyResult() {
        Set<String> all = new HashSet<>();
        for (int w = 0; w < PLAYERS; w++) {
            for (int t = 1; t <= TRIALS; t++) {
                for (int i = 0; i < STEPS; i++) {
                    all.add(name(w) + "/" + t + "/" + i);
                }
            }
        }
        return all;
    }

    private static List<String> lost(EventLog log) {
        return log.events().stream().filter(e -> e instanceof Event.WorkerLost).map(e -> ((Event.WorkerLost) e).worker()
                + ": " + ((Event.WorkerLost) e).reason()).toList();
    }
}
