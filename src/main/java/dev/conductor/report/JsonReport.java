package dev.conductor.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.events.Event;
import dev.conductor.wire.Json;
import dev.conductor.wire.V1;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * The JSON report: the reference's shape ({@code metadata}, {@code trials[].phases.<phase>
 * .workers.<name>.results[]}) with real worker names, and every step's command, mode, status,
 * code, duration, stdout and stderr. Rendered from the event log alone.
 */
public final class JsonReport {
    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx");

    private JsonReport() {
    }

    public static ObjectNode render(List<Event> events) {
        ObjectNode root = Json.object();
        ObjectNode meta = root.putObject("metadata");
        ArrayNode trials = root.putArray("trials");
        ObjectNode trial = null;
        ObjectNode phase = null;
        java.util.Map<String, Instant> firstStarts = new java.util.LinkedHashMap<>();
        for (Event event : events) {
            switch (event) {
                case Event.RunStarted e -> {
                    meta.put("start_time", time(e.at()));
                    meta.put("test_file", e.testFile());
                    meta.put("total_trials", e.trials());
                    meta.put("total_workers", e.workers().size());
                    ObjectNode ws = meta.putObject("workers");
                    for (Event.WorkerInfo w : e.workers()) {
                        ws.putObject(w.name()).put("player", w.player()).put("cmdport", w.cmdport());
                    }
                }
                case Event.TrialStarted e -> {
                    trial = trials.addObject();
                    trial.put("trial_number", e.trial());
                    trial.put("start_time", time(e.at()));
                    trial.putObject("phases");
                }
                case Event.PhaseStarted e -> {
                    phase = ((ObjectNode) trial.get("phases")).putObject(e.phase().key());
                    phase.put("start_time", time(e.at()));
                    ObjectNode ws = phase.putObject("workers");
                    for (String w : e.workers()) {
                        ObjectNode wn = ws.putObject(w);
                        wn.put("status", "pending");
                        wn.putArray("results");
                    }
                }
                case Event.WorkerStarted e -> {
                    ObjectNode w = worker(phase, e.worker());
                    w.put("start_time", time(e.at()));
                    w.put("status", "running");
                }
                case Event.StepFinished e -> {
                    ObjectNode w = worker(phase, e.worker());
                    ObjectNode r = ((ArrayNode) w.get("results")).addObject();
                    r.put("timestamp", time(e.at()));
                    r.put("code", e.code());
                    r.put("message", e.message());
                    r.put("step", e.index() + 1);
                    r.put("key", e.key());
                    r.put("command", e.command());
                    r.put("mode", e.mode().key());
                    r.put("status", e.status().key());
                    e.startedAt().ifPresent(t -> r.put("started_at", time(t)));
                    if (e.index() == 0 && e.startedAt().isPresent()) {
                        firstStarts.putIfAbsent(e.worker(), e.startedAt().get());
                    }
                    if (e.duration().isPresent()) {
                        r.put("duration_ms", e.duration().get().toNanos() / 1e6);
                    } else {
                        r.putNull("duration_ms");
                    }
                    r.put("stdout", e.stdout());
                    r.put("stderr", e.stderr());
                    if (e.failed()) {
                        w.put("status", "failed");
                    }
                }
                case Event.WorkerFinished e -> {
                    ObjectNode w = worker(phase, e.worker());
                    ArrayNode results = (ArrayNode) w.get("results");
                    ObjectNode done = results.addObject();
                    done.put("timestamp", time(e.at()));
                    done.put("code", V1.PHASE_DONE);
                    done.put("message", "phases complete");
                    w.put("end_time", time(e.at()));
                    if ("running".equals(w.path("status").asText())) {
                        w.put("status", "passed");
                    }
                }
                case Event.WorkerLost e -> {
                    if (phase != null && phase.path("workers").has(e.worker())) {
                        ObjectNode w = worker(phase, e.worker());
                        w.put("status", "lost");
                        w.put("error", e.reason());
                        w.put("end_time", time(e.at()));
                    } else {
                        meta.withArray("errors").add(e.worker() + ": " + e.reason());
                    }
                }
                case Event.PhaseFinished e -> {
                    phase.put("end_time", time(e.at()));
                    if (phase.has("start_at") && firstStarts.size() >= 1) {
                        Instant min = firstStarts.values().stream().min(Instant::compareTo).orElseThrow();
                        Instant max = firstStarts.values().stream().max(Instant::compareTo).orElseThrow();
                        phase.put("start_spread_ms", java.time.Duration.between(min, max).toNanos() / 1e6);
                        phase.put("start_spread_workers", firstStarts.size());
                    }
                    firstStarts.clear();
                }
                case Event.LinkOpened e -> {
                    ObjectNode w = (ObjectNode) meta.path("workers").path(e.worker());
                    if (!w.isMissingNode()) {
                        w.put("protocol", e.protocol());
                        w.put("player_version", e.playerVersion());
                        if (e.protocol() >= 2) {
                            w.put("clock_offset_ms", e.offsetMicros() / 1e3);
                            w.put("rtt_ms", e.rttMicros() / 1e3);
                        }
                        w.withArray("links").add(time(e.at()));
                    }
                }
                case Event.PhaseReleased e -> phase.put("start_at", time(e.startAt()));
                case Event.StepStarted e -> firstStarts.putIfAbsent(e.worker(), e.startedAt());
                case Event.Output e -> {
                }
                case Event.BarrierArrived e -> {
                }
                case Event.FileCopied e -> {
                    ObjectNode f = worker(phase, e.worker()).withArray("files").addObject();
                    f.put("step", e.index() + 1);
                    f.put("direction", e.direction());
                    f.put("from", e.from());
                    f.put("to", e.to());
                    f.set("entries", dev.conductor.wire.FileTransfer.json(e.entries()));
                    if (!e.error().isEmpty()) {
                        f.put("error", e.error());
                    }
                }
                case Event.BarrierReleased e -> {
                    ObjectNode b = phase.withObject("barriers").putObject(e.name());
                    b.put("ok", e.ok());
                    e.arrived().forEach(b.withArray("arrived")::add);
                    e.missing().forEach(b.withArray("missing")::add);
                    if (!e.ok()) {
                        b.put("reason", e.reason());
                    }
                    b.put("released_at", time(e.at()));
                }
                case Event.SpawnExited e -> {
                    ObjectNode exits = meta.withObject("spawn_exits");
                    exits.withArray(e.worker()).addObject().put("trial", e.trial()).put("phase", e.phase().key())
                            .put("step", e.index() + 1).put("code", e.code()).put("time", time(e.at()));
                }
                case Event.TrialFinished e -> trial.put("end_time", time(e.at()));
                case Event.RunFinished e -> {
                    meta.put("end_time", time(e.at()));
                    meta.put("exit_code", e.exitCode());
                    meta.put("interrupted", e.interrupted());
                }
            }
        }
        return root;
    }

    private static ObjectNode worker(ObjectNode phase, String name) {
        return (ObjectNode) phase.get("workers").get(name);
    }

    /** ISO-8601 with microseconds, like the reference, plus the UTC offset it left out. */
    static String time(Instant t) {
        return OffsetDateTime.ofInstant(t.truncatedTo(ChronoUnit.MICROS), ZoneId.systemDefault()).format(ISO);
    }
}
