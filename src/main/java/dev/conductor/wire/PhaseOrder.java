package dev.conductor.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The data of a v1 {@code phase} message: where to send results and which steps to run.
 *
 * <p>{@code resulthost}, {@code resultport} and {@code steps} are the reference's. The rest are
 * our extensions, written after them and optional: a reference player ignores them, and a
 * reference conductor does not send them (then the player falls back to its defaults).
 *
 * @param trial     1-based trial number ({@code CONDUCTOR_TRIAL}), if known
 * @param phase     phase name such as {@code run} ({@code CONDUCTOR_PHASE}), if known
 * @param worker    the worker's name in the test file ({@code CONDUCTOR_WORKER}), if known
 * @param continueOnFailure run the rest of the phase after a failed step (the reference's way)
 */
public record PhaseOrder(String resultHost, int resultPort, List<StepSpec> steps,
                         Optional<Integer> trial, Optional<String> phase, Optional<String> worker,
                         boolean continueOnFailure) {

    public PhaseOrder {
        steps = List.copyOf(steps);
    }

    /**
     * One step. {@code command}, {@code spawn} and {@code timeout} (whole seconds) are the
     * reference's; for the reference's kind of step, {@code kind} is {@code command} and the
     * rest is empty. Other kinds (v2 only) carry their arguments in {@code args} and the step
     * as written in {@code command}; {@code key} is the step's key in the worker file.
     */
    public record StepSpec(String command, boolean spawn, long timeout, String kind, String key, ObjectNode args) {
        public static final String COMMAND = "command";

        public StepSpec(String command, boolean spawn, long timeout) {
            this(command, spawn, timeout, COMMAND, null, null);
        }

        public boolean isCommand() {
            return COMMAND.equals(kind);
        }

        /** The same step without what only v2 carries. */
        StepSpec v1() {
            return new StepSpec(command, spawn, timeout);
        }
    }

    /** The order as v1 carries it: without step keys (a reference player knows none). */
    public PhaseOrder v1() {
        return new PhaseOrder(resultHost, resultPort, steps.stream().map(StepSpec::v1).toList(), trial, phase, worker,
                continueOnFailure);
    }

    public ObjectNode toData() {
        ObjectNode data = Json.object();
        data.put("resulthost", resultHost);
        data.put("resultport", resultPort);
        ArrayNode list = data.putArray("steps");
        for (StepSpec s : steps) {
            ObjectNode step = list.addObject();
            step.put("command", s.command());
            step.put("spawn", s.spawn());
            step.put("timeout", s.timeout());
            if (s.key() != null) {
                step.put("key", s.key());
            }
            if (!s.isCommand()) {
                step.put("kind", s.kind());
                if (s.args() != null) {
                    step.set("args", s.args());
                }
            }
        }
        trial.ifPresent(t -> data.put("trial", t));
        phase.ifPresent(p -> data.put("phase", p));
        worker.ifPresent(w -> data.put("worker", w));
        if (continueOnFailure) {
            data.put("on_failure", "continue");
        }
        return data;
    }

    /** Reads a phase message's data; every refusal names the field. */
    public static PhaseOrder fromData(ObjectNode data) throws ProtocolException {
        JsonNode host = V1.require(data, "resulthost");
        JsonNode port = V1.require(data, "resultport");
        JsonNode steps = V1.require(data, "steps");
        if (!host.isTextual() || host.asText().isBlank()) {
            throw new ProtocolException(V1.ERROR, "field 'resulthost' must be a host name or address, got " + host);
        }
        if (!port.canConvertToInt() || port.asInt() < 1 || port.asInt() > 65535) {
            throw new ProtocolException(V1.ERROR, "field 'resultport' must be a port 1..65535, got " + port);
        }
        if (!steps.isArray()) {
            throw new ProtocolException(V1.ERROR, "field 'steps' must be a list, got " + steps.getNodeType());
        }
        List<StepSpec> specs = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            JsonNode s = steps.get(i);
            String where = "steps[" + i + "]";
            if (!s.isObject()) {
                throw new ProtocolException(V1.ERROR, where + " must be an object, got " + s.getNodeType());
            }
            JsonNode command = s.get("command");
            if (command == null || !command.isTextual()) {
                throw new ProtocolException(V1.ERROR, where + ".command must be a string");
            }
            JsonNode spawn = s.path("spawn");
            JsonNode timeout = s.path("timeout");
            if (!spawn.isMissingNode() && !spawn.isBoolean()) {
                throw new ProtocolException(V1.ERROR, where + ".spawn must be true or false, got " + spawn);
            }
            long seconds = 30;
            if (!timeout.isMissingNode()) {
                if (!timeout.isNumber() || timeout.asDouble() <= 0) {
                    throw new ProtocolException(V1.ERROR, where + ".timeout must be a positive number of seconds, got " + timeout);
                }
                seconds = (long) Math.ceil(timeout.asDouble());
            }
            String kind = s.path("kind").asText(StepSpec.COMMAND);
            JsonNode args = s.get("args");
            specs.add(new StepSpec(command.asText(), spawn.asBoolean(false), seconds, kind,
                    s.hasNonNull("key") ? s.get("key").asText() : null, args instanceof ObjectNode o ? o : null));
        }
        JsonNode trial = data.get("trial");
        JsonNode phase = data.get("phase");
        JsonNode worker = data.get("worker");
        return new PhaseOrder(host.asText(), port.asInt(), specs,
                trial != null && trial.canConvertToInt() ? Optional.of(trial.asInt()) : Optional.empty(),
                phase != null && phase.isTextual() ? Optional.of(phase.asText()) : Optional.empty(),
                worker != null && worker.isTextual() ? Optional.of(worker.asText()) : Optional.empty(),
                "continue".equals(data.path("on_failure").asText()));
    }
}
