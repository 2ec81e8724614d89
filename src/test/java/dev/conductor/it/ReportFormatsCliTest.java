package dev.conductor.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code conduct -f tap|tap13|junit} as a user runs it, and the chart every run folder gets. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReportFormatsCliTest {
    private static final String CONDUCT = "dev.conductor.cli.ConductCommand";
    private static final Path PROVE = Path.of("/usr/bin/prove");

    @TempDir
    Path dir;

    private Path failingTest() throws IOException {
        Lab lab = new Lab(dir);
        lab.worker("sender", "[Run]\nstep1: echo sent\nstep2: echo why >&2; exit 7\nstep3: echo never");
        lab.worker("receiver", "[Run]\nspawn1: sleep 0.1\nstep1: echo 'got # it; ok'\n[Reset]\nstep1: echo bye");
        return lab.write();
    }

    private Path passingTest() throws IOException {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\nstep1: echo up\n[Run]\nstep1: echo run\n[Reset]\nstep1: echo down");
        return lab.write();
    }

    @Test
    void tapOnStdoutIsTheReportAloneAndProveSeesTheFailure() throws Exception {
        Path test = failingTest();
        Path results = dir.resolve("results");
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-f", "tap", "--results", results.toString(), test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines.get(0)).isEqualTo("TAP version 14");
        assertThat(lines.get(1)).isEqualTo("1..6");
        assertThat(r.stdout()).contains("not ok 2 - trial 1 run sender step2: echo why >&2; exit 7\n  ---\n  worker: sender\n")
                .contains("  stderr: |\n    why\n")
                .contains("ok 3 - trial 1 run sender step3: echo never # SKIP ")
                .contains("ok 5 - trial 1 run receiver step1: echo 'got \\# it; ok'\n");
        // Nothing but TAP: every line is the version, the plan, a test point, a comment or inside a YAML block.
        assertThat(lines).allMatch(l -> l.matches("TAP version 14|1\\.\\.\\d+|(not )?ok \\d+ - .*|#.*|  .*"), "TAP lines");

        Jvm.Result r13 = Jvm.run(CONDUCT, 60, "--local", "-f", "tap13", "--results", results.toString(), test.toString());
        assertThat(r13.stdout()).startsWith("TAP version 13\n1..6\n");
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        Path file = dir.resolve("run.tap");
        Files.writeString(file, r13.stdout());
        String prove = prove(file);
        assertThat(prove).doesNotContain("Parse errors").contains("Failed test:  2").contains("Tests=6").contains("Result: FAIL");
    }

    @Test
    void aPassingRunToAFileIsAPassForProveAndStdoutKeepsTheLiveText() throws Exception {
        Path test = passingTest();
        Path out = dir.resolve("reports/run.tap");
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-f", "tap13", "-o", out.toString(),
                "--results", dir.resolve("results").toString(), test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("PASS").doesNotContain("TAP version");
        assertThat(Files.readString(out)).startsWith("TAP version 13\n1..3\n");
        assumeTrue(Files.isExecutable(PROVE), "needs Perl's prove (Debian: perl)");
        assertThat(prove(out)).doesNotContain("Parse errors").contains("All tests successful").contains("Result: PASS");
    }

    @Test
    void junitOnStdoutIsWellFormedWithTheFailureAndItsOutput() throws Exception {
        Path test = failingTest();
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "-f", "junit", "--results", dir.resolve("results").toString(),
                test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        Document doc = f.newDocumentBuilder().parse(new java.io.ByteArrayInputStream(r.stdout().getBytes(StandardCharsets.UTF_8)));
        Element root = doc.getDocumentElement();
        assertThat(root.getTagName()).isEqualTo("testsuites");
        assertThat(List.of(root.getAttribute("tests"), root.getAttribute("failures"), root.getAttribute("errors"),
                root.getAttribute("skipped"))).containsExactly("6", "1", "0", "1");
        Element failure = (Element) doc.getElementsByTagName("failure").item(0);
        assertThat(failure.getAttribute("type")).isEqualTo("failed");
        assertThat(failure.getTextContent()).contains("command: echo why >&2; exit 7").contains("why");
        assertThat(((Element) failure.getParentNode()).getAttribute("classname")).isEqualTo("trial-1.sender.run");
    }

    @Test
    void everyRunFolderGetsTheChartAsMermaidAndSvg() throws Exception {
        Path test = failingTest();
        Path results = dir.resolve("results");
        Jvm.Result r = Jvm.run(CONDUCT, 60, "--local", "--results", results.toString(), test.toString());
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
        Path run;
        try (Stream<Path> runs = Files.list(results)) {
            run = runs.findFirst().orElseThrow();
        }
        assertThat(run.resolve("report.json")).exists();
        String mmd = Files.readString(run.resolve("sequence.mmd"));
        assertThat(mmd).startsWith("sequenceDiagram\n").contains("participant w1 as sender").contains("participant w2 as receiver")
                .contains("w1->>w1: ❌ FAIL 7 step2").contains("w2->>w2: ok step1").contains("got #35; it#59; ok");
        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(run.resolve("sequence.svg").toFile());
        assertThat(svg.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(svg.getDocumentElement().getTextContent()).contains("FAIL 7 step2").contains("got # it; ok");
    }

    @Test
    void anUnknownFormatIsAUsageErrorNamingTheChoices() throws Exception {
        Jvm.Result r = Jvm.run(CONDUCT, 60, "-f", "xml", "--dry-run", passingTest().toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).contains("unknown format 'xml' (expected text, json, tap, tap13 or junit)");
    }

    private static String prove(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(PROVE.toString(), "-v", "--exec", "cat", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
