package dev.conductor.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * How one step ended, as a player reports it in a v1 {@code result}. {@code code} and
 * {@code message} are the reference's; the rest are our extensions, which a reference conductor
 * ignores and a reference player does not send ({@link Details}: the step's 0-based position in
 * its phase, its status, and when it really started on the player's clock).
 */
public record StepResult(int code, String message, Optional<Details> details) {

    /**
     * How a step ended. {@code TODO} is a check the test author marked as not expected to pass
     * yet (TAP's {@code # TODO}): recorded with its code (0 passed, non-zero did not) but never
     * a failure of the run. Only the conductor gives it (scenario checks); players never do.
     */
    public enum Status {
        OK, FAILED, TIMEOUT, KILLED, SPAWNED, SKIPPED, TODO;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Optional<Status> parse(String text) {
            for (Status s : values()) {
                if (s.key().equals(text)) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }
    }

    /** What our players add to a result. */
    public record Details(int index, Status status, String command, Instant startedAt, Duration duration,
                          String stdout, String stderr, long stdoutBytes, long stderrBytes) {
    }

    public boolean phaseDone() {
        return code == V1.PHASE_DONE;
    }

    public ObjectNode toData() {
        ObjectNode data = Json.object();
        data.put("code", code);
        data.put("message", message);
        details.ifPresent(d -> {
            data.put("step", d.index());
            data.put("status", d.status().key());
            data.put("command", d.command());
            data.put("started_at", d.startedAt().toString());
            data.put("duration_us", d.duration().toNanos() / 1000);
            data.put("stdout", d.stdout());
            data.put("stderr", d.stderr());
            data.put("stdout_bytes", d.stdoutBytes());
            data.put("stderr_bytes", d.stderrBytes());
        });
        return data;
    }

    /** Reads a result's data; extensions that are missing or malformed are simply absent. */
    public static StepResult fromData(ObjectNode data) throws ProtocolException {
        JsonNode code = data.get("code");
        if (code == null || !code.canConvertToInt()) {
            throw new ProtocolException(V1.ERROR, "result without an integer 'code'");
        }
        String message = data.path("message").asText("");
        Optional<Details> details = Optional.empty();
        Optional<Status> status = Status.parse(data.path("status").asText(""));
        if (data.has("step") && status.isPresent()) {
            Instant started;
            try {
                started = Instant.parse(data.path("started_at").asText());
            } catch (RuntimeException e) {
                started = Instant.EPOCH;
            }
            details = Optional.of(new Details(data.path("step").asInt(), status.get(),
                    data.path("command").asText(""), started,
                    Duration.ofNanos(data.path("duration_us").asLong() * 1000),
                    data.path("stdout").asText(""), data.path("stderr").asText(""),
                    data.path("stdout_bytes").asLong(), data.path("stderr_bytes").asLong()));
        }
        return new StepResult(code.asInt(), message, details);
    }
}
