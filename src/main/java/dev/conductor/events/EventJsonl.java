package dev.conductor.events;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.plan.Phase;
import dev.conductor.wire.Json;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes the event log as JSON lines, one event a line, flushed as it goes so the file is whole
 * up to the last event even if the conductor is killed. Schema: {@code docs/EVENTS.md}. Each
 * line has {@code type} (the event's name in snake case), {@code time}, {@code host} (the
 * worker's player address for a worker's event, this machine's name otherwise) and the event's
 * own fields in snake case: instants as ISO-8601 strings, durations as {@code <name>_us}.
 */
public final class EventJsonl implements EventSink, AutoCloseable {
    private final BufferedWriter out;
    private final String conductorHost;
    private final Map<String, String> workerHosts = new HashMap<>();

    public EventJsonl(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        this.conductorHost = localHostName();
    }

    @Override
    public synchronized void accept(Event event) {
        if (event instanceof Event.RunStarted r) {
            r.workers().forEach(w -> workerHosts.put(w.name(), w.player()));
        }
        try {
            out.write(Json.MAPPER.writeValueAsString(toJson(event)));
            out.write('\n');
            // Output chunks come in floods; everything else is rare and worth having on disk at once.
            if (!(event instanceof Event.Output)) {
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the event log: " + e.getMessage(), e);
        }
    }

    /** The event as the JSON object written to the log. */
    public ObjectNode toJson(Event event) {
        ObjectNode o = Json.object();
        o.put("type", snake(event.getClass().getSimpleName()));
        o.put("time", event.at().toString());
        String worker = workerOf(event);
        o.put("host", worker != null ? workerHosts.getOrDefault(worker, "?") : conductorHost);
        for (RecordComponent c : event.getClass().getRecordComponents()) {
            if (c.getName().equals("at") || c.getName().equals("data")) {
                continue;
            }
            boolean duration = c.getGenericType().getTypeName().contains("java.time.Duration");
            put(o, snake(c.getName()) + (duration ? "_us" : ""), value(event, c));
        }
        return o;
    }

    private static String workerOf(Event e) {
        for (RecordComponent c : e.getClass().getRecordComponents()) {
            if (c.getName().equals("worker")) {
                return (String) value(e, c);
            }
        }
        return null;
    }

    private static Object value(Object record, RecordComponent c) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName(), e);
        }
    }

    private static void put(ObjectNode o, String name, Object v) {
        if (v instanceof Optional<?> opt) {
            if (opt.isEmpty()) {
                o.putNull(name);
                return;
            }
            v = opt.get();
        }
        switch (v) {
            case null -> o.putNull(name);
            case Instant t -> o.put(name, t.toString());
            case Duration d -> o.put(name, d.toNanos() / 1000);
            case Phase p -> o.put(name, p.key());
            case Enum<?> e -> o.put(name, e.name().toLowerCase(Locale.ROOT));
            case Integer i -> o.put(name, i);
            case Long l -> o.put(name, l);
            case Boolean b -> o.put(name, b);
            case String s -> o.put(name, s);
            case List<?> list -> {
                ArrayNode a = o.putArray(name);
                for (Object item : list) {
                    if (item instanceof Record r) {
                        ObjectNode n = a.addObject();
                        for (RecordComponent c : r.getClass().getRecordComponents()) {
                            put(n, snake(c.getName()), value(r, c));
                        }
                    } else if (item instanceof Phase p) {
                        a.add(p.key());
                    } else {
                        a.add(String.valueOf(item));
                    }
                }
            }
            default -> o.put(name, v.toString());
        }
    }

    static String snake(String camel) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < camel.length(); i++) {
            char ch = camel.charAt(i);
            if (Character.isUpperCase(ch)) {
                if (i > 0) {
                    b.append('_');
                }
                b.append(Character.toLowerCase(ch));
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    private static String localHostName() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException | RuntimeException e) {
            return "localhost";
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // The last flush already happened with the last event.
        }
    }
}
