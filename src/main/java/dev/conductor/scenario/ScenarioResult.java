package dev.conductor.scenario;

import dev.conductor.events.Event;
import dev.conductor.report.JUnitReport;
import dev.conductor.report.TapReport;
import dev.conductor.report.TextReport;
import dev.conductor.report.Verbosity;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a scenario run left: its exit code (as {@code conduct}'s: 0 passed, 1 a step failed,
 * 3 a player was lost), the event log, the run folder, and the reports rendered from the log.
 */
public final class ScenarioResult {
    private final String name;
    private final int exitCode;
    private final List<Event> events;
    private final Optional<Path> runDir;

    ScenarioResult(String name, int exitCode, List<Event> events, Optional<Path> runDir) {
        this.name = name;
        this.exitCode = exitCode;
        this.events = List.copyOf(events);
        this.runDir = runDir;
    }

    public int exitCode() {
        return exitCode;
    }

    /** True when no step failed and no player was lost. */
    public boolean passed() {
        return exitCode == 0;
    }

    /** Every event of the run, in order. */
    public List<Event> events() {
        return events;
    }

    /** Every step's end, in the order they ended. */
    public List<Event.StepFinished> steps() {
        return events.stream().filter(e -> e instanceof Event.StepFinished).map(e -> (Event.StepFinished) e).toList();
    }

    /** The steps of one tester, in its order. */
    public List<Event.StepFinished> steps(String tester) {
        return steps().stream().filter(s -> s.worker().equals(tester)).toList();
    }

    /** {@code results/<run-id>/}: events.jsonl, transcripts, fetched files and the reports. Empty when none was kept. */
    public Optional<Path> runDir() {
        return runDir;
    }

    /** TAP 14, test points in the order they happened (as {@code report.tap} in the run folder). */
    public String tap() {
        return TapReport.render(events, 14, TapReport.Order.TIME);
    }

    /** JUnit XML: one testsuite per tester, one testcase per step. */
    public String junit() {
        return JUnitReport.render(events);
    }

    /** The text account, as printed live. */
    public String text() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TextReport r = new TextReport(new PrintStream(out, true, StandardCharsets.UTF_8), Verbosity.NORMAL);
        events.forEach(r::accept);
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * A few lines for a person: the verdict, then each failed step and lost player with where and
     * why, and where the full reports are.
     */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append("scenario ").append(name).append(": ").append(passed() ? "PASSED" : "FAILED").append(" (exit code ")
                .append(exitCode).append(")\n");
        for (Event e : events) {
            if (e instanceof Event.StepFinished f && f.failed()) {
                b.append("  ").append(f.status().key().toUpperCase(java.util.Locale.ROOT)).append(' ').append(f.worker())
                        .append(' ').append(f.key()).append(": ").append(oneLine(f.command())).append("\n      ")
                        .append(oneLine(f.message())).append('\n');
                if (!f.stderr().isBlank()) {
                    b.append("      stderr: ").append(oneLine(tail(f.stderr()))).append('\n');
                }
            } else if (e instanceof Event.WorkerLost l) {
                b.append("  LOST ").append(l.worker()).append(": ").append(oneLine(l.reason())).append('\n');
            } else if (e instanceof Event.BarrierReleased r && !r.ok()) {
                b.append("  BARRIER ").append(r.name()).append(" failed: ").append(oneLine(r.reason()))
                        .append("; never came: ").append(String.join(", ", r.missing())).append('\n');
            }
        }
        runDir.ifPresent(d -> b.append("  reports: ").append(d).append('\n'));
        return b.toString();
    }

    /** Throws an {@link AssertionError} with the {@link #summary} unless the scenario passed: a failed JUnit test. */
    public ScenarioResult assertPassed() {
        if (!passed()) {
            throw new AssertionError(summary());
        }
        return this;
    }

    private static String tail(String s) {
        return s.length() > 300 ? "…" + s.substring(s.length() - 300) : s;
    }

    private static String oneLine(String s) {
        String one = s.strip().replaceAll("\\s*\\R\\s*", " ⏎ ");
        return one.length() > 300 ? one.substring(0, 300) + "…" : one;
    }
}
