package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The sequence chart from the event log: its rows, its Mermaid text, its SVG read back as XML. */
class SequenceChartTest {
    /** Every statement the Mermaid text may contain; anything else is a bug in the escaping. */
    private static final List<Pattern> MERMAID_LINES = List.of(
            Pattern.compile("sequenceDiagram"),
            Pattern.compile(" {4}%% [^\\n]*"),
            Pattern.compile(" {4}participant conductor"),
            Pattern.compile(" {4}participant w\\d+ as [^;#<>&\\n]+"),
            Pattern.compile(" {4}Note (over conductor,w\\d+|right of w\\d+): [^;#<>&\\n]*(#\\d+;[^;#<>&\\n]*)*"),
            Pattern.compile(" {4}(conductor|w\\d+)(->>|-->>|--x)(conductor|w\\d+): [^;#<>&\\n]*(#\\d+;[^;#<>&\\n]*)*"),
            Pattern.compile(" {4}rect rgb\\(255, 221, 221\\)"),
            Pattern.compile(" {4}end"));

    @Test
    void rowsFollowTheRunWithResultsTimesAndFailuresMarked() {
        SequenceChart chart = SequenceChart.of(RunLog.mixed());
        assertThat(chart.lifelines()).containsExactly("conductor", "receiver", "sender");
        List<String> rows = chart.rows().stream().map(SequenceChartTest::describe).toList();
        assertThat(rows).startsWith(
                "SEP INFO trial 1 · startup · 36 ms",
                "conductor->receiver INFO startup",
                "conductor->sender INFO startup",
                "receiver: OK ok step1 · 12 ms · rm -rf /tmp/rx && mkdir -p /tmp/rx",
                "receiver: INFO spawned spawn1 · perl -e 'listen; accept'",
                "sender: OK ok step1 · 12 ms · head -c 1048576 /dev/urandom > /tmp/tx/sent.bin && echo \"pa…",
                "receiver->conductor OK done");
        assertThat(rows).contains(
                "receiver: FAILED TIMEOUT timeout10 · 10.0 s · until [ -e /tmp/rx/done ]; do sleep 0.05; done",
                "sender: FAILED FAIL 7 step1 · 25 ms · echo why >&2; exit 7 # the #1 reason",
                "sender: SKIPPED SKIP step2 · echo never",
                "receiver: INFO spawn1 exited with code 0",
                "sender->conductor LOST LOST: no answer within 15 s (player at 127.0.0.1:6910 stopped answering)");
        assertThat(rows.getLast()).isEqualTo("SEP FAILED FAIL · exit code 3");
    }

    @Test
    void barriersAreArrowsThroughTheConductorAndAFailedReleaseIsMarked() throws Exception {
        SequenceChart chart = SequenceChart.of(RunLog.barriers());
        List<String> rows = chart.rows().stream().map(SequenceChartTest::describe).toList();
        assertThat(rows).containsSubsequence(
                "a->conductor INFO arrive ready",
                "b->conductor INFO arrive ready",
                "conductor->a OK release ready",
                "conductor->b OK release ready",
                "a->conductor INFO arrive late",
                "conductor->a FAILED release late FAILED: never came: b");
        String mmd = chart.mermaid();
        for (String line : mmd.lines().toList()) {
            assertThat(MERMAID_LINES).as(line).anyMatch(p -> p.matcher(line).matches());
        }
        assertThat(mmd).contains("    w1->>conductor: arrive ready\n").contains("    conductor-->>w2: release ready\n")
                .contains("    rect rgb(255, 221, 221)\n    conductor-->>w1: ❌ release late FAILED: never came: b\n    end\n");
        Document doc = JUnitReportTest.parse(chart.svg());
        List<Element> failedArrows = groups(doc, "arrow").stream().filter(g -> g.getAttribute("class").contains("failed")).toList();
        assertThat(failedArrows).hasSize(1);
        assertThat(failedArrows.getFirst().getAttribute("data-to")).isEqualTo("a");
        assertThat(texts(failedArrows.getFirst())).containsExactly("release late FAILED: never came: b");
    }

    @Test
    void mermaidTextIsOneKnownStatementALineWithEveryAwkwardCharacterEncoded() {
        String mmd = SequenceChart.of(RunLog.mixed()).mermaid();
        assertThat(mmd).startsWith("sequenceDiagram\n");
        for (String line : mmd.lines().toList()) {
            assertThat(MERMAID_LINES).as(line).anyMatch(p -> p.matcher(line).matches());
        }
        assertThat(mmd).contains("    participant w1 as receiver\n    participant w2 as sender\n");
        assertThat(mmd).contains("""
                    rect rgb(255, 221, 221)
                    w2->>w2: ❌ FAIL 7 step1 · 25 ms · echo why #62;#38;2#59; exit 7 #35; the #35;1 reason
                    end
                """);
        assertThat(mmd).contains("    w2--xconductor: ❌ LOST: no answer within 15 s");
        assertThat(mmd).contains("    w1->>w1: ok step1 · 12 ms · rm -rf /tmp/rx #38;#38; mkdir -p /tmp/rx\n");
        assertThat(mmd).contains("    Note over conductor,w2: trial 1 · run · ");
        long rects = mmd.lines().filter(l -> l.startsWith("    rect ")).count();
        assertThat(mmd.lines().filter(l -> l.equals("    end")).count()).isEqualTo(rects).isEqualTo(3);
    }

    @Test
    void mermaidEscapesWhatEndsAMessageOrReadsAsHtml() {
        assertThat(SequenceChart.mermaidText("a;b#c<d>e&f\"g%h{i}")).isEqualTo("a#59;b#35;c#60;d#62;e#38;f#34;g#37;h#123;i#125;");
        assertThat(SequenceChart.mermaidText("two\nlines\tand\u0000nul")).isEqualTo("two lines and nul");
        String longCommand = "x".repeat(500);
        List<Event> events = RunLog.start("t.cfg", 1, "end").trial(1).phase(1, Phase.RUN, "end")
                .ok(1, Phase.RUN, "end", 0, "step1", longCommand, "").endPhase(1, Phase.RUN).endTrial(1).finish(0, false);
        String mmd = SequenceChart.of(events).mermaid();
        assertThat(mmd).contains("participant w1 as end\n").contains("w1->>w1: ok step1 · 12 ms · " + "x".repeat(59) + "…\n");
    }

    @Test
    void svgIsAStandaloneDocumentWithLifelinesLabelsAndMarkedFailures() throws Exception {
        String svg = SequenceChart.of(RunLog.mixed()).svg();
        assertThat(svg).startsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        Document doc = JUnitReportTest.parse(svg);
        Element root = doc.getDocumentElement();
        assertThat(root.getTagName()).isEqualTo("svg");
        assertThat(root.getAttribute("xmlns")).isEqualTo("http://www.w3.org/2000/svg");
        double width = Double.parseDouble(root.getAttribute("width"));
        double height = Double.parseDouble(root.getAttribute("height"));
        assertThat(root.getAttribute("viewBox")).isEqualTo("0 0 " + root.getAttribute("width") + " " + root.getAttribute("height"));
        assertThat(width).isBetween(800.0, 3000.0);
        assertThat(height).isBetween(500.0, 2000.0);

        List<Element> lifelines = groups(doc, "life");
        assertThat(lifelines).extracting(g -> g.getAttribute("data-name")).containsExactly("conductor", "receiver", "sender");
        for (Element g : lifelines) {
            assertThat(texts(g)).containsExactly(g.getAttribute("data-name"), g.getAttribute("data-name"));
            assertThat(g.getElementsByTagName("line").getLength()).isEqualTo(1);
        }

        List<Element> failed = groups(doc, "failed");
        assertThat(failed).hasSize(2);
        assertThat(failed).extracting(g -> g.getAttribute("data-lifeline")).containsExactly("receiver", "sender");
        assertThat(texts(failed.get(1))).containsExactly("FAIL 7 step1 · 25 ms · echo why >&2; exit 7 # the #1 reason");
        for (Element g : failed) {
            assertThat(pathsOfClass(g, "cross")).hasSize(1);
            assertThat(rectsOfClass(g, "band")).hasSize(1);
        }
        List<Element> lost = groups(doc, "lost");
        assertThat(lost).hasSize(1);
        assertThat(lost.getFirst().getAttribute("data-from")).isEqualTo("sender");
        assertThat(lost.getFirst().getAttribute("data-to")).isEqualTo("conductor");
        assertThat(texts(lost.getFirst()).getFirst()).startsWith("LOST: no answer within 15 s");
        assertThat(groups(doc, "ok")).extracting(g -> texts(g).getFirst()).contains(
                "ok step1 · 12 ms · sha256sum < /tmp/rx/received.bin", "done");
        assertThat(groups(doc, "sep")).extracting(g -> texts(g).getFirst())
                .startsWith("trial 1 · startup · 36 ms").endsWith("FAIL · exit code 3");

        // Everything drawn lies inside the canvas.
        NodeList all = doc.getElementsByTagName("text");
        for (int i = 0; i < all.getLength(); i++) {
            Element t = (Element) all.item(i);
            double x = Double.parseDouble(t.getAttribute("x"));
            double y = Double.parseDouble(t.getAttribute("y"));
            double end = t.getParentNode() instanceof Element p && p.getAttribute("class").startsWith("sep")
                    || (t.getParentNode() instanceof Element q && q.getAttribute("class").equals("life"))
                    ? x : x + SequenceChart.textWidth(t.getTextContent());
            assertThat(end).as(t.getTextContent()).isLessThanOrEqualTo(width);
            assertThat(y).isBetween(0.0, height);
        }
    }

    @Test
    void namesAndOutputThatXmlCannotHoldStillMakeAValidSvg() throws Exception {
        List<Event> events = RunLog.start("t.cfg", 1, "w<&>\u0001").trial(1).phase(1, Phase.RUN, "w<&>\u0001")
                .step(1, Phase.RUN, "w<&>\u0001", 0, "step1", "printf '\u001B[31m]]>\u0000'", Status.FAILED, 1,
                        "x", 3, "", "")
                .endPhase(1, Phase.RUN).endTrial(1).finish(1, false);
        Document doc = JUnitReportTest.parse(SequenceChart.of(events).svg());
        assertThat(groups(doc, "life")).extracting(g -> g.getAttribute("data-name")).contains("w<&>\uFFFD");
        assertThat(texts(groups(doc, "failed").getFirst())).containsExactly("FAIL 1 step1 · 3 ms · printf ' [31m]]> '");
    }

    @Test
    void tenThousandStepsInAPhaseFoldIntoCountsButFailuresStayDrawn() throws Exception {
        RunLog log = RunLog.start("big.cfg", 1, "a", "b").trial(1).phase(1, Phase.RUN, "a", "b");
        for (int i = 0; i < 5000; i++) {
            log.ok(1, Phase.RUN, "a", i, "step" + (i + 1), "echo " + i, "");
            if (i == 4999) {
                log.step(1, Phase.RUN, "b", i, "step" + (i + 1), "false", Status.FAILED, 1, "exited with code 1", 1, "", "");
            } else {
                log.ok(1, Phase.RUN, "b", i, "step" + (i + 1), "echo " + i, "");
            }
        }
        List<Event> events = log.endPhase(1, Phase.RUN).endTrial(1).finish(1, false);
        long t0 = System.nanoTime();
        SequenceChart chart = SequenceChart.of(events);
        String svg = chart.svg();
        String mmd = chart.mermaid();
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(millis).as("time to chart 10,000 steps").isLessThan(5_000);
        long selfRows = chart.rows().stream().filter(r -> r instanceof SequenceChart.Row.SelfMessage).count();
        assertThat(selfRows).isEqualTo(SequenceChart.STEPS_PER_PHASE + 1);
        assertThat(chart.rows()).filteredOn(r -> r instanceof SequenceChart.Row.Note).extracting(SequenceChartTest::describe)
                .containsExactly("note a: 4750 more step row(s) not drawn (4750 ok): over 500 in this phase",
                        "note b: 4749 more step row(s) not drawn (4749 ok): over 500 in this phase");
        assertThat(mmd).contains("w2->>w2: ❌ FAIL 1 step5000 · 1 ms · false");
        // A worker's count stands where its part of the phase ends, before its answer.
        assertThat(mmd).contains("    Note right of w1: 4750 more step row(s) not drawn (4750 ok): over 500 in this phase\n"
                + "    w1-->>conductor: done\n");
        assertThat(svg.length()).isLessThan(1_000_000);
        assertThat(JUnitReportTest.parse(svg).getDocumentElement().getTagName()).isEqualTo("svg");
    }

    @Test
    void aLongRunStopsAtTheRowLimitWithANote() throws Exception {
        RunLog log = RunLog.start("long.cfg", 200, "a", "b", "c");
        for (int t = 1; t <= 200; t++) {
            log.trial(t);
            for (Phase p : Phase.values()) {
                log.phase(t, p, "a", "b", "c");
                for (int i = 0; i < 5; i++) {
                    for (String w : List.of("a", "b", "c")) {
                        log.ok(t, p, w, i, "step" + (i + 1), "echo " + w + i, "");
                    }
                }
                log.endPhase(t, p);
            }
            log.endTrial(t);
        }
        List<Event> events = log.finish(0, false);
        long t0 = System.nanoTime();
        SequenceChart chart = SequenceChart.of(events);
        String svg = chart.svg();
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(millis).as("time to chart 12,000 steps in 800 phases").isLessThan(5_000);
        assertThat(chart.rows()).hasSize(SequenceChart.MAX_ROWS + 1);
        assertThat(describe(chart.rows().getLast())).startsWith("SEP INFO ").contains("more row(s) left out: the chart stops at 5000 rows");
        assertThat(svg.length()).isLessThan(4_000_000);
        assertThat(JUnitReportTest.parse(svg).getDocumentElement().getTagName()).isEqualTo("svg");
    }

    private static String describe(SequenceChart.Row row) {
        return switch (row) {
            case SequenceChart.Row.Separator s -> "SEP " + s.mark() + " " + s.text();
            case SequenceChart.Row.SelfMessage m -> m.lifeline() + ": " + m.mark() + " " + m.text();
            case SequenceChart.Row.Arrow a -> a.from() + "->" + a.to() + " " + a.mark() + " " + a.text();
            case SequenceChart.Row.Note n -> "note " + n.lifeline() + ": " + n.text();
        };
    }

    /** The {@code <g>} elements whose class list has {@code cls}, in document order. */
    private static List<Element> groups(Document doc, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList gs = doc.getElementsByTagName("g");
        for (int i = 0; i < gs.getLength(); i++) {
            Element g = (Element) gs.item(i);
            if (List.of(g.getAttribute("class").split(" ")).contains(cls)) {
                out.add(g);
            }
        }
        return out;
    }

    private static List<String> texts(Element g) {
        List<String> out = new ArrayList<>();
        NodeList ts = g.getElementsByTagName("text");
        for (int i = 0; i < ts.getLength(); i++) {
            out.add(ts.item(i).getTextContent());
        }
        return out;
    }

    private static List<Element> pathsOfClass(Element g, String cls) {
        return ofClass(g, "path", cls);
    }

    private static List<Element> rectsOfClass(Element g, String cls) {
        return ofClass(g, "rect", cls);
    }

    private static List<Element> ofClass(Element g, String tag, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList ns = g.getElementsByTagName(tag);
        for (int i = 0; i < ns.getLength(); i++) {
            if (((Element) ns.item(i)).getAttribute("class").equals(cls)) {
                out.add((Element) ns.item(i));
            }
        }
        return out;
    }
}
