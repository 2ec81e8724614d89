package dev.conductor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.plan.Phase;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** The raw numbers of a benchmark run as JSON: every sample, not only the summaries, in ms and KiB. */
final class ResultFile {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ResultFile() {
    }

    static void write(Path file, List<String> command, Machine machine, double minutes, List<Outcome> outcomes)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("generatedAt", Instant.now().toString());
        root.put("minutes", round(minutes));
        ArrayNode argv = root.putArray("command");
        command.forEach(argv::add);
        root.set("machine", JSON.valueToTree(machine));
        root.put("units", "times in milliseconds, memory in KiB; percentiles are nearest-rank");
        ArrayNode cases = root.putArray("cases");
        for (Outcome o : outcomes) {
            cases.add(caseNode(o));
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        JSON.writeValue(file.toFile(), root);
    }

    private static ObjectNode caseNode(Outcome o) {
        ObjectNode c = JSON.createObjectNode();
        c.put("players", o.players());
        c.put("mode", o.mode().label());
        c.put("protocolOffered", o.benchCase().protocol());
        ArrayNode spoken = c.putArray("protocolsSpoken");
        o.protocolsSpoken().forEach(spoken::add);
        ArrayNode opts = c.putArray("playerJavaOpts");
        o.javaOpts().forEach(opts::add);
        c.put("warmupTrials", o.warmup());
        c.put("measuredTrials", o.trials());
        c.put("playersUpSeconds", round(o.playersUpSeconds()));
        c.put("firstContactSeconds", round(o.firstContactSeconds()));
        c.put("runSeconds", round(o.runSeconds()));
        c.put("loadAverageBefore", o.loadAverage());
        c.put("playersIdleBeforeRun", o.idleBeforeRun());
        c.put("otherWorkDuringRunCores", round(o.foreignCpuCores()));
        c.put("benchJvmCpuMsPerTrial", round(o.benchCpuMsPerTrial()));
        Timings t = o.timings();

        ObjectNode summary = c.putObject("summary");
        summary.set("startSpreadMs", summaryNode(Summary.of(t.startSpread())));
        summary.set("startSpreadCorrectedMs", summaryNode(Summary.of(t.startSpreadCorrected())));
        summary.set("clockOffsetMicros", summaryNode(Summary.of(t.clockOffsetsMicros().stream()
                .map(v -> (double) Math.abs(v)).toList())));
        summary.set("phaseOverheadMs", summaryNode(Summary.of(t.phaseOverheadPooled())));
        if (!t.runStartLate().isEmpty()) {
            summary.set("runStartLatestLateMs", summaryNode(Summary.of(t.runStartLatest())));
        }
        summary.set("trialOverheadMs", summaryNode(Summary.of(t.trialOverhead())));
        summary.set("trialWallMs", summaryNode(Summary.of(t.trialWall())));
        ObjectNode byPhase = summary.putObject("byPhase");
        for (Phase p : Phase.values()) {
            ObjectNode n = byPhase.putObject(p.key());
            n.set("overheadMs", summaryNode(Summary.of(t.phaseOverhead().get(p))));
            n.set("longestStepMs", summaryNode(Summary.of(t.longestStep().get(p))));
            n.set("dispatchMs", summaryNode(Summary.of(t.dispatch().get(p))));
            n.set("toFirstStartMs", summaryNode(Summary.of(t.toFirstStart().get(p))));
            n.set("afterLastStepMs", summaryNode(Summary.of(t.afterLastStep().get(p))));
        }
        if (!o.idleFresh().isEmpty()) {
            summary.set("idleRssMbFresh", summaryNode(Outcome.rssMb(o.idleFresh())));
            summary.set("idleRssMbAfterTrials", summaryNode(Outcome.rssMb(o.idleAfterTrials())));
            summary.set("idleAnonMbAfterTrials", summaryNode(Summary.of(
                    o.idleAfterTrials().stream().map(m -> m.anonKb() / 1024.0).toList())));
            summary.set("playerCpuMsPerTrial", summaryNode(Summary.of(o.playerCpuMsPerTrial())));
            summary.set("idlePssMbAfterTrials", summaryNode(Summary.of(
                    o.idleAfterTrials().stream().map(m -> m.pssKb() / 1024.0).toList())));
        }

        ObjectNode raw = c.putObject("raw");
        samples(raw.putArray("startSpreadMs"), t.startSpread());
        samples(raw.putArray("startSpreadCorrectedMs"), t.startSpreadCorrected());
        ArrayNode offsets = raw.putArray("clockOffsetMicros");
        t.clockOffsetsMicros().forEach(offsets::add);
        ArrayNode rtts = raw.putArray("clockProbeRttMicros");
        t.clockRttsMicros().forEach(rtts::add);
        ArrayNode errors = raw.putArray("clockErrorBoundMicros");
        t.clockErrorsMicros().forEach(errors::add);
        samples(raw.putArray("trialOverheadMs"), t.trialOverhead());
        samples(raw.putArray("trialWallMs"), t.trialWall());
        perPhase(raw.putObject("phaseOverheadMs"), t.phaseOverhead());
        perPhase(raw.putObject("longestStepMs"), t.longestStep());
        perPhase(raw.putObject("dispatchMs"), t.dispatch());
        perPhase(raw.putObject("toFirstStartMs"), t.toFirstStart());
        perPhase(raw.putObject("afterLastStepMs"), t.afterLastStep());
        ArrayNode late = raw.putArray("runStartLateMsByWorker");
        t.runStartLate().forEach(trial -> samples(late.addArray(), trial));
        ArrayNode starts = raw.putArray("runStartAfterEarliestMsByWorker");
        t.runStarts().forEach(trial -> samples(starts.addArray(), trial));
        raw.set("idleMemoryFresh", JSON.valueToTree(o.idleFresh()));
        raw.set("idleMemoryAfterTrials", JSON.valueToTree(o.idleAfterTrials()));
        return c;
    }

    private static ObjectNode summaryNode(Summary s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("count", s.count());
        n.put("median", round(s.median()));
        n.put("p90", round(s.p90()));
        n.put("p99", round(s.p99()));
        n.put("max", round(s.max()));
        return n;
    }

    private static void perPhase(ObjectNode into, Map<Phase, List<Double>> values) {
        for (Phase p : Phase.values()) {
            samples(into.putArray(p.key()), values.get(p));
        }
    }

    private static void samples(ArrayNode into, List<Double> values) {
        values.forEach(v -> into.add(round(v)));
    }

    /** Microsecond resolution is all the clocks give. */
    private static double round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000) / 1000.0 : v;
    }
}
