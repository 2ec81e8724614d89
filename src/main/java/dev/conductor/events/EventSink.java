package dev.conductor.events;

/** Takes events as they happen; called from one thread at a time. */
@FunctionalInterface
public interface EventSink {
    void accept(Event event);
}
