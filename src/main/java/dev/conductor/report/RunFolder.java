package dev.conductor.report;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.conductor.events.Event;
import dev.conductor.wire.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A run's folder, {@code results/<run-id>/}: the event log and transcripts are written into it
 * as the run goes; the reports rendered from the log are added at the end.
 */
public final class RunFolder {
    private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private RunFolder() {
    }

    /** A new run's folder under {@code root}, named by the time and a random suffix (not created yet). */
    public static Path next(Path root) {
        return root.resolve(RUN_ID.format(LocalDateTime.now()) + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000)));
    }

    /** report.json, report.txt ({@code text}: the text account as it was printed) and the sequence chart. */
    public static void writeReports(Path runDir, List<Event> events, byte[] text) throws IOException {
        Files.writeString(runDir.resolve("report.json"), Json.MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(JsonReport.render(events)) + "\n");
        Files.write(runDir.resolve("report.txt"), text);
        SequenceChart chart = SequenceChart.of(events);
        Files.writeString(runDir.resolve("sequence.mmd"), chart.mermaid());
        Files.writeString(runDir.resolve("sequence.svg"), chart.svg());
    }
}
