package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.wire.StepResult.Status;

import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The run as a message sequence chart: a lifeline for the conductor and one per worker; per
 * trial and phase a separator, the conductor starting each worker, every step as a self-message
 * on its worker's lifeline with result and duration (failures marked), the worker's answer or its
 * loss. Rendered from the event log alone, as Mermaid text ({@link #mermaid()}) and as a
 * standalone SVG ({@link #svg()}) drawn here, with no diagram library.
 *
 * <p>Bounded whatever the run: past {@link #STEPS_PER_PHASE} steps in a trial's phase only
 * failures are drawn and the rest become a count per worker, and the chart ends after
 * {@link #MAX_ROWS} rows with a note of what was left out.
 *
 * @param title     the first line of the chart
 * @param lifelines the conductor first, then the workers in the test file's order
 * @param rows      top to bottom
 */
public record SequenceChart(String title, List<String> lifelines, List<Row> rows) {
    public static final String CONDUCTOR = "conductor";
    public static final int STEPS_PER_PHASE = 500;
    public static final int MAX_ROWS = 5000;
    /** Commands are cut to this in the chart; the reports beside it have them whole. */
    static final int COMMAND_CHARS = 60;

    public SequenceChart {
        lifelines = List.copyOf(lifelines);
        rows = List.copyOf(rows);
    }

    /** How a row is marked: colour in the SVG, a sign in Mermaid. */
    public enum Mark {
        OK, FAILED, SKIPPED, INFO, LOST
    }

    /** One line of the chart, top to bottom. */
    public sealed interface Row {
        /** Across the whole chart: a trial's phase begins, or the run's verdict. */
        record Separator(String text, Mark mark) implements Row {
        }

        /** Something that happened on one lifeline: a step, a spawned process's exit. */
        record SelfMessage(String lifeline, String text, Mark mark) implements Row {
        }

        /** Between lifelines: the conductor starting a worker, its answer, its loss (later: barriers). */
        record Arrow(String from, String to, String text, Mark mark, boolean reply) implements Row {
        }

        /** A remark beside one lifeline, e.g. how many steps were folded into a count. */
        record Note(String lifeline, String text) implements Row {
        }
    }

    /** The chart of a run's events. */
    public static SequenceChart of(List<Event> events) {
        return new Builder().build(events);
    }

    private static final class Builder {
        final List<String> lifelines = new ArrayList<>(List.of(CONDUCTOR));
        final List<Row> rows = new ArrayList<>();
        /** Keys of spawned steps, to name them when their process exits. */
        final Map<String, String> spawnKeys = new HashMap<>();
        /** Per worker, the steps of the current phase folded into a count, by result. */
        final Map<String, Map<Mark, Integer>> folded = new LinkedHashMap<>();
        String title = "conduct";
        int phaseSteps;
        int leftOut;
        /** Where the current phase's separator is, to add the phase's duration once it ends; -1 when not drawn. */
        int separatorRow = -1;
        Instant phaseStart;

        SequenceChart build(List<Event> events) {
            for (Event event : events) {
                switch (event) {
                    case Event.RunStarted e -> {
                        title = "conduct " + StepText.oneLine(e.testFile(), 200) + " · " + e.workers().size()
                                + " worker(s), " + e.trials() + " trial(s)";
                        e.workers().forEach(w -> lifeline(w.name()));
                    }
                    case Event.PhaseStarted e -> {
                        e.workers().forEach(this::lifeline);
                        phaseSteps = 0;
                        folded.clear();
                        phaseStart = e.at();
                        separatorRow = rows.size() < MAX_ROWS ? rows.size() : -1;
                        add(new Row.Separator("trial " + e.trial() + " · " + e.phase().key(), Mark.INFO));
                    }
                    case Event.WorkerStarted e -> {
                        lifeline(e.worker());
                        add(new Row.Arrow(CONDUCTOR, e.worker(), e.phase().key(), Mark.INFO, false));
                    }
                    case Event.StepFinished e -> step(e);
                    case Event.SpawnExited e -> {
                        String key = spawnKeys.getOrDefault(spawnId(e.trial(), e.phase(), e.worker(), e.index()),
                                "step " + (e.index() + 1));
                        if (countStep(e.worker(), Mark.INFO)) {
                            add(new Row.SelfMessage(e.worker(), key + " exited with code " + e.code(), Mark.INFO));
                        }
                    }
                    case Event.WorkerFinished e -> {
                        foldedNote(e.worker());
                        add(new Row.Arrow(e.worker(), CONDUCTOR, "done", Mark.OK, true));
                    }
                    case Event.WorkerLost e -> {
                        lifeline(e.worker());
                        foldedNote(e.worker());
                        add(new Row.Arrow(e.worker(), CONDUCTOR, "LOST: " + StepText.oneLine(e.reason(), 100),
                                Mark.LOST, true));
                    }
                    case Event.PhaseFinished e -> {
                        foldedNotes();
                        if (separatorRow >= 0 && rows.get(separatorRow) instanceof Row.Separator sep) {
                            rows.set(separatorRow, new Row.Separator(sep.text() + " · "
                                    + StepText.millis(Duration.between(phaseStart, e.at())), sep.mark()));
                        }
                        separatorRow = -1;
                    }
                    case Event.RunFinished e -> {
                        foldedNotes();
                        String verdict = e.interrupted() ? "INTERRUPTED" : e.exitCode() == 0 ? "PASS" : "FAIL";
                        add(new Row.Separator(verdict + " · exit code " + e.exitCode(),
                                e.exitCode() == 0 ? Mark.OK : Mark.FAILED));
                    }
                    case Event.FileCopied e -> {
                        long bytes = e.entries().stream().mapToLong(x -> x.bytes()).sum();
                        String label = e.direction() + " " + StepText.oneLine(e.direction().equals("put") ? e.to() : e.from(), 60)
                                + (e.error().isEmpty() ? " (" + e.entries().size() + " file(s), " + bytes + " bytes)"
                                : " FAILED: " + StepText.oneLine(e.error(), 80));
                        Mark mark = e.error().isEmpty() ? Mark.INFO : Mark.FAILED;
                        add(e.direction().equals("put") ? new Row.Arrow(CONDUCTOR, e.worker(), label, mark, false)
                                : new Row.Arrow(e.worker(), CONDUCTOR, label, mark, false));
                    }
                    case Event.BarrierArrived e -> add(new Row.Arrow(e.worker(), CONDUCTOR, "arrive " + e.name(), Mark.INFO, false));
                    case Event.BarrierReleased e -> {
                        for (String w : e.arrived()) {
                            add(new Row.Arrow(CONDUCTOR, w, "release " + e.name()
                                    + (e.ok() ? "" : " FAILED: never came: " + String.join(", ", e.missing())),
                                    e.ok() ? Mark.OK : Mark.FAILED, true));
                        }
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
                    case Event.TrialFinished e -> {
                    }
                }
            }
            if (leftOut > 0) {
                rows.add(new Row.Separator(leftOut + " more row(s) left out: the chart stops at " + MAX_ROWS
                        + " rows (report.json and events.jsonl have everything)", Mark.INFO));
            }
            return new SequenceChart(title, lifelines, rows);
        }

        void step(Event.StepFinished e) {
            lifeline(e.worker());
            Mark mark = switch (e.status()) {
                case OK -> Mark.OK;
                case SPAWNED -> Mark.INFO;
                case SKIPPED, TODO -> Mark.SKIPPED;
                case FAILED, TIMEOUT, KILLED -> Mark.FAILED;
            };
            if (e.status() == Status.SPAWNED) {
                spawnKeys.put(spawnId(e.trial(), e.phase(), e.worker(), e.index()), e.key());
            }
            if (!countStep(e.worker(), mark)) {
                return;
            }
            String time = e.duration().filter(d -> e.status() != Status.SKIPPED && e.status() != Status.SPAWNED)
                    .map(d -> " · " + StepText.millis(d)).orElse("");
            String verdict = switch (e.status()) {
                case OK -> "ok";
                case SPAWNED -> "spawned";
                case SKIPPED -> "SKIP";
                case TODO -> "TODO";
                case FAILED -> "FAIL " + e.code();
                case TIMEOUT -> "TIMEOUT";
                case KILLED -> "KILLED";
            };
            add(new Row.SelfMessage(e.worker(), verdict + " " + e.key() + time + " · "
                    + StepText.oneLine(e.command(), COMMAND_CHARS), mark));
        }

        /** Counts a step row of the phase; false when it is folded into its worker's count instead of drawn. */
        boolean countStep(String worker, Mark mark) {
            phaseSteps++;
            if (phaseSteps <= STEPS_PER_PHASE || mark == Mark.FAILED) {
                return true;
            }
            folded.computeIfAbsent(worker, w -> new LinkedHashMap<>()).merge(mark, 1, Integer::sum);
            return false;
        }

        void foldedNotes() {
            List.copyOf(folded.keySet()).forEach(this::foldedNote);
        }

        /** The count of a worker's steps that were not drawn, where its part of the phase ends. */
        void foldedNote(String worker) {
            Map<Mark, Integer> counts = folded.remove(worker);
            if (counts != null) {
                int n = counts.values().stream().mapToInt(Integer::intValue).sum();
                List<String> parts = new ArrayList<>();
                counts.forEach((m, c) -> parts.add(c + " " + switch (m) {
                    case OK -> "ok";
                    case SKIPPED -> "skipped";
                    default -> "spawned or exited";
                }));
                add(new Row.Note(worker, n + " more step row(s) not drawn (" + String.join(", ", parts)
                        + "): over " + STEPS_PER_PHASE + " in this phase"));
            }
        }

        void lifeline(String worker) {
            if (!lifelines.contains(worker)) {
                lifelines.add(worker);
            }
        }

        void add(Row row) {
            if (rows.size() < MAX_ROWS) {
                rows.add(row);
            } else {
                leftOut++;
            }
        }

        static String spawnId(int trial, Phase phase, String worker, int index) {
            return trial + "/" + phase.key() + "/" + worker + "/" + index;
        }
    }

    // ---------------------------------------------------------------- Mermaid

    /**
     * Mermaid {@code sequenceDiagram} text. Workers get ids {@code w1, w2...} with their names
     * as aliases, so no name can collide with Mermaid's keywords; failures sit in a red
     * {@code rect} and are marked ❌.
     */
    public String mermaid() {
        Map<String, String> ids = new HashMap<>();
        StringBuilder b = new StringBuilder("sequenceDiagram\n");
        b.append("    %% ").append(mermaidText(title)).append('\n');
        for (int i = 0; i < lifelines.size(); i++) {
            String name = lifelines.get(i);
            String id = i == 0 ? CONDUCTOR : "w" + i;
            ids.put(name, id);
            b.append("    participant ").append(id);
            if (i > 0) {
                b.append(" as ").append(mermaidText(name));
            }
            b.append('\n');
        }
        String across = lifelines.size() > 1 ? CONDUCTOR + "," + ids.get(lifelines.getLast()) : CONDUCTOR;
        b.append("    Note over ").append(across).append(": ").append(mermaidText(title)).append('\n');
        for (Row row : rows) {
            switch (row) {
                case Row.Separator s -> b.append("    Note over ").append(across).append(": ")
                        .append(sign(s.mark())).append(mermaidText(s.text())).append('\n');
                case Row.SelfMessage m -> {
                    String id = ids.get(m.lifeline());
                    highlighted(b, m.mark(), "    " + id + "->>" + id + ": " + sign(m.mark()) + mermaidText(m.text()));
                }
                case Row.Arrow a -> {
                    String arrow = a.mark() == Mark.LOST ? "--x" : a.reply() ? "-->>" : "->>";
                    highlighted(b, a.mark(), "    " + ids.get(a.from()) + arrow + ids.get(a.to()) + ": " + sign(a.mark())
                            + mermaidText(a.text()));
                }
                case Row.Note n -> b.append("    Note right of ").append(ids.get(n.lifeline())).append(": ")
                        .append(mermaidText(n.text())).append('\n');
            }
        }
        return b.toString();
    }

    private static void highlighted(StringBuilder b, Mark mark, String line) {
        boolean bad = mark == Mark.FAILED || mark == Mark.LOST;
        if (bad) {
            b.append("    rect rgb(255, 221, 221)\n");
        }
        b.append(line).append('\n');
        if (bad) {
            b.append("    end\n");
        }
    }

    private static String sign(Mark mark) {
        return mark == Mark.FAILED || mark == Mark.LOST ? "❌ " : "";
    }

    /**
     * Text Mermaid shows as it is. {@code #} and {@code ;} end a message in its grammar and
     * {@code <}, {@code >}, {@code &} are read as HTML; each becomes Mermaid's own entity code
     * ({@code #59;} is a semicolon). Line breaks and other control characters become spaces.
     */
    static String mermaidText(String text) {
        String line = StepText.oneLine(text, Integer.MAX_VALUE - 1);
        StringBuilder b = new StringBuilder(line.length() + 8);
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            switch (c) {
                case '#', ';', '<', '>', '&', '"', '%', '{', '}' -> b.append('#').append((int) c).append(';');
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- SVG

    private static final int MARGIN = 20;
    private static final int HEAD_HEIGHT = 30;
    private static final int ROW_HEIGHT = 22;
    private static final int SEPARATOR_HEIGHT = 28;
    private static final int LOOP_WIDTH = 24;
    private static final double CHAR_WIDTH = 7.3; // DejaVu Sans Mono and the like at 12 px
    private static final String FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace";

    /**
     * A standalone SVG document: lifelines with their names in boxes top and bottom, rows in
     * order; failures red with a cross, lost workers a red dashed arrow ending in a cross. Text
     * is monospace, so its width is known without measuring fonts.
     */
    public String svg() {
        int n = lifelines.size();
        // Each lifeline's column is as wide as its head box or its widest self-message, whichever is wider.
        double[] right = new double[n];
        double[] head = new double[n];
        for (int i = 0; i < n; i++) {
            head[i] = Math.max(90, textWidth(lifelines.get(i)) + 24);
            right[i] = head[i] / 2;
        }
        Map<String, Integer> column = new HashMap<>();
        for (int i = 0; i < n; i++) {
            column.put(lifelines.get(i), i);
        }
        for (Row row : rows) {
            switch (row) {
                case Row.SelfMessage m -> widen(right, column.get(m.lifeline()), LOOP_WIDTH + 14 + textWidth(m.text()));
                case Row.Note note -> widen(right, column.get(note.lifeline()), 16 + textWidth(note.text()));
                case Row.Arrow a -> {
                    int from = Math.min(column.get(a.from()), column.get(a.to()));
                    widen(right, from, 16 + textWidth(a.text()) / Math.max(1, Math.abs(column.get(a.from()) - column.get(a.to()))));
                }
                case Row.Separator s -> {
                }
            }
        }
        double[] x = new double[n];
        x[0] = MARGIN + head[0] / 2;
        for (int i = 1; i < n; i++) {
            x[i] = x[i - 1] + Math.max(right[i - 1] + 24 + head[i] / 2, (head[i - 1] + head[i]) / 2 + 30);
        }
        double separatorWidth = 0;
        for (Row row : rows) {
            if (row instanceof Row.Separator s) {
                separatorWidth = Math.max(separatorWidth, textWidth(s.text()) + 40);
            }
        }
        double widest = Math.max(x[n - 1] + right[n - 1], MARGIN + textWidth(title) * 14 / 12);
        for (Row row : rows) {
            if (row instanceof Row.Arrow a) {
                widest = Math.max(widest, Math.min(x[column.get(a.from())], x[column.get(a.to())]) + 10 + textWidth(a.text()));
            }
        }
        double width = Math.max(widest + 2 * MARGIN, separatorWidth + 2 * MARGIN);
        double top = MARGIN + 24;
        double y = top + HEAD_HEIGHT + 16;
        double[] rowY = new double[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            boolean separator = rows.get(r) instanceof Row.Separator;
            rowY[r] = y + (separator ? SEPARATOR_HEIGHT : ROW_HEIGHT) / 2.0;
            y += separator ? SEPARATOR_HEIGHT : ROW_HEIGHT;
        }
        double bottom = y + 12;
        double height = bottom + HEAD_HEIGHT + MARGIN;

        StringWriter text = new StringWriter();
        try {
            XMLStreamWriter w = XMLOutputFactory.newInstance().createXMLStreamWriter(text);
            w.writeStartDocument("UTF-8", "1.0");
            w.writeCharacters("\n");
            w.writeStartElement("svg");
            w.writeDefaultNamespace("http://www.w3.org/2000/svg");
            w.writeAttribute("version", "1.1");
            w.writeAttribute("width", num(width));
            w.writeAttribute("height", num(height));
            w.writeAttribute("viewBox", "0 0 " + num(width) + " " + num(height));
            w.writeAttribute("font-family", FONT);
            w.writeAttribute("font-size", "12");
            w.writeCharacters("\n");
            w.writeStartElement("title");
            w.writeCharacters(XmlChars.clean(title));
            w.writeEndElement();
            w.writeCharacters("\n");
            w.writeStartElement("style");
            w.writeCharacters("""
                    .life line{stroke:#888;stroke-dasharray:4 4}.life rect{fill:#eef3fb;stroke:#5577aa}
                    .life text{font-weight:bold;text-anchor:middle}.sep rect{fill:#f0f0f0;stroke:#bbb}
                    .sep text{text-anchor:middle;font-weight:bold}.msg path,.msg line{stroke:#333;fill:none}
                    .ok text{fill:#1a6b1a}.failed text,.lost text{fill:#b00000;font-weight:bold}.skipped text{fill:#777}
                    .info text{fill:#333}.failed .band,.lost .band{fill:#ffdede;stroke:none}.cross{stroke:#b00000;stroke-width:2}
                    .lost line.arrow{stroke:#b00000;stroke-dasharray:5 3}.reply line.arrow{stroke-dasharray:5 3}
                    .note rect{fill:#fff8c4;stroke:#c9b458}.verdict-ok text{fill:#1a6b1a}.verdict-failed text{fill:#b00000}
                    .label{fill:#fff;opacity:0.85}.title{font-weight:bold;font-size:14px}
                    """);
            w.writeEndElement();
            w.writeCharacters("\n");
            w.writeStartElement("defs");
            w.writeStartElement("marker");
            w.writeAttribute("id", "head");
            w.writeAttribute("viewBox", "0 0 10 10");
            w.writeAttribute("refX", "10");
            w.writeAttribute("refY", "5");
            w.writeAttribute("markerWidth", "8");
            w.writeAttribute("markerHeight", "8");
            w.writeAttribute("orient", "auto");
            w.writeEmptyElement("path");
            w.writeAttribute("d", "M0,0 L10,5 L0,10 z");
            w.writeAttribute("fill", "#333");
            w.writeEndElement();
            w.writeEndElement();
            w.writeCharacters("\n");
            w.writeEmptyElement("rect");
            w.writeAttribute("width", "100%");
            w.writeAttribute("height", "100%");
            w.writeAttribute("fill", "#ffffff");
            w.writeCharacters("\n");
            textAt(w, MARGIN, MARGIN + 12, title, "title");
            w.writeCharacters("\n");
            for (int i = 0; i < n; i++) {
                w.writeStartElement("g");
                w.writeAttribute("class", "life");
                w.writeAttribute("data-name", XmlChars.clean(lifelines.get(i)));
                line(w, x[i], top + HEAD_HEIGHT, x[i], bottom);
                for (double boxTop : new double[]{top, bottom}) {
                    w.writeEmptyElement("rect");
                    w.writeAttribute("x", num(x[i] - head[i] / 2));
                    w.writeAttribute("y", num(boxTop));
                    w.writeAttribute("width", num(head[i]));
                    w.writeAttribute("height", num(HEAD_HEIGHT));
                    w.writeAttribute("rx", "3");
                    textAt(w, x[i], boxTop + 19, lifelines.get(i), null);
                }
                w.writeEndElement();
                w.writeCharacters("\n");
            }
            for (int r = 0; r < rows.size(); r++) {
                drawRow(w, rows.get(r), rowY[r], x, column, width);
                w.writeCharacters("\n");
            }
            w.writeEndElement();
            w.writeCharacters("\n");
            w.writeEndDocument();
            w.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("cannot write the sequence chart: " + e.getMessage(), e);
        }
        return text.toString();
    }

    private static void drawRow(XMLStreamWriter w, Row row, double y, double[] x, Map<String, Integer> column,
                                double width) throws XMLStreamException {
        switch (row) {
            case Row.Separator s -> {
                w.writeStartElement("g");
                w.writeAttribute("class", "sep verdict-" + markClass(s.mark()));
                w.writeEmptyElement("rect");
                w.writeAttribute("x", num(MARGIN / 2.0));
                w.writeAttribute("y", num(y - 10));
                w.writeAttribute("width", num(width - MARGIN));
                w.writeAttribute("height", "20");
                textAt(w, width / 2, y + 4, s.text(), null);
                w.writeEndElement();
            }
            case Row.SelfMessage m -> {
                double lx = x[column.get(m.lifeline())];
                w.writeStartElement("g");
                w.writeAttribute("class", "msg self " + markClass(m.mark()));
                w.writeAttribute("data-lifeline", XmlChars.clean(m.lifeline()));
                band(w, m.mark(), lx, y, LOOP_WIDTH + 14 + textWidth(m.text()));
                w.writeEmptyElement("path");
                w.writeAttribute("d", "M" + num(lx) + "," + num(y - 6) + " h" + LOOP_WIDTH + " v10 h-" + (LOOP_WIDTH - 1));
                w.writeAttribute("marker-end", "url(#head)");
                if (m.mark() == Mark.FAILED) {
                    cross(w, lx - 12, y);
                }
                textAt(w, lx + LOOP_WIDTH + 8, y + 4, m.text(), null);
                w.writeEndElement();
            }
            case Row.Arrow a -> {
                double x1 = x[column.get(a.from())];
                double x2 = x[column.get(a.to())];
                w.writeStartElement("g");
                w.writeAttribute("class", "msg arrow " + markClass(a.mark()) + (a.reply() ? " reply" : ""));
                w.writeAttribute("data-from", XmlChars.clean(a.from()));
                w.writeAttribute("data-to", XmlChars.clean(a.to()));
                double labelX = Math.min(x1, x2) + 8;
                double labelWidth = textWidth(a.text());
                w.writeEmptyElement("rect");
                w.writeAttribute("class", "label");
                w.writeAttribute("x", num(labelX - 2));
                w.writeAttribute("y", num(y - 14));
                w.writeAttribute("width", num(labelWidth + 4));
                w.writeAttribute("height", "13");
                w.writeEmptyElement("line");
                w.writeAttribute("class", "arrow");
                w.writeAttribute("x1", num(x1));
                w.writeAttribute("y1", num(y + 4));
                w.writeAttribute("x2", num(x2 + (x2 > x1 ? -1 : 1)));
                w.writeAttribute("y2", num(y + 4));
                if (a.mark() == Mark.LOST) {
                    cross(w, x2 + (x2 > x1 ? -6 : 6), y + 4);
                } else {
                    w.writeAttribute("marker-end", "url(#head)");
                }
                textAt(w, labelX, y - 3, a.text(), null);
                w.writeEndElement();
            }
            case Row.Note note -> {
                double lx = x[column.get(note.lifeline())];
                w.writeStartElement("g");
                w.writeAttribute("class", "note");
                w.writeAttribute("data-lifeline", XmlChars.clean(note.lifeline()));
                w.writeEmptyElement("rect");
                w.writeAttribute("x", num(lx + 6));
                w.writeAttribute("y", num(y - 9));
                w.writeAttribute("width", num(textWidth(note.text()) + 10));
                w.writeAttribute("height", "18");
                textAt(w, lx + 11, y + 4, note.text(), null);
                w.writeEndElement();
            }
        }
    }

    private static void band(XMLStreamWriter w, Mark mark, double lx, double y, double len) throws XMLStreamException {
        if (mark == Mark.FAILED || mark == Mark.LOST) {
            w.writeEmptyElement("rect");
            w.writeAttribute("class", "band");
            w.writeAttribute("x", num(lx - 20));
            w.writeAttribute("y", num(y - 10));
            w.writeAttribute("width", num(len + 26));
            w.writeAttribute("height", "20");
        }
    }

    /** A cross drawn as two strokes: no font needed for it to show. */
    private static void cross(XMLStreamWriter w, double cx, double cy) throws XMLStreamException {
        w.writeEmptyElement("path");
        w.writeAttribute("class", "cross");
        w.writeAttribute("d", "M" + num(cx - 4) + "," + num(cy - 4) + " l8,8 M" + num(cx + 4) + "," + num(cy - 4) + " l-8,8");
    }

    private static XMLStreamWriter textAt(XMLStreamWriter w, double x, double y, String s, String cls)
            throws XMLStreamException {
        w.writeStartElement("text");
        w.writeAttribute("x", num(x));
        w.writeAttribute("y", num(y));
        if (cls != null) {
            w.writeAttribute("class", cls);
        }
        w.writeCharacters(XmlChars.clean(s));
        w.writeEndElement();
        return w;
    }

    private static void line(XMLStreamWriter w, double x1, double y1, double x2, double y2) throws XMLStreamException {
        w.writeEmptyElement("line");
        w.writeAttribute("x1", num(x1));
        w.writeAttribute("y1", num(y1));
        w.writeAttribute("x2", num(x2));
        w.writeAttribute("y2", num(y2));
    }

    private static void widen(double[] right, Integer column, double width) {
        if (column != null) {
            right[column] = Math.max(right[column], width);
        }
    }

    private static String markClass(Mark mark) {
        return mark.name().toLowerCase(Locale.ROOT);
    }

    /** Monospace: a character is 0.6 em; East Asian wide characters twice that. */
    static double textWidth(String s) {
        double w = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            w += cp >= 0x1100 && (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3)
                    || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFF60) || cp >= 0x1F300) ? 2 : 1;
            i += Character.charCount(cp);
        }
        return w * CHAR_WIDTH;
    }

    private static String num(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }
}
