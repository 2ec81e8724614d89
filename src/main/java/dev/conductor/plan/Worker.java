package dev.conductor.plan;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One worker of a test: a name from {@code [Workers]}, its file, where its player is, and its
 * steps per phase (a phase the file does not have is an empty list).
 */
public record Worker(String name, Path file, Coordinator coordinator, Map<Phase, List<Step>> phases) {
    public Worker {
        EnumMap<Phase, List<Step>> copy = new EnumMap<>(Phase.class);
        for (Phase p : Phase.values()) {
            copy.put(p, List.copyOf(phases.getOrDefault(p, List.of())));
        }
        phases = java.util.Collections.unmodifiableMap(copy);
    }

    public List<Step> steps(Phase phase) {
        return phases.get(phase);
    }
}
