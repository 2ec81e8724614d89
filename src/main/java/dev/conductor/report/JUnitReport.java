package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.wire.StepResult.Status;

import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JUnit XML report, in the shape Jenkins, GitLab and most CI servers read (Ant's): one
 * {@code <testsuite>} per trial and worker ({@code trial-N.worker}), one {@code <testcase>} per
 * step (class {@code trial-N.worker.phase}, name {@code key: command}), {@code <failure>} with the
 * output's end for a failed, timed-out or killed step, {@code <skipped>} for a skipped one,
 * {@code <error>} for a lost worker, and each step's output tails in its own
 * {@code <system-out>}/{@code <system-err>}. Rendered from the event log alone.
 */
public final class JUnitReport {
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");
    /** CI pages show names in one line; the whole command is in the failure text. */
    private static final int NAME_CHARS = 200;
    /** Per stream and step: the player already keeps at most 64 KiB; a CI page needs no more. */
    private static final int OUTPUT_CHARS = 64 * 1024;

    private JUnitReport() {
    }

    public static String render(List<Event> events) {
        Map<SuiteKey, Suite> suites = new LinkedHashMap<>();
        Map<String, String> players = new LinkedHashMap<>();
        String testFile = "conduct";
        Instant runStart = null;
        Instant runEnd = null;
        for (Event event : events) {
            switch (event) {
                case Event.RunStarted e -> {
                    testFile = e.testFile();
                    runStart = e.at();
                    e.workers().forEach(w -> players.put(w.name(), w.player() + ":" + w.cmdport()));
                }
                case Event.PhaseStarted e -> e.workers().forEach(w -> suite(suites, e.trial(), w, e.at()));
                case Event.WorkerStarted e -> suite(suites, e.trial(), e.worker(), e.at()).seen(e.at());
                case Event.StepFinished e -> {
                    Suite s = suite(suites, e.trial(), e.worker(), e.at());
                    s.seen(e.at());
                    s.cases.add(new StepCase(e));
                }
                case Event.WorkerFinished e -> suite(suites, e.trial(), e.worker(), e.at()).seen(e.at());
                case Event.WorkerLost e -> {
                    Suite s = suite(suites, e.trial(), e.worker(), e.at());
                    s.seen(e.at());
                    s.cases.add(new LostCase(e));
                }
                case Event.RunFinished e -> runEnd = e.at();
                case Event.BarrierArrived e -> {
                }
                case Event.FileCopied e -> {
                    // The put or get step is a test point (test case) of its own already.
                }
                case Event.BarrierReleased e -> {
                    // A failed barrier fails its waiting steps, which are test cases already.
                }
                case Event.TrialStarted e -> {
                }
                case Event.LinkOpened e -> {
                }
                case Event.PhaseReleased e -> {
                }
                case Event.StepStarted e -> {
                }
                case Event.Output e -> {
                }
                case Event.SpawnExited e -> {
                }
                case Event.PhaseFinished e -> {
                }
                case Event.TrialFinished e -> {
                }
            }
        }
        StringWriter text = new StringWriter();
        try {
            XMLStreamWriter x = XMLOutputFactory.newInstance().createXMLStreamWriter(text);
            x.writeStartDocument("UTF-8", "1.0");
            newline(x, 0);
            x.writeStartElement("testsuites");
            x.writeAttribute("name", clean(testFile));
            Counts total = new Counts();
            suites.values().forEach(s -> total.add(s.counts()));
            total.write(x);
            if (runStart != null && runEnd != null) {
                x.writeAttribute("time", seconds(Duration.between(runStart, runEnd)));
            }
            if (runStart != null) {
                x.writeAttribute("timestamp", timestamp(runStart));
            }
            for (Suite s : suites.values()) {
                newline(x, 1);
                writeSuite(x, s, players.get(s.key.worker()));
            }
            newline(x, 0);
            x.writeEndElement();
            newline(x, 0);
            x.writeEndDocument();
            x.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("cannot write the JUnit report: " + e.getMessage(), e);
        }
        return text.toString();
    }

    private static void writeSuite(XMLStreamWriter x, Suite s, String player) throws XMLStreamException {
        x.writeStartElement("testsuite");
        x.writeAttribute("name", clean("trial-" + s.key.trial() + "." + s.key.worker()));
        s.counts().write(x);
        x.writeAttribute("time", seconds(Duration.between(s.first, s.last)));
        x.writeAttribute("timestamp", timestamp(s.first));
        if (player != null) {
            x.writeAttribute("hostname", clean(player));
        }
        for (TestCase c : s.cases) {
            newline(x, 2);
            switch (c) {
                case StepCase sc -> writeStep(x, sc.e());
                case LostCase lc -> writeLost(x, lc.e());
            }
        }
        newline(x, 1);
        x.writeEndElement();
    }

    private static void writeStep(XMLStreamWriter x, Event.StepFinished e) throws XMLStreamException {
        boolean skipped = e.status() == Status.SKIPPED || e.status() == Status.TODO;
        boolean children = skipped || e.failed() || !e.stdout().isEmpty() || !e.stderr().isEmpty();
        if (children) {
            x.writeStartElement("testcase");
        } else {
            x.writeEmptyElement("testcase");
        }
        x.writeAttribute("classname", clean("trial-" + e.trial() + "." + e.worker() + "." + e.phase().key()));
        x.writeAttribute("name", clean(e.key() + ": " + StepText.oneLine(e.command(), NAME_CHARS)));
        x.writeAttribute("time", seconds(e.duration().orElse(Duration.ZERO)));
        if (skipped) {
            // JUnit has no "expected to fail yet": a TODO check is skipped, saying how it went.
            newline(x, 3);
            x.writeEmptyElement("skipped");
            x.writeAttribute("message", clean(e.status() == Status.TODO
                    ? "TODO " + StepText.skipReason(e) + (e.code() == 0 ? " (passed)" : " (did not pass)")
                    : StepText.skipReason(e)));
        } else if (e.failed()) {
            newline(x, 3);
            x.writeStartElement("failure");
            x.writeAttribute("message", clean(StepText.reason(e)));
            x.writeAttribute("type", e.status().key());
            x.writeCharacters(clean(failureText(e)));
            x.writeEndElement();
        }
        if (!e.stdout().isEmpty()) {
            newline(x, 3);
            x.writeStartElement("system-out");
            x.writeCharacters(clean(last(e.stdout())));
            x.writeEndElement();
        }
        if (!e.stderr().isEmpty()) {
            newline(x, 3);
            x.writeStartElement("system-err");
            x.writeCharacters(clean(last(e.stderr())));
            x.writeEndElement();
        }
        if (children) {
            newline(x, 2);
            x.writeEndElement();
        }
    }

    /** What a CI page shows under a failure: where, how, the command, and the end of its output. */
    private static String failureText(Event.StepFinished e) {
        StringBuilder b = new StringBuilder();
        b.append("trial ").append(e.trial()).append(", phase ").append(e.phase().key()).append(", worker ")
                .append(e.worker()).append(", step ").append(e.index() + 1).append(" (").append(e.key()).append(")\n");
        b.append("status ").append(e.status().key()).append(", code ").append(e.code());
        e.duration().ifPresent(d -> b.append(", ").append(StepText.millis(d)));
        b.append("\ncommand: ").append(e.command()).append('\n');
        b.append(StepText.reason(e)).append('\n');
        if (StepText.outputOnlyInMessage(e)) {
            quote(b, "message", e.message());
        }
        quote(b, "stdout", e.stdout());
        quote(b, "stderr", e.stderr());
        return b.toString();
    }

    private static void quote(StringBuilder b, String name, String output) {
        StepText.Tail tail = StepText.Tail.of(output, StepText.TAIL_LINES, StepText.TAIL_CHARS);
        if (tail.isEmpty()) {
            return;
        }
        b.append("--- ").append(name);
        if (tail.omittedLines() > 0) {
            b.append(" (last lines; ").append(tail.omittedLines()).append(" earlier)");
        }
        b.append(" ---\n").append(tail.text()).append('\n');
    }

    private static void writeLost(XMLStreamWriter x, Event.WorkerLost e) throws XMLStreamException {
        x.writeStartElement("testcase");
        x.writeAttribute("classname", clean("trial-" + e.trial() + "." + e.worker() + "." + e.phase().key()));
        x.writeAttribute("name", "worker lost");
        x.writeAttribute("time", seconds(Duration.ZERO));
        newline(x, 3);
        x.writeStartElement("error");
        x.writeAttribute("message", clean(StepText.oneLine(e.reason(), 500)));
        x.writeAttribute("type", "lost");
        x.writeCharacters(clean("worker " + e.worker() + " lost in trial " + e.trial() + ", phase " + e.phase().key()
                + ": " + e.reason() + "\n"));
        x.writeEndElement();
        newline(x, 2);
        x.writeEndElement();
    }

    private record SuiteKey(int trial, String worker) {
    }

    private sealed interface TestCase permits StepCase, LostCase {
    }

    private record StepCase(Event.StepFinished e) implements TestCase {
    }

    private record LostCase(Event.WorkerLost e) implements TestCase {
    }

    /** A trial's worker: its cases, and the span from its first to its last event. */
    private static final class Suite {
        final SuiteKey key;
        final List<TestCase> cases = new ArrayList<>();
        Instant first;
        Instant last;

        Suite(SuiteKey key, Instant at) {
            this.key = key;
            this.first = at;
            this.last = at;
        }

        void seen(Instant at) {
            if (at.isBefore(first)) {
                first = at;
            }
            if (at.isAfter(last)) {
                last = at;
            }
        }

        Counts counts() {
            Counts c = new Counts();
            for (TestCase t : cases) {
                c.tests++;
                switch (t) {
                    case StepCase s when s.e().status() == Status.SKIPPED || s.e().status() == Status.TODO -> c.skipped++;
                    case StepCase s when s.e().failed() -> c.failures++;
                    case StepCase s -> {
                    }
                    case LostCase l -> c.errors++;
                }
            }
            return c;
        }
    }

    private static final class Counts {
        int tests;
        int failures;
        int errors;
        int skipped;

        void add(Counts o) {
            tests += o.tests;
            failures += o.failures;
            errors += o.errors;
            skipped += o.skipped;
        }

        void write(XMLStreamWriter x) throws XMLStreamException {
            x.writeAttribute("tests", Integer.toString(tests));
            x.writeAttribute("failures", Integer.toString(failures));
            x.writeAttribute("errors", Integer.toString(errors));
            x.writeAttribute("skipped", Integer.toString(skipped));
        }
    }

    private static Suite suite(Map<SuiteKey, Suite> suites, int trial, String worker, Instant at) {
        return suites.computeIfAbsent(new SuiteKey(trial, worker), k -> new Suite(k, at));
    }

    private static String last(String output) {
        return output.length() <= OUTPUT_CHARS ? output : "…" + output.substring(output.length() - OUTPUT_CHARS);
    }

    private static String clean(String text) {
        return XmlChars.clean(text);
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.3f", Math.max(0, d.toNanos()) / 1e9);
    }

    /** Ant's format: local time, no zone, whole seconds. */
    private static String timestamp(Instant t) {
        return LocalDateTime.ofInstant(t.truncatedTo(ChronoUnit.SECONDS), ZoneId.systemDefault()).format(TIMESTAMP);
    }

    private static void newline(XMLStreamWriter x, int depth) throws XMLStreamException {
        x.writeCharacters("\n" + "  ".repeat(depth));
    }
}
