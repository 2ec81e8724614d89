package dev.conductor.events;

import java.util.ArrayList;
import java.util.List;

/**
 * The run's events in the order they happened, handed on to live listeners as they arrive.
 * Thread-safe: workers' threads append concurrently and listeners see one event at a time.
 */
public final class EventLog implements EventSink {
    private final List<Event> events = new ArrayList<>();
    private final List<EventSink> listeners;

    public EventLog(List<EventSink> listeners) {
        this.listeners = List.copyOf(listeners);
    }

    @Override
    public synchronized void accept(Event event) {
        // Output bytes live in the transcripts; keeping them here too would hold every byte in memory.
        events.add(event instanceof Event.Output o ? o.withoutData() : event);
        for (EventSink l : listeners) {
            l.accept(event);
        }
    }

    public synchronized List<Event> events() {
        return List.copyOf(events);
    }
}
