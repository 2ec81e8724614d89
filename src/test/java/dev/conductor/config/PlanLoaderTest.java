package dev.conductor.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.plan.Coordinator;
import dev.conductor.plan.OnFailure;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.plan.TestPlan;
import dev.conductor.plan.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

class PlanLoaderTest {

    private static final Path REFERENCE = dev.conductor.interop.Interop.folder("python-conductor-v1");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    // ---- the reference's own configs, against what it sent on the wire ---------------------

    /** What the reference conductor sent in one {@code phase} frame. */
    private record WireStep(String command, boolean spawn, long timeout) {
    }

    private record WirePhase(String resulthost, int resultport, List<WireStep> steps) {
    }

    /** The {@code phase} frames the conductor sent, per player address ({@code host:port}), in order. */
    private static Map<String, List<WirePhase>> phaseFrames(String transcript) throws IOException {
        Path file = REFERENCE.resolve(transcript);
        if (!Files.isRegularFile(file)) {
            fail(dev.conductor.interop.Interop.notFound(file));
        }
        Map<String, List<WirePhase>> frames = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            JsonNode record = JSON.readTree(line);
            JsonNode message = JSON.readTree(record.get("json").asText());
            if (!record.get("sender").asText().equals("conductor") || !message.get("type").asText().equals("phase")) {
                continue;
            }
            JsonNode data = message.get("data");
            List<WireStep> steps = new ArrayList<>();
            data.get("steps").forEach(s -> steps.add(new WireStep(
                    s.get("command").asText(), s.get("spawn").asBoolean(), s.get("timeout").asLong())));
            frames.computeIfAbsent(record.get("to").asText(), k -> new ArrayList<>())
                    .add(new WirePhase(data.get("resulthost").asText(), data.get("resultport").asInt(), steps));
        }
        return frames;
    }

    /** What our plan would put in the phase frames of one trial, in phase order. */
    private static List<WirePhase> ourFrames(Worker worker) {
        List<WirePhase> frames = new ArrayList<>();
        for (Phase phase : Phase.values()) {
            frames.add(new WirePhase(worker.coordinator().conductor(), worker.coordinator().resultsport(),
                    worker.steps(phase).stream().map(s -> {
                        Step.Command c = (Step.Command) s;
                        return new WireStep(c.command(), c.spawn(), c.limit().toSeconds());
                    }).toList()));
        }
        return frames;
    }

    private static void assertMatchesWire(TestPlan plan, String transcript) throws IOException {
        Map<String, List<WirePhase>> wire = phaseFrames(transcript);
        assertThat(wire.keySet()).as("players on the wire")
                .containsExactlyInAnyOrderElementsOf(plan.workers().stream()
                        .map(w -> w.coordinator().player() + ":" + w.coordinator().cmdport()).toList());
        for (Worker worker : plan.workers()) {
            List<WirePhase> expected = new ArrayList<>();
            for (int trial = 0; trial < plan.trials(); trial++) {
                expected.addAll(ourFrames(worker));
            }
            assertThat(wire.get(worker.coordinator().player() + ":" + worker.coordinator().cmdport()))
                    .as("phase frames to worker %s", worker.name()).isEqualTo(expected);
        }
    }

    @Test
    void singlePlayerLoadsToTheStepsTheReferenceSent() throws Exception {
        TestPlan plan = PlanLoader.load(dev.conductor.interop.Transcript.reference("single-player/conductor.cfg"));

        assertThat(plan.trials()).isEqualTo(1);
        assertThat(plan.onFailure()).isEqualTo(OnFailure.STOP);
        assertThat(plan.workers()).extracting(Worker::name).containsExactly("worker1");
        Worker dut = plan.workers().get(0);
        assertThat(dut.file()).isEqualTo(REFERENCE.resolve("single-player/dut.cfg").normalize());
        assertThat(dut.coordinator()).isEqualTo(new Coordinator("127.0.0.1", "127.0.0.1", 6970, 6971,
                OptionalLong.empty()));
        assertMatchesWire(plan, "single-player.wire.jsonl");

        // the forms of dut.cfg, spelled out: key and line kept, prefixes gone, modes and limits
        assertThat(dut.steps(Phase.RUN)).containsExactly(
                new Step.Command("step1", 12, "echo \"running\"", Step.Mode.NORMAL, Step.DEFAULT_LIMIT),
                new Step.Command("step2", 13, "sh -c 'echo out; echo err >&2; exit 3'", Step.Mode.NORMAL,
                        Step.DEFAULT_LIMIT),
                new Step.Command("step3", 14, "printf 'caf\\303\\251 line1\\nline2\\n'", Step.Mode.NORMAL,
                        Step.DEFAULT_LIMIT),
                new Step.Command("spawn1", 15, "echo spawned-by-key", Step.Mode.SPAWN, Step.DEFAULT_LIMIT),
                new Step.Command("step4", 16, "echo spawned-by-value", Step.Mode.SPAWN, Step.DEFAULT_LIMIT),
                new Step.Command("timeout2", 17, "sleep 5", Step.Mode.TIMEOUT, Duration.ofSeconds(2)),
                new Step.Command("step5", 18, "sleep 3", Step.Mode.TIMEOUT, Duration.ofSeconds(1)));
    }

    @Test
    void twoPlayersLoadToTheStepsTheReferenceSentInBothTrials() throws Exception {
        TestPlan plan = PlanLoader.load(dev.conductor.interop.Transcript.reference("two-players/conductor.cfg"));

        assertThat(plan.trials()).isEqualTo(2);
        assertThat(plan.workers()).extracting(Worker::name).containsExactly("sender", "receiver");
        assertMatchesWire(plan, "two-players-two-trials.wire.jsonl");
    }

    @Test
    void thePlayerCanReadItsOwnWorkerFile() throws Exception {
        Worker worker = PlanLoader.loadWorker("dut", dev.conductor.interop.Transcript.reference("single-player/dut.cfg"));

        assertThat(worker.name()).isEqualTo("dut");
        assertThat(worker.coordinator().player()).isEqualTo("127.0.0.1");
        assertThat(worker.coordinator().cmdport()).isEqualTo(6970);
        assertThat(worker.steps(Phase.STARTUP)).hasSize(2);
    }

    // ---- the test file ------------------------------------------------------------------------

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }

    private static final String COORDINATOR = """
            [Coordinator]
            player: 127.0.0.1
            conductor: 127.0.0.1
            cmdport: 6970
            resultsport: 6971
            """;

    private Path workerFile(String name, int cmdport, String phases) throws IOException {
        return write(name, COORDINATOR.replace("6970", String.valueOf(cmdport))
                .replace("6971", String.valueOf(cmdport + 1)) + phases);
    }

    @Test
    void readsEverySettingOfTheTestSection() throws Exception {
        workerFile("lab/dut.cfg", 6970, "[Run]\nstep1: true\n");
        Path test = write("lab/test.cfg", """
                [Test]
                trials: 3
                format: JSON
                output: results/report.json
                max_message_size: 2.5
                on_failure: continue

                [Workers]
                DUT: dut.cfg
                """);

        TestPlan plan = PlanLoader.load(test);

        assertThat(plan.testFile()).isEqualTo(test);
        assertThat(plan.trials()).isEqualTo(3);
        assertThat(plan.format()).hasValue("json");
        assertThat(plan.output()).hasValue(dir.resolve("lab/results/report.json"));
        assertThat(plan.maxMessageSize()).hasValue(2_621_440L);
        assertThat(plan.onFailure()).isEqualTo(OnFailure.CONTINUE);
        // configparser folds keys, and worker names are keys
        assertThat(plan.workers()).extracting(Worker::name).containsExactly("dut");
        assertThat(plan.workers().get(0).file()).isEqualTo(dir.resolve("lab/dut.cfg"));
    }

    @Test
    void theTestSectionIsOptionalAndHasDefaults() throws Exception {
        workerFile("dut.cfg", 6970, "");
        TestPlan plan = PlanLoader.load(write("test.cfg", "[Workers]\ndut: dut.cfg\n"));

        assertThat(plan.trials()).isEqualTo(1);
        assertThat(plan.format()).isEmpty();
        assertThat(plan.output()).isEmpty();
        assertThat(plan.maxMessageSize()).isEmpty();
        assertThat(plan.onFailure()).isEqualTo(OnFailure.STOP);
        assertThat(plan.workers().get(0).phases()).allSatisfy((phase, steps) -> assertThat(steps).isEmpty());
    }

    @Test
    void clientsIsAnOlderNameForWorkers() throws Exception {
        workerFile("dut.cfg", 6970, "");
        TestPlan plan = PlanLoader.load(write("test.cfg", "[Test]\ntrials = 1\n[Clients]\ndut = dut.cfg\n"));

        assertThat(plan.workers()).extracting(Worker::name).containsExactly("dut");
    }

    @Test
    void workersAndClientsTogetherIsAnError() throws Exception {
        workerFile("dut.cfg", 6970, "");
        Path test = write("test.cfg", "[Workers]\ndut = dut.cfg\n\n[Clients]\nother = dut.cfg\n");

        assertThatThrownBy(() -> PlanLoader.load(test)).isInstanceOf(ConfigException.class)
                .hasMessage(test + ":4: [Clients] is the old name of [Workers]; use one of them, not both"
                        + " (the workers are read from neither)");
    }

    @Test
    void defaultKeysAreVariablesNotStepsNorWorkers() throws Exception {
        write("dut.cfg", """
                [DEFAULT]
                target: 10.0.0.2
                count: 3

                [Coordinator]
                player: 127.0.0.1
                conductor: 127.0.0.1
                cmdport: 6970
                resultsport: 6971

                [Run]
                step1: ping -c %(count)s %(target)s
                step2: echo 100%%
                """);
        Path test = write("test.cfg", "[DEFAULT]\nfile: dut.cfg\n[Workers]\ndut: %(file)s\n");

        TestPlan plan = PlanLoader.load(test);

        assertThat(plan.workers()).extracting(Worker::name).containsExactly("dut");
        Worker dut = plan.workers().get(0);
        assertThat(dut.steps(Phase.RUN)).extracting(s -> ((Step.Command) s).command())
                .containsExactly("ping -c 3 10.0.0.2", "echo 100%");
        assertThat(dut.steps(Phase.STARTUP)).isEmpty();
    }

    @Test
    void coordinatorKeysMayComeFromDefaultAsInTheReference() throws Exception {
        write("dut.cfg", """
                [DEFAULT]
                conductor: 10.0.0.1

                [Coordinator]
                player: 10.0.0.2
                cmdport: 6970
                resultsport: 6971
                max_message_size: 1
                """);
        Worker dut = PlanLoader.loadWorker("dut", dir.resolve("dut.cfg"));

        assertThat(dut.coordinator()).isEqualTo(new Coordinator("10.0.0.2", "10.0.0.1", 6970, 6971,
                OptionalLong.of(1_048_576)));
    }

    // ---- steps --------------------------------------------------------------------------------

    private List<Step> runSteps(String run) throws Exception {
        workerFile("w.cfg", 6970, "[Run]\n" + run);
        return PlanLoader.loadWorker("w", dir.resolve("w.cfg")).steps(Phase.RUN);
    }

    @Test
    void stepModesFromKeysAndValuePrefixes() throws Exception {
        assertThat(runSteps("""
                step1: echo plain
                Spawn2: tcpdump -w x.pcap
                step3: spawn: iperf3 -s
                TIMEOUT10: ./long.sh
                step5: timeout3:sleep 1
                step6: timeout 5 ping -c 1 host
                spawn7: spawn:echo both say spawn
                step8: echo a
                  continued
                """)).containsExactly(
                new Step.Command("step1", 7, "echo plain", Step.Mode.NORMAL, Step.DEFAULT_LIMIT),
                new Step.Command("spawn2", 8, "tcpdump -w x.pcap", Step.Mode.SPAWN, Step.DEFAULT_LIMIT),
                new Step.Command("step3", 9, "iperf3 -s", Step.Mode.SPAWN, Step.DEFAULT_LIMIT),
                new Step.Command("timeout10", 10, "./long.sh", Step.Mode.TIMEOUT, Duration.ofSeconds(10)),
                new Step.Command("step5", 11, "sleep 1", Step.Mode.TIMEOUT, Duration.ofSeconds(3)),
                // the coreutils command, not our prefix
                new Step.Command("step6", 12, "timeout 5 ping -c 1 host", Step.Mode.NORMAL, Step.DEFAULT_LIMIT),
                new Step.Command("spawn7", 13, "echo both say spawn", Step.Mode.SPAWN, Step.DEFAULT_LIMIT),
                new Step.Command("step8", 14, "echo a\ncontinued", Step.Mode.NORMAL, Step.DEFAULT_LIMIT));
    }

    @Test
    void badStepsAreAllReportedWithFileAndLine() throws Exception {
        Path w = workerFile("w.cfg", 6970, """
                [Run]
                timeout0: sleep 1
                timeoutx: sleep 1
                step3: timeout0:sleep 1
                step4: timeoutabc:sleep 1
                step5:
                step6: spawn:
                spawn7: timeout5:sleep 1
                step8: date +%s
                step9: echo %(nope)s
                """);

        assertThatThrownBy(() -> PlanLoader.loadWorker("w", w)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.problems()).extracting(ConfigException.Problem::line)
                    .containsExactly(7, 8, 9, 10, 11, 12, 13, 14, 15);
            assertThat(e.problems()).allSatisfy(p -> assertThat(p.file()).isEqualTo(w.toString()));
            assertThat(e.getMessage().lines().toList()).containsExactly(
                    w + ":7: step 'timeout0' in [Run]: a key starting with 'timeout' must end in the limit in whole"
                            + " seconds, at least 1 (e.g. timeout10)",
                    w + ":8: step 'timeoutx' in [Run]: a key starting with 'timeout' must end in the limit in whole"
                            + " seconds, at least 1 (e.g. timeout10)",
                    w + ":9: step 'step3' in [Run]: 'timeout0:' must be 'timeout' followed by the limit in whole"
                            + " seconds, at least 1, and ':' (e.g. timeout10:sleep 5)",
                    w + ":10: step 'step4' in [Run]: 'timeoutabc:' must be 'timeout' followed by the limit in"
                            + " whole seconds, at least 1, and ':' (e.g. timeout10:sleep 5)",
                    w + ":11: step 'step5' in [Run] has no command",
                    w + ":12: step 'step6' in [Run] has no command",
                    w + ":13: step 'spawn7' in [Run]: its key makes it a spawn step but its value starts with a"
                            + " prefix for a timeout 5 s step; use one or the other",
                    w + ":14: option 'step8' in section 'Run': '%' must be followed by '%' or '(name)s', found"
                            + " '%s' (write %% for a literal %)",
                    w + ":15: option 'step9' in section 'Run' uses %(nope)s, but there is no key 'nope' in [Run]"
                            + " or [DEFAULT] (write %% for a literal %)");
            assertThat(e.problems().get(7).kind()).isEqualTo(ConfigException.Kind.INTERPOLATION_SYNTAX);
        });
    }

    // ---- validation: every problem, each with file and line -----------------------------------

    private static ConfigException loadFails(Path test) {
        try {
            PlanLoader.load(test);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("expected " + test + " to be rejected");
    }

    @Test
    void missingWorkersSection() throws Exception {
        Path test = write("test.cfg", "[Test]\ntrials: 1\n");
        assertThat(loadFails(test).getMessage())
                .isEqualTo(test + ": no [Workers] section; list each worker in it as 'name = worker file'");
    }

    @Test
    void emptyWorkersSection() throws Exception {
        Path test = write("test.cfg", "[Test]\ntrials: 1\n\n[Workers]\n# none yet\n");
        assertThat(loadFails(test).getMessage())
                .isEqualTo(test + ":4: [Workers] lists no workers; add one per line as 'name = worker file'");
    }

    @Test
    void missingWorkerFileNamesTheWorkerAndTheResolvedPath() throws Exception {
        Path test = write("tests/test.cfg", "[Workers]\nweb: ../cfg/web.cfg\n");
        ConfigException e = loadFails(test);
        assertThat(e.getMessage()).isEqualTo(test + ":2: worker 'web': worker file " + dir.resolve("cfg/web.cfg")
                + " does not exist (paths are relative to the test file's folder)");
        assertThat(e.file()).isEqualTo(test.toString());
        assertThat(e.line()).isEqualTo(2);
    }

    @Test
    void inlineCommentsGetAHint() throws Exception {
        Path test = write("test.cfg", "[Workers]\nweb: web.cfg   # the web server\n");
        assertThat(loadFails(test).getMessage()).contains("'#' and ';' start a comment only at the start of a line");
    }

    @Test
    void syntaxErrorsInAWorkerFileNameThatFile() throws Exception {
        Path w = write("w.cfg", COORDINATOR + "[Run]\nstep1: a\nSTEP1: b\n");
        Path test = write("test.cfg", "[Workers]\nw: w.cfg\n");
        ConfigException e = loadFails(test);
        assertThat(e.getMessage()).isEqualTo(w + ":8: option 'step1' in section 'Run' already exists (first at line 7)");
        assertThat(e.kind()).isEqualTo(ConfigException.Kind.DUPLICATE_OPTION);
    }

    @Test
    void everyProblemInEveryFileIsReportedAtOnce() throws Exception {
        Path test = write("test.cfg", """
                [Test]
                trials: 0
                format: xml
                on_failure: maybe
                max_message_size: ten

                [Worker]
                a: nothing

                [Workers]
                alpha: alpha.cfg
                beta: beta.cfg
                gamma: gamma.cfg
                delta: delta.cfg
                ghost: ghost.cfg
                """);
        Path alpha = workerFile("alpha.cfg", 6970, "[Run]\nstep1: true\n");
        // same player and cmdport, same conductor and resultsport as alpha
        Path beta = workerFile("beta.cfg", 6970, "[Run]\nstep1: true\n");
        Path gamma = write("gamma.cfg", """
                [Coordinator]
                player: 10.0.0.1
                cmdport: http
                resultsport: 70000

                [Rnu]
                step1: true

                [run]
                step1: true
                """);
        Path delta = write("delta.cfg", "[Startup]\nstep1: true\n");

        ConfigException e = loadFails(test);

        assertThat(e.getMessage().lines().toList()).containsExactly(
                test + ":2: trials must be a whole number, at least 1, not '0'",
                test + ":3: format must be text, json, tap, tap13 or junit, not 'xml'",
                test + ":4: on_failure must be stop or continue, not 'maybe'",
                test + ":5: max_message_size must be a positive number of megabytes (e.g. 10), not 'ten'",
                test + ":7: unknown section 'Worker' (expected Test, Workers)",
                test + ":15: worker 'ghost': worker file " + dir.resolve("ghost.cfg")
                        + " does not exist (paths are relative to the test file's folder)",
                gamma + ":1: [Coordinator] has no 'conductor' (the address results are sent to)",
                gamma + ":3: cmdport must be a whole number, 1-65535, not 'http'",
                gamma + ":4: resultsport must be a whole number, 1-65535, not '70000'",
                gamma + ":6: unknown phase 'Rnu' (expected Startup, Run, Collect, Reset)",
                gamma + ":9: unknown phase 'run' (expected Startup, Run, Collect, Reset); section names are"
                        + " case-sensitive: did you mean [Run]?",
                delta + ": no [Coordinator] section; it sets player, conductor, cmdport and resultsport",
                beta + ":4: worker 'beta' has the same player and cmdport (127.0.0.1 port 6970) as worker 'alpha' ("
                        + alpha + ":4); two players cannot listen on one port: give each worker its own cmdport",
                beta + ":5: worker 'beta' sends its results to 127.0.0.1 port 6971 like worker 'alpha' ("
                        + alpha + ":5); the conductor could not tell their results apart: give each worker its"
                        + " own resultsport");
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.kind()).isEqualTo(ConfigException.Kind.INVALID));
    }

    @Test
    void aPlayerAndItsConductorOnOneHostNeedTwoPorts() throws Exception {
        Path w = write("w.cfg", COORDINATOR.replace("6971", "6970"));
        assertThatThrownBy(() -> PlanLoader.loadWorker("w", w)).hasMessage(w + ":5: cmdport and resultsport are"
                + " both 6970 on 127.0.0.1; the player and the conductor cannot both listen there");
    }

    @Test
    void theOldMasterSectionGetsAHint() throws Exception {
        Path w = write("w.cfg", COORDINATOR.replace("[Coordinator]", "[Master]"));
        assertThatThrownBy(() -> PlanLoader.loadWorker("w", w)).hasMessageContaining(
                w + ":1: unknown phase 'Master' (expected Startup, Run, Collect, Reset); [Master] is the old name of"
                        + " [Coordinator]: rename it");
    }

    @Test
    void maxMessageSizeLimits() throws Exception {
        Path w = write("w.cfg", COORDINATOR + "max_message_size: 0\n");
        assertThatThrownBy(() -> PlanLoader.loadWorker("w", w))
                .hasMessage(w + ":6: max_message_size must be more than 0 megabytes, not '0'");
        Path big = write("big.cfg", COORDINATOR + "max_message_size: 4096\n");
        assertThatThrownBy(() -> PlanLoader.loadWorker("w", big)).hasMessageContaining("larger than a frame can be");
        Path ok = write("ok.cfg", COORDINATOR + "max_message_size: 4095\n");
        assertThat(PlanLoader.loadWorker("w", ok).coordinator().maxMessageSize()).hasValue(4095L * 1024 * 1024);
    }

    @Test
    void aBrokenTestFileIsReportedAsIs() throws Exception {
        Path test = write("test.cfg", "trials: 1\n[Test]\n");
        ConfigException e = loadFails(test);
        assertThat(e.kind()).isEqualTo(ConfigException.Kind.MISSING_SECTION_HEADER);
        assertThat(e.getMessage()).startsWith(test + ":1: ");
    }

    @Test
    void aMissingTestFile() {
        Path test = dir.resolve("nope.cfg");
        ConfigException e = loadFails(test);
        assertThat(e.kind()).isEqualTo(ConfigException.Kind.UNREADABLE);
        assertThat(e.getMessage()).isEqualTo(test + ": no such file");
    }
}
