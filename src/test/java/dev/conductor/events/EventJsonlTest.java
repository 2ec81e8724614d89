package dev.conductor.events;

import dev.conductor.plan.Phase;
import dev.conductor.wire.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class EventJsonlTest {
    @TempDir
    Path dir;

    /** The short way output events take gives the very line the general way gives, escapes included. */
    @Test
    void anOutputLineIsExactlyTheGeneralOne() throws Exception {
        try (EventJsonl log = new EventJsonl(dir.resolve("events.jsonl"))) {
            log.accept(new Event.RunStarted(Instant.parse("2026-12-02T01:00:00Z"), "test.cfg", 1, List.of(Phase.RUN),
                    List.of(new Event.WorkerInfo("dut \"one\"", "127.0.0.1", 6000))));
            for (String worker : List.of("dut \"one\"", "back\\slash", "tab\tand\u0001ctl", "ünïcødé ☃", "unknown")) {
                Event.Output o = new Event.Output(Instant.parse("2026-12-02T01:02:03.456789Z"), 3, Phase.COLLECT, worker, 7,
                        "stderr", "trial-3/" + worker + ".err", 1L << 33, 262_144, new byte[]{1, 2});
                String general = Json.MAPPER.writeValueAsString(log.toJson(o));
                assertThat(log.outputLine(o)).isEqualTo(general);
                assertThat(Json.MAPPER.readTree(log.outputLine(o)).path("worker").asText()).isEqualTo(worker);
            }
        }
    }

    @Test
    void outputEventsAreLinesOfTheLogWithoutTheirBytes() throws Exception {
        Path file = dir.resolve("events.jsonl");
        try (EventJsonl log = new EventJsonl(file)) {
            log.accept(new Event.Output(Instant.now(), 1, Phase.RUN, "w", 0, "stdout", "trial-1/w.out", 0, 3,
                    new byte[]{'a', 'b', 'c'}));
        }
        var line = Json.MAPPER.readTree(Files.readAllLines(file).getFirst());
        assertThat(line.path("type").asText()).isEqualTo("output");
        assertThat(line.path("length").asInt()).isEqualTo(3);
        assertThat(line.has("data")).isFalse();
    }
}
