package dev.conductor.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The examples a user runs, run the way the README says (in a JVM of their own, from a folder of
 * their own so that nothing lands in the checkout), and what they print checked.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ExamplesTest {
    @TempDir
    Path dir;

    private record Ran(int exitCode, String stdout, String stderr) {
    }

    /** {@code java [-cp ours] ARGS} in {@link #dir}, at most {@code seconds}. */
    private Ran java(long seconds, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-XX:+UseSerialGC", "-Xmx128m", "-cp", System.getProperty("java.class.path")));
        argv.addAll(List.of(args));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", args) + " did not finish within " + seconds + " s; stderr: "
                    + Files.readString(err, StandardCharsets.UTF_8));
        }
        return new Ran(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static String example(String path) {
        return Path.of("examples", path).toAbsolutePath().toString();
    }

    @Test
    void md5CopyAsAJavaScenarioPassesAndKeepsTheFileItFetched() throws Exception {
        Ran r = java(120, example("md5-copy/Md5Copy.java"));
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("ok       b            check4", "md5 of A and B agree",
                "the conductor's md5 of the copy agrees", "scenario md5-copy: PASSED (exit code 0)");
        Path run;
        try (var runs = Files.list(dir.resolve("results"))) {
            run = runs.findFirst().orElseThrow();
        }
        assertThat(Files.size(run.resolve("trial-1/a/file.bin"))).isEqualTo(5_000_000);
        assertThat(Files.readString(run.resolve("report.tap"))).contains("1..12\n").doesNotContain("\nnot ok");
        assertThat(run.resolve("events.jsonl")).isNotEmptyFile();
    }

    @Test
    void md5CopyAsAnIniTestPasses() throws Exception {
        Ran r = java(120, "dev.conductor.cli.ConductCommand", "--local", "-q", example("md5-copy/test.cfg"));
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("PASS:");
    }

    @Test
    void clientServerAsAnIniTestPasses() throws Exception {
        Ran r = java(120, "dev.conductor.cli.ConductCommand", "--local", example("client-server/test.cfg"));
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("echo: hello", "PASS:");
    }

    @Test
    void aJavaScenarioGivenBadArgumentsSaysHowToCallIt() throws Exception {
        Ran r = java(60, example("md5-copy/Md5Copy.java"), "only-one-argument");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).contains("usage: bin/scenario examples/md5-copy/Md5Copy.java");
    }
}
