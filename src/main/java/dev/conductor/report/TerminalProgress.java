package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.events.EventSink;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * A one-line progress display on a terminal's stderr (trial, phase, workers done, steps seen,
 * time in phase), redrawn as events arrive. It wraps the live text view: the line is cleared
 * before anything is printed and drawn again after, so the two never mix.
 */
public final class TerminalProgress implements EventSink {
    private static final long REDRAW_NANOS = 100_000_000L;

    private final EventSink inner;
    private final PrintStream err;
    private int trials;
    private String trial = "";
    private String phase = "";
    private int workers;
    private final Set<String> done = new HashSet<>();
    private int steps;
    private int lost;
    private long phaseStart;
    private long lastDraw;
    private boolean drawn;

    public TerminalProgress(EventSink inner, PrintStream err) {
        this.inner = inner;
        this.err = err;
        // The clock on the line moves even while no event arrives (a long step).
        Thread.ofVirtual().name("progress-ticker").start(() -> {
            try {
                while (true) {
                    Thread.sleep(500);
                    synchronized (this) {
                        if (drawn && !phase.isEmpty()) {
                            draw(System.nanoTime());
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** True when file descriptor {@code fd} of this process is a terminal (Linux: /proc/self/fd). */
    public static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public synchronized void accept(Event event) {
        clear();
        inner.accept(event);
        switch (event) {
            case Event.RunStarted e -> trials = e.trials();
            case Event.PhaseStarted e -> {
                trial = e.trial() + "/" + trials;
                phase = e.phase().key();
                workers = e.workers().size();
                done.clear();
                steps = 0;
                lost = 0;
                phaseStart = System.nanoTime();
            }
            case Event.StepFinished e -> steps++;
            case Event.WorkerFinished e -> done.add(e.worker());
            case Event.WorkerLost e -> lost++;
            case Event.PhaseFinished e -> phase = "";
            case Event.RunFinished e -> {
                return;
            }
            default -> {
            }
        }
        long now = System.nanoTime();
        if (!phase.isEmpty() && (now - lastDraw > REDRAW_NANOS || !(event instanceof Event.Output))) {
            draw(now);
        }
    }

    private void draw(long now) {
        lastDraw = now;
        err.printf("\r\033[K[trial %s · %s] %d/%d workers done, %d steps%s · %.1f s", trial, phase, done.size(), workers,
                steps, lost > 0 ? ", " + lost + " lost" : "", (now - phaseStart) / 1e9);
        err.flush();
        drawn = true;
    }

    private void clear() {
        if (drawn) {
            err.print("\r\033[K");
            err.flush();
            drawn = false;
        }
    }
}
