package dev.conductor.report;

import dev.conductor.events.Event;
import dev.conductor.plan.Phase;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The JUnit XML report, read back with the JDK's DOM parser as a CI server would read it. */
class JUnitReportTest {

    @Test
    void oneSuitePerTrialAndWorkerWithCountsThatAddUp() throws Exception {
        Document doc = parse(JUnitReport.render(RunLog.mixed()));
        Element root = doc.getDocumentElement();
        assertThat(root.getTagName()).isEqualTo("testsuites");
        assertThat(root.getAttribute("name")).isEqualTo("examples/mixed/test.cfg");
        assertThat(counts(root)).containsExactly("10", "2", "1", "1");
        List<Element> suites = children(root, "testsuite");
        assertThat(suites).extracting(s -> s.getAttribute("name")).containsExactly("trial-1.receiver", "trial-1.sender");
        assertThat(counts(suites.get(0))).containsExactly("5", "1", "0", "0");
        assertThat(counts(suites.get(1))).containsExactly("5", "1", "1", "1");
        assertThat(suites.get(1).getAttribute("hostname")).isEqualTo("127.0.0.1:6910");
        assertThat(suites.get(0).getAttribute("timestamp")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d");
        assertThat(Double.parseDouble(suites.get(0).getAttribute("time"))).isGreaterThan(10.0);
        for (Element suite : suites) {
            assertThat(children(suite, "testcase")).hasSize(Integer.parseInt(suite.getAttribute("tests")));
        }
    }

    @Test
    void stepsAreTestcasesWithFailureSkippedErrorAndTheirOutput() throws Exception {
        Document doc = parse(JUnitReport.render(RunLog.mixed()));
        List<Element> cases = children(doc.getDocumentElement(), "testsuite").stream()
                .flatMap(s -> children(s, "testcase").stream()).toList();
        assertThat(cases).extracting(c -> c.getAttribute("classname") + " / " + c.getAttribute("name")).containsExactly(
                "trial-1.receiver.startup / step1: rm -rf /tmp/rx && mkdir -p /tmp/rx",
                "trial-1.receiver.startup / spawn1: perl -e 'listen; accept'",
                "trial-1.receiver.run / timeout10: until [ -e /tmp/rx/done ]; do sleep 0.05; done",
                "trial-1.receiver.collect / step1: sha256sum < /tmp/rx/received.bin",
                "trial-1.receiver.reset / step1: rm -rf /tmp/rx && echo \"receiver reset\"",
                "trial-1.sender.startup / step1: head -c 1048576 /dev/urandom > /tmp/tx/sent.bin && echo \"payload ready\"",
                "trial-1.sender.run / step1: echo why >&2; exit 7 # the #1 reason",
                "trial-1.sender.run / step2: echo never",
                "trial-1.sender.collect / worker lost",
                "trial-1.sender.reset / step1: rm -rf /tmp/tx && echo \"sender reset\"");

        Element timeout = cases.get(2);
        assertThat(timeout.getAttribute("time")).isEqualTo("10.004");
        Element failure = child(timeout, "failure");
        assertThat(failure.getAttribute("type")).isEqualTo("timeout");
        assertThat(failure.getAttribute("message")).isEqualTo("Command timed out after 10 seconds (process tree killed)");
        assertThat(failure.getTextContent()).contains("worker receiver").contains("--- stdout (last lines; 10 earlier) ---")
                .endsWith("waiting\n".repeat(20));
        assertThat(child(timeout, "system-out").getTextContent()).isEqualTo("waiting\n".repeat(30));

        Element failed = cases.get(6);
        assertThat(failed.getAttribute("time")).isEqualTo("0.025");
        assertThat(child(failed, "failure").getAttribute("type")).isEqualTo("failed");
        assertThat(child(failed, "failure").getAttribute("message")).isEqualTo("exited with code 7");
        assertThat(child(failed, "failure").getTextContent()).contains("status failed, code 7, 25 ms")
                .contains("command: echo why >&2; exit 7 # the #1 reason").contains("]]> <tag attr=\"x\"> & 'q'");
        assertThat(child(failed, "system-out").getTextContent()).isEqualTo("before\n");

        Element skipped = child(cases.get(7), "skipped");
        assertThat(skipped.getAttribute("message")).startsWith("step 1 (echo why").endsWith("failed earlier in this phase");

        Element error = child(cases.get(8), "error");
        assertThat(error.getAttribute("type")).isEqualTo("lost");
        assertThat(error.getAttribute("message")).startsWith("no answer within 15 s");

        assertThat(cases.get(0).getChildNodes().getLength()).isZero();
        assertThat(child(cases.get(4), "system-out").getTextContent()).isEqualTo("receiver reset\n");
    }

    /** XML 1.0 cannot carry most control characters even as references: they must not reach the file. */
    @Test
    void controlCharactersAndColourCodesInOutputLeaveTheXmlWellFormed() throws Exception {
        String xml = JUnitReport.render(RunLog.mixed());
        Document doc = parse(xml);
        Element failed = children(doc.getDocumentElement(), "testsuite").get(1);
        String stderr = child(children(failed, "testcase").get(1), "system-err").getTextContent();
        assertThat(stderr).startsWith("red alert\nnul:\uFFFD bell:\uFFFD ff:\uFFFD vt:\uFFFD del:\u007F c1:\u0085 lone:\uFFFD pair:\uD83D\uDE00\n");
        assertThat(stderr).contains("]]> <tag attr=\"x\"> & 'q'").contains("\ttabbed\n").endsWith("trailing blanks   \n");
        assertThat(xml).doesNotContain("\u001B").doesNotContain("\u0000").doesNotContain("&#");

        String allBytes = "names\u0001too";
        List<Event> events = RunLog.start("t\u0002.cfg", 1, "w\u0003").trial(1).phase(1, Phase.RUN, "w\u0003")
                .step(1, Phase.RUN, "w\u0003", 0, "step1", "printf '\\001'", Status.FAILED, 1, "why\u0004", 1,
                        allBytes, "")
                .endPhase(1, Phase.RUN).endTrial(1).finish(1, false);
        Document other = parse(JUnitReport.render(events));
        assertThat(other.getDocumentElement().getAttribute("name")).isEqualTo("t\uFFFD.cfg");
        assertThat(children(other.getDocumentElement(), "testsuite").getFirst().getAttribute("name"))
                .isEqualTo("trial-1.w\uFFFD");
    }

    @Test
    void aPassingRunHasOneSuitePerTrialAndWorkerAndNoFailures() throws Exception {
        Document doc = parse(JUnitReport.render(RunLog.passing()));
        assertThat(counts(doc.getDocumentElement())).containsExactly("16", "0", "0", "0");
        assertThat(children(doc.getDocumentElement(), "testsuite")).extracting(s -> s.getAttribute("name"))
                .containsExactly("trial-1.receiver", "trial-1.sender", "trial-2.receiver", "trial-2.sender");
        assertThat(doc.getElementsByTagName("failure").getLength()).isZero();
    }

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<String> counts(Element e) {
        return List.of(e.getAttribute("tests"), e.getAttribute("failures"), e.getAttribute("errors"),
                e.getAttribute("skipped"));
    }

    static List<Element> children(Element parent, String tag) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e && e.getTagName().equals(tag)) {
                out.add(e);
            }
        }
        return out;
    }

    private static Element child(Element parent, String tag) {
        List<Element> found = children(parent, tag);
        assertThat(found).as("<" + tag + "> in <" + parent.getTagName() + " " + parent.getAttribute("name") + ">").hasSize(1);
        return found.getFirst();
    }
}
