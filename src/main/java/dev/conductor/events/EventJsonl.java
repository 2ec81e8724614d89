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
            // Output chunks take a short way of their own: written through the general one, tens
            // of thousands of them a second made the JIT compile it hard (over a second of CPU).
            out.write(event instanceof Event.Output o ? outputLine(o) : Json.MAPPER.writeValueAsString(toJson(event)));
            out.write('\n');
            // Output chunks come in floods; everything else is rare and worth having on disk at once.
            if (!(event instanceof Event.Output)) {
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the event log: " + e.getMessage(), e);
        }
    }

    /** A record type's fields as the log names them, looked up once per type (output events come in floods). */
    private record Field(RecordComponent component, String name, String plainName) {
    }

    private record Shape(String type, List<Field> fields, RecordComponent worker) {
    }

    private static final ClassValue<Shape> SHAPES = new ClassValue<>() {
        @Override
        protected Shape computeValue(Class<?> type) {
            List<Field> fields = new java.util.ArrayList<>();
            RecordComponent worker = null;
            for (RecordComponent c : type.getRecordComponents()) {
                if (c.getName().equals("worker")) {
                    worker = c;
                }
                boolean duration = c.getGenericType().getTypeName().contains("java.time.Duration");
                String plain = snake(c.getName());
                fields.add(new Field(c, plain + (duration ? "_us" : ""), plain));
            }
            return new Shape(snake(type.getSimpleName()), List.copyOf(fields), worker);
        }
    };

    /** The event as the JSON object written to the log. */
    public ObjectNode toJson(Event event) {
        Shape shape = SHAPES.get(event.getClass());
        ObjectNode o = Json.object();
        o.put("type", shape.type());
        o.put("time", event.at().toString());
        String worker = shape.worker() == null ? null : (String) value(event, shape.worker());
        o.put("host", worker != null ? workerHosts.getOrDefault(worker, "?") : conductorHost);
        for (Field f : shape.fields()) {
            String name = f.component().getName();
            if (name.equals("at") || name.equals("data")) {
                continue;
            }
            put(o, f.name(), value(event, f.component()));
        }
        return o;
    }

    /** An output event's line, exactly as {@link #toJson} would give it, without reflection or a tree. */
    String outputLine(Event.Output o) {
        StringBuilder b = new StringBuilder(200);
        b.append("{\"type\":\"output\",\"time\":");
        quoted(b, o.at().toString());
        b.append(",\"host\":");
        quoted(b, workerHosts.getOrDefault(o.worker(), "?"));
        b.append(",\"trial\":").append(o.trial()).append(",\"phase\":");
        quoted(b, o.phase().key());
        b.append(",\"worker\":");
        quoted(b, o.worker());
        b.append(",\"index\":").append(o.index()).append(",\"stream\":");
        quoted(b, o.stream());
        b.append(",\"file\":");
        quoted(b, o.file());
        return b.append(",\"offset\":").append(o.offset()).append(",\"length\":").append(o.length()).append('}').toString();
    }

    private static void quoted(StringBuilder b, String s) {
        if (s == null) {
            b.append("null");
            return;
        }
        b.append('"');
        int from = b.length();
        com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s, b);
        // As Json.MAPPER writes them: every character beyond ASCII as a \\uXXXX escape.
        for (int i = from; i < b.length(); i++) {
            char c = b.charAt(i);
            if (c > 0x7f) {
                b.replace(i, i + 1, String.format(Locale.ROOT, "\\u%04X", (int) c));
                i += 5;
            }
        }
        b.append('"');
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
                        for (Field f : SHAPES.get(r.getClass()).fields()) {
                            put(n, f.plainName(), value(r, f.component()));
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
