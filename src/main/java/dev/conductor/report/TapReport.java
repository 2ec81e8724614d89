package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.wire.StepResult.Status;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The TAP report (Test Anything Protocol, version 14 or 13): the plan right after the version
 * line, since the log is complete; one test point per step, in trial, phase and worker order;
 * one {@code not ok} per lost worker; {@code # SKIP} with the reason for skipped steps; a YAML
 * block after every failure with where it happened, code, status, duration, command and the end
 * of its output; a last {@code not ok} when the user interrupted the run. Rendered from the event
 * log alone.
 *
 * <p>Version 13 exists for one reason: Perl's Test::Harness before 3.48 (the {@code prove} of
 * Debian 12) stops at {@code TAP version 14} with a parse error. Everything below the version
 * line is the same in both, and valid in both.
 */
public final class TapReport {
    /** Steps' descriptions keep whole commands up to this; the YAML block has the whole of a failed one. */
    private static final int DESCRIPTION_CHARS = 200;

    private TapReport() {
    }

    /** TAP version 14. */
    public static String render(List<Event> events) {
        return render(events, 14);
    }

    /** @param version 14, or 13 for harnesses that know no later version */
    public static String render(List<Event> events, int version) {
        return render(events, version, Order.PLAN);
    }

    /** How the test points are ordered and named. */
    public enum Order {
        /** Trial, phase, then worker in the plan's order; descriptions say trial, phase, worker and key. */
        PLAN,
        /**
         * As they happened (a scenario's testers run side by side, and a reader follows them in
         * time, as DTest printed them); descriptions say the worker and what the step did.
         */
        TIME
    }

    /**
     * @param version 14, or 13 for harnesses that know no later version
     * @param order   how to order and describe the test points
     */
    public static String render(List<Event> events, int version, Order order) {
        if (version != 13 && version != 14) {
            throw new IllegalArgumentException("TAP version 13 or 14, not " + version);
        }
        boolean byTime = order == Order.TIME;
        List<Point> inTime = new ArrayList<>();
        Map<Block, Map<String, List<Point>>> blocks = new LinkedHashMap<>();
        String testFile = null;
        int workers = 0;
        Optional<Event.RunFinished> finished = Optional.empty();
        for (Event event : events) {
            switch (event) {
                case Event.RunStarted e -> {
                    testFile = e.testFile();
                    workers = e.workers().size();
                }
                case Event.PhaseStarted e -> {
                    // The phase's worker order, whatever order their results arrive in.
                    Map<String, List<Point>> byWorker = blocks.computeIfAbsent(new Block(e.trial(), e.phase()),
                            b -> new LinkedHashMap<>());
                    e.workers().forEach(w -> byWorker.computeIfAbsent(w, x -> new ArrayList<>()));
                }
                case Event.StepFinished e -> (byTime ? inTime : points(blocks, e.trial(), e.phase(), e.worker()))
                        .add(step(e, byTime));
                case Event.WorkerLost e -> (byTime ? inTime : points(blocks, e.trial(), e.phase(), e.worker())).add(lost(e));
                case Event.BarrierReleased e -> (byTime ? inTime : points(blocks, e.trial(), e.phase(), "barrier " + e.name()))
                        .add(barrier(e, byTime));
                case Event.BarrierArrived e -> {
                }
                case Event.FileCopied e -> {
                    // The put or get step is a test point (test case) of its own already.
                }
                case Event.RunFinished e -> finished = Optional.of(e);
                case Event.TrialStarted e -> {
                }
                case Event.LinkOpened e -> {
                }
                case Event.PhaseReleased e -> {
                }
                case Event.WorkerStarted e -> {
                }
                case Event.StepStarted e -> {
                }
                case Event.Output e -> {
                }
                case Event.SpawnExited e -> {
                }
                case Event.WorkerFinished e -> {
                }
                case Event.PhaseFinished e -> {
                }
                case Event.TrialFinished e -> {
                }
            }
        }
        List<Point> points = new ArrayList<>(inTime);
        blocks.values().forEach(byWorker -> byWorker.values().forEach(points::addAll));
        if (finished.isPresent() && finished.get().interrupted()) {
            // The steps that never ran are in no plan: this point is what makes a harness fail the run.
            Yaml y = new Yaml();
            y.name("status", "interrupted");
            y.number("exit_code", Integer.toString(finished.get().exitCode()));
            points.add(new Point(false, "run interrupted by the user: later steps did not run", Optional.empty(), false,
                    y.lines));
        }

        StringBuilder out = new StringBuilder();
        out.append("TAP version ").append(version).append('\n');
        if (points.isEmpty()) {
            out.append("1..0 # SKIP no step ran\n");
        } else {
            out.append("1..").append(points.size()).append('\n');
        }
        if (testFile != null) {
            out.append("# conduct ").append(StepText.oneLine(testFile, 500)).append(": ").append(workers)
                    .append(" worker(s)\n");
        }
        int n = 0;
        int failed = 0;
        int skipped = 0;
        for (Point p : points) {
            n++;
            out.append(p.ok() ? "ok " : "not ok ").append(n).append(" - ").append(escape(p.description()));
            p.skip().ifPresent(why -> out.append(p.todo() ? " # TODO " : " # SKIP ")
                    .append(StepText.oneLine(why, DESCRIPTION_CHARS)));
            out.append('\n');
            if (!p.yaml().isEmpty()) {
                out.append("  ---\n");
                p.yaml().forEach(line -> out.append("  ").append(line).append('\n'));
                out.append("  ...\n");
            }
            // A TODO point that did not pass is expected: harnesses do not count it as a failure.
            failed += p.ok() || p.todo() ? 0 : 1;
            skipped += p.skip().isPresent() ? 1 : 0;
        }
        int exit = finished.map(Event.RunFinished::exitCode).orElse(-1);
        out.append(String.format(Locale.ROOT, "# %d ok, %d not ok, %d skipped; conduct exit code %s%n",
                n - failed - skipped, failed, skipped, exit < 0 ? "unknown (the log has no end)" : exit));
        return out.toString();
    }

    private record Block(int trial, Phase phase) {
    }

    /**
     * A test point: {@code skip} is the reason of a {@code # SKIP}, or with {@code todo} of a
     * {@code # TODO}; {@code yaml} the diagnostic's lines, unindented.
     */
    private record Point(boolean ok, String description, Optional<String> skip, boolean todo, List<String> yaml) {
        Point(boolean ok, String description, Optional<String> skip, List<String> yaml) {
            this(ok, description, skip, false, yaml);
        }
    }

    private static List<Point> points(Map<Block, Map<String, List<Point>>> blocks, int trial, Phase phase, String worker) {
        return blocks.computeIfAbsent(new Block(trial, phase), b -> new LinkedHashMap<>())
                .computeIfAbsent(worker, w -> new ArrayList<>());
    }

    private static Point step(Event.StepFinished e, boolean byTime) {
        String description = byTime ? e.worker() + ": " + StepText.oneLine(e.command(), DESCRIPTION_CHARS)
                : "trial " + e.trial() + " " + e.phase().key() + " " + e.worker() + " " + e.key() + ": "
                + StepText.oneLine(e.command(), DESCRIPTION_CHARS);
        if (e.status() == Status.TODO) {
            return new Point(e.code() == 0, description, Optional.of(StepText.skipReason(e)), true, List.of());
        }
        if (e.status() == Status.SKIPPED) {
            return new Point(true, description, Optional.of(StepText.skipReason(e)), List.of());
        }
        if (!e.failed()) {
            return new Point(true, description, Optional.empty(), List.of());
        }
        Yaml y = new Yaml();
        y.name("worker", e.worker());
        y.name("phase", e.phase().key());
        y.number("trial", Integer.toString(e.trial()));
        y.number("step", Integer.toString(e.index() + 1));
        y.name("key", e.key());
        y.number("code", Integer.toString(e.code()));
        y.name("status", e.status().key());
        y.number("duration_ms", e.duration().map(d -> String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e6)).orElse("~"));
        y.quoted("command", e.command());
        y.quoted("reason", StepText.reason(e));
        if (StepText.outputOnlyInMessage(e)) {
            y.tail("message", e.message());
        }
        y.tail("stdout", e.stdout());
        y.tail("stderr", e.stderr());
        return new Point(false, description, Optional.empty(), y.lines);
    }

    /** One test point per barrier: ok when everyone came. */
    private static Point barrier(Event.BarrierReleased e, boolean byTime) {
        Yaml y = new Yaml();
        y.name("phase", e.phase().key());
        y.number("trial", Integer.toString(e.trial()));
        y.quoted("arrived", String.join(", ", e.arrived()));
        if (!e.ok()) {
            y.quoted("missing", String.join(", ", e.missing()));
            y.quoted("reason", e.reason());
        }
        String where = byTime ? "" : "trial " + e.trial() + " " + e.phase().key() + " ";
        return new Point(e.ok(), where + "barrier " + e.name()
                + (e.ok() ? " (" + e.arrived().size() + " arrived)" : " never came: " + String.join(", ", e.missing())),
                Optional.empty(), e.ok() ? List.of() : y.lines);
    }

    private static Point lost(Event.WorkerLost e) {
        Yaml y = new Yaml();
        y.name("worker", e.worker());
        y.name("phase", e.phase().key());
        y.number("trial", Integer.toString(e.trial()));
        y.name("status", "lost");
        y.quoted("reason", e.reason());
        return new Point(false, "trial " + e.trial() + " " + e.phase().key() + " " + e.worker() + ": worker lost: "
                + StepText.oneLine(e.reason(), DESCRIPTION_CHARS), Optional.empty(), y.lines);
    }

    /**
     * TAP 14: a {@code #} in a description starts a directive unless escaped, and so a backslash
     * must be escaped too. A line break would end the test point.
     */
    static String escape(String description) {
        StringBuilder b = new StringBuilder(description.length() + 8);
        for (int i = 0; i < description.length(); i++) {
            char c = description.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '#' -> b.append("\\#");
                default -> b.append(Character.isISOControl(c) ? ' ' : c);
            }
        }
        return b.toString();
    }

    /**
     * The YAML subset that both YAML 1.2 and Perl's TAP::Parser::YAMLish read alike: plain
     * scalars for names and numbers, double-quoted ones with {@code \xHH} escapes for any text,
     * and {@code |} block scalars for output, where an empty line keeps its indentation (YAMLish
     * ends the block at a line with less) and output the block cannot hold falls back to quotes.
     */
    private static final class Yaml {
        final List<String> lines = new ArrayList<>();

        /** Numbers, and {@code ~} for none. */
        void number(String key, String value) {
            lines.add(key + ": " + value);
        }

        /** Names (workers, phases, keys): plain when YAML reads them back as the same string. */
        void name(String key, String value) {
            if (value.matches("[A-Za-z_][A-Za-z0-9_.-]*")
                    && !value.toLowerCase(Locale.ROOT).matches("true|false|null|yes|no|on|off|y|n")) {
                lines.add(key + ": " + value);
            } else {
                quoted(key, value);
            }
        }

        void quoted(String key, String value) {
            lines.add(key + ": " + doubleQuoted(value));
        }

        void tail(String key, String output) {
            StepText.Tail tail = StepText.Tail.of(output, StepText.TAIL_LINES, StepText.TAIL_CHARS);
            if (tail.isEmpty()) {
                return;
            }
            if (tail.omittedLines() > 0) {
                lines.add(key + "_omitted_lines: " + tail.omittedLines());
            }
            if (!fitsBlock(tail.text())) {
                quoted(key, tail.text() + "\n");
                return;
            }
            lines.add(key + ": |");
            for (String l : tail.text().split("\n", -1)) {
                lines.add("  " + l);
            }
        }

        /**
         * A block scalar holds printable text only, and its first line may not start with blank
         * (YAML would need an indentation indicator, which YAMLish does not read); YAMLish takes a
         * tab at a line's start for indentation and gives back a space.
         */
        private static boolean fitsBlock(String text) {
            if (text.startsWith(" ")) {
                return false;
            }
            for (String l : text.split("\n", -1)) {
                if (l.startsWith("\t")) {
                    return false;
                }
                for (int i = 0; i < l.length(); i++) {
                    char c = l.charAt(i);
                    if (Character.isHighSurrogate(c) && i + 1 < l.length() && Character.isLowSurrogate(l.charAt(i + 1))) {
                        i++;
                    } else if (needsEscape(c)) {
                        return false;
                    }
                }
            }
            return true;
        }

        private static String doubleQuoted(String s) {
            StringBuilder b = new StringBuilder(s.length() + 2).append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    case '\r' -> b.append("\\r");
                    default -> {
                        if (Character.isSurrogate(c)) {
                            boolean pair = Character.isHighSurrogate(c) && i + 1 < s.length()
                                    && Character.isLowSurrogate(s.charAt(i + 1));
                            if (pair) {
                                b.append(c).append(s.charAt(++i));
                            } else {
                                b.append(XmlChars.REPLACEMENT);
                            }
                        } else if (c == '\uFFFE' || c == '\uFFFF') {
                            b.append(XmlChars.REPLACEMENT);
                        } else if (needsEscape(c)) {
                            b.append(String.format(Locale.ROOT, "\\x%02X", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }

        /** YAML's printable set, less tab: C0 and C1 controls, DEL, and what is no character at all. */
        private static boolean needsEscape(char c) {
            return (c < 0x20 && c != '\t') || (c >= 0x7F && c <= 0x9F) || Character.isSurrogate(c)
                    || c == '\uFFFE' || c == '\uFFFF';
        }
    }
}
