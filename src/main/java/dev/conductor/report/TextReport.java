package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.wire.StepResult.Status;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The live text account of a run: a line per step as it finishes (trial, phase, worker, step,
 * result, time, command), the output that matters, lost players in plain words, and a summary.
 */
public final class TextReport implements EventSink {
    private static final int OK_LINES = 5;
    private static final int FAIL_LINES = 20;

    private final PrintStream out;
    private final Verbosity verbosity;
    private int trials;
    private Instant started;
    private int ok;
    private int failed;
    private int skipped;
    private int spawned;
    private int lost;
    private boolean liveOutput;
    private final java.util.Map<String, Instant> firstStarts = new java.util.HashMap<>();
    private boolean released;

    public TextReport(PrintStream out, Verbosity verbosity) {
        this.out = out;
        this.verbosity = verbosity;
    }

    @Override
    public void accept(Event event) {
        switch (event) {
            case Event.RunStarted e -> {
                trials = e.trials();
                started = e.at();
                if (verbosity != Verbosity.QUIET) {
                    out.println("conduct " + e.testFile() + ": " + e.workers().size() + " worker(s), " + e.trials()
                            + " trial(s)");
                }
            }
            case Event.PhaseStarted e -> {
                if (verbosity != Verbosity.QUIET) {
                    out.println("== trial " + e.trial() + "/" + trials + " · " + e.phase().key());
                }
            }
            case Event.StepFinished e -> step(e);
            case Event.WorkerLost e -> {
                lost++;
                out.println("  LOST     " + e.worker() + " (trial " + e.trial() + ", " + e.phase().key() + "): " + e.reason());
            }
            case Event.RunFinished e -> summary(e);
            case Event.BarrierReleased e -> {
                if (!e.ok()) {
                    out.println("  BARRIER  " + e.name() + " (trial " + e.trial() + ", " + e.phase().key() + "): "
                            + e.reason() + "; never came: " + String.join(", ", e.missing()));
                } else if (verbosity != Verbosity.QUIET) {
                    out.println("  barrier  " + e.name() + " released: " + String.join(", ", e.arrived()));
                }
            }
            case Event.LinkOpened e -> {
                if (verbosity != Verbosity.QUIET) {
                    out.println("  link     " + e.worker() + " at " + e.address() + ": protocol v" + e.protocol()
                            + (e.protocol() >= 2 ? String.format(", clock offset %+.3f ms, rtt %.3f ms",
                            e.offsetMicros() / 1e3, e.rttMicros() / 1e3) : " (reference player; no clock probe)"));
                }
            }
            case Event.StepStarted e -> firstStarts.putIfAbsent(e.worker(), e.startedAt());
            case Event.PhaseReleased e -> released = true;
            case Event.PhaseFinished e -> {
                // Only a phase released to every worker at one instant has a start spread (a scenario's does not).
                if (verbosity != Verbosity.QUIET && released && firstStarts.size() > 1) {
                    Instant min = firstStarts.values().stream().min(Instant::compareTo).orElseThrow();
                    Instant max = firstStarts.values().stream().max(Instant::compareTo).orElseThrow();
                    out.printf("  start spread %.3f ms across %d workers%n", Duration.between(min, max).toNanos() / 1e6,
                            firstStarts.size());
                }
                firstStarts.clear();
                released = false;
            }
            case Event.Output e -> {
                if (verbosity == Verbosity.VERBOSE && e.data() != null) {
                    String mark = e.stream().equals("stderr") ? "! " : "| ";
                    for (String line : new String(e.data(), java.nio.charset.StandardCharsets.UTF_8).split("\n", -1)) {
                        if (!line.isEmpty()) {
                            out.println("           " + mark + e.worker() + ": " + line);
                        }
                    }
                    liveOutput = true;
                }
            }
            default -> {
            }
        }
        out.flush();
    }

    private void step(Event.StepFinished e) {
        if (e.index() == 0 && e.startedAt().isPresent()) {
            firstStarts.putIfAbsent(e.worker(), e.startedAt().get());
        }
        String verdict = switch (e.status()) {
            case OK -> "ok";
            case SPAWNED -> "spawned";
            case SKIPPED -> "SKIP";
            case TODO -> "TODO";
            case TIMEOUT -> "TIMEOUT";
            case KILLED -> "KILLED";
            case FAILED -> "FAIL " + e.code();
        };
        switch (e.status()) {
            case OK -> ok++;
            case SPAWNED -> spawned++;
            case SKIPPED, TODO -> skipped++;
            default -> failed++;
        }
        boolean bad = e.failed();
        if (verbosity == Verbosity.QUIET && !bad) {
            return;
        }
        String time = e.duration().map(TextReport::millis).orElse("");
        String where = verbosity == Verbosity.QUIET ? "trial " + e.trial() + " " + e.phase().key() + " " : "";
        out.printf("  %-8s %s%-12s %-10s %8s  %s%n", verdict, where, e.worker(), e.key(), time, oneLine(e.command()));
        if (e.status() == Status.SKIPPED) {
            // The failure that caused it is the line above; repeating why on every skip is noise.
            return;
        }
        if (e.status() == Status.TIMEOUT) {
            out.println("           " + e.message().lines().findFirst().orElse(""));
        }
        if (liveOutput) {
            return; // -v showed it as it came
        }
        int lines = verbosity == Verbosity.VERBOSE ? Integer.MAX_VALUE : bad ? FAIL_LINES : OK_LINES;
        quote(e.stdout(), "| ", lines);
        quote(e.stderr(), "! ", lines);
        if (bad && e.stdout().isEmpty() && e.stderr().isEmpty() && e.status() == Status.FAILED
                && !e.message().equals(e.command())) {
            // A reference player puts everything it has into the message.
            quote(e.message(), "| ", lines);
        }
    }

    private void quote(String text, String mark, int maxLines) {
        if (text.isEmpty()) {
            return;
        }
        List<String> lines = text.lines().toList();
        int from = Math.max(0, lines.size() - maxLines);
        if (from > 0) {
            out.println("           " + mark + "... (" + from + " earlier lines)");
        }
        for (String l : lines.subList(from, lines.size())) {
            out.println("           " + mark + l);
        }
    }

    private void summary(Event.RunFinished e) {
        Duration took = Duration.between(started == null ? e.at() : started, e.at());
        out.printf("%s: %d ok, %d failed, %d skipped, %d spawned, %d player(s) lost · %d trial(s) in %.2f s · exit %d%n",
                e.interrupted() ? "INTERRUPTED" : e.exitCode() == 0 ? "PASS" : "FAIL",
                ok, failed, skipped, spawned, lost, trials, took.toNanos() / 1e9, e.exitCode());
    }

    private static String millis(Duration d) {
        long ms = d.toMillis();
        return ms < 10_000 ? ms + " ms" : String.format("%.1f s", d.toNanos() / 1e9);
    }

    private static String oneLine(String s) {
        String l = s.replace('\n', ' ');
        return l.length() > 100 ? l.substring(0, 97) + "..." : l;
    }
}
