package dev.conductor.it;

import dev.conductor.cli.LaunchFlags;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conductor.wire.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Output is streamed, not buffered whole: a step printing hundreds of MiB goes from a player in
 * its own JVM to a conductor (the CLI) in another, into the transcript on disk, while each JVM,
 * started with the flags a user's would have, stays under 256 MB resident.
 *
 * <p>System properties: {@code conductor.streaming.bytes} (default 256 MiB; the figure is
 * 1 GiB: {@code -Dconductor.streaming.bytes=1073741824}), {@code conductor.streaming.conductor.opts}
 * and {@code conductor.streaming.player.opts} (JVM flags; by default those {@code bin/lib/launch.sh}
 * would give: {@code $CONDUCTOR_JAVA_OPTS}, else the launcher's own default).
 */
class StreamingTest {
    /** The launcher's {@code ${CONDUCTOR_JAVA_OPTS:-default}} or {@code ${CONDUCTOR_JAVA_OPTS-default}}. */
    private static final long MB_LIMIT = 256L * 1000 * 1000;
    private static final int TAIL_LIMIT = 64 * 1024;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES) // backstop; each wait below has a deadline scaled to the size
    void aStepPrintingHundredsOfMegabytesIsStreamedToDiskWithBoundedMemoryOnBothSides() throws Exception {
        long bytes = Long.getLong("conductor.streaming.bytes", 256L * 1024 * 1024);
        String conductorOpts = System.getProperty("conductor.streaming.conductor.opts", launcherOpts(LaunchFlags.CONDUCTOR));
        String playerOpts = System.getProperty("conductor.streaming.player.opts", launcherOpts(LaunchFlags.PLAYER));
        Lab lab = new Lab(dir);
        // Long limit: the step ends when everything is printed, however slow the machine.
        lab.worker("big", "[Run]\ntimeout3600: head -c " + bytes + " /dev/zero | tr '\\0' 'x'\n");
        Path test = lab.write();
        Path results = dir.resolve("results");
        Path logs = dir.resolve("logs");
        // 60 s to start and finish, plus at least 4 MB/s: far slower than any machine we run on.
        Duration limit = Duration.ofSeconds(60 + bytes / 4_000_000);

        long playerPeak;
        long conductorPeak;
        long wallNanos;
        int code;
        String conductorOut;
        try (UserJvm player = UserJvm.start("player", playerOpts, logs, "dev.conductor.cli.PlayerCommand",
                lab.workerFile("big").toString()).awaitStderr("listening on", PlayerProcess.startTimeout());
             PeakRss playerRss = PeakRss.of(player.pid())) {
            long t0 = System.nanoTime();
            try (UserJvm conductor = UserJvm.start("conductor", conductorOpts, logs, "dev.conductor.cli.ConductCommand",
                    "--results", results.toString(), test.toString());
                 PeakRss conductorRss = PeakRss.of(conductor.pid())) {
                code = conductor.awaitExit(limit);
                wallNanos = System.nanoTime() - t0;
                conductorPeak = conductorRss.peakBytes();
                conductorOut = conductor.stdout() + conductor.stderr();
            }
            // The player is still up: its high-water mark is exact.
            playerRss.sample();
            playerPeak = playerRss.peakBytes();
        }
        assertThat(code).as("conduct's exit code; its output:\n%s", conductorOut).isZero();

        Path runDir;
        try (var runs = Files.list(results)) {
            runDir = runs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        Path transcript = runDir.resolve("trial-1/big.out");
        assertThat(Files.size(transcript)).isEqualTo(bytes);
        assertOnly('x', transcript);

        // The event log points into the transcript chunk by chunk, with no gap and no overlap.
        long next = 0;
        Instant stepStarted = null;
        Instant lastOutput = null;
        try (BufferedReader r = Files.newBufferedReader(runDir.resolve("events.jsonl"))) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode e = Json.MAPPER.readTree(line);
                switch (e.path("type").asText()) {
                    case "step_started" -> stepStarted = Instant.parse(e.path("started_at").asText());
                    case "output" -> {
                        assertThat(e.path("file").asText()).isEqualTo("trial-1/big.out");
                        assertThat(e.path("offset").asLong()).isEqualTo(next);
                        assertThat(e.has("data")).isFalse();
                        next += e.path("length").asLong();
                        lastOutput = Instant.parse(e.path("time").asText());
                    }
                    default -> {
                    }
                }
            }
        }
        assertThat(next).isEqualTo(bytes);

        // The reports keep only a tail.
        JsonNode result = Json.MAPPER.readTree(runDir.resolve("report.json").toFile())
                .path("trials").path(0).path("phases").path("run").path("workers").path("big").path("results").path(0);
        assertThat(result.path("status").asText()).isEqualTo("ok");
        assertThat(result.path("stdout").asText().getBytes(StandardCharsets.UTF_8).length).isBetween(1, TAIL_LIMIT);
        assertThat(result.path("message").asText().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(TAIL_LIMIT);
        assertThat(Files.size(runDir.resolve("report.json"))).isLessThan(4L * TAIL_LIMIT);
        assertThat(Files.size(runDir.resolve("report.txt"))).isLessThan(4L * TAIL_LIMIT);

        double mb = bytes / 1e6;
        double stepSeconds = result.path("duration_ms").asDouble() / 1e3;
        double endToEnd = Duration.between(stepStarted, lastOutput).toNanos() / 1e9;
        System.out.printf("StreamingTest: %d bytes (%.0f MB); step on the player %.2f s = %.1f MB/s; "
                        + "step start to last byte on the conductor's disk %.2f s = %.1f MB/s; conduct JVM wall %.2f s; "
                        + "peak RSS player %.1f MB, conductor %.1f MB (player opts '%s', conductor opts '%s')%n",
                bytes, mb, stepSeconds, mb / stepSeconds, endToEnd, mb / endToEnd, wallNanos / 1e9,
                playerPeak / 1e6, conductorPeak / 1e6, playerOpts, conductorOpts);
        // Live data stays ~10 MB on both sides; what grows is the heap the JVM's ergonomics allow
        // (G1 starts at 1/64 of RAM and fills its young generation before collecting).
        assertThat(playerPeak).as("player JVM peak RSS with JVM flags '%s'", playerOpts).isPositive().isLessThan(MB_LIMIT);
        assertThat(conductorPeak).as("conductor JVM peak RSS with JVM flags '%s'", conductorOpts).isPositive()
                .isLessThan(MB_LIMIT);
    }

    /**
     * The JVM flags {@code bin/conduct} or {@code bin/player} would start java with, here and now:
     * {@link LaunchFlags}, unless CONDUCTOR_JAVA_OPTS is set (even empty).
     */
    private static String launcherOpts(String defaults) {
        String env = System.getenv("CONDUCTOR_JAVA_OPTS");
        return env == null ? defaults : env;
    }

    private static void assertOnly(char expected, Path file) throws Exception {
        byte[] buf = new byte[1 << 20];
        long at = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                for (int i = 0; i < n; i++) {
                    if (buf[i] != expected) {
                        throw new AssertionError(file + ": byte " + (at + i) + " is " + buf[i] + ", not '" + expected + "'");
                    }
                }
                at += n;
            }
        }
    }
}
