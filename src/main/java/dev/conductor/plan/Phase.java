package dev.conductor.plan;

import java.util.Locale;
import java.util.Optional;

/** The phases of a trial, in the order they run. */
public enum Phase {
    STARTUP("Startup"),
    RUN("Run"),
    COLLECT("Collect"),
    RESET("Reset");

    private final String section;

    Phase(String section) {
        this.section = section;
    }

    /** The worker file's section name for this phase, e.g. {@code Startup}. */
    public String section() {
        return section;
    }

    /** The lower-case name used on the command line, on the wire and in reports, e.g. {@code startup}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code startup}, {@code Startup}, {@code STARTUP}...; empty when it is no phase. */
    public static Optional<Phase> parse(String text) {
        for (Phase p : values()) {
            if (p.key().equalsIgnoreCase(text.strip())) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
