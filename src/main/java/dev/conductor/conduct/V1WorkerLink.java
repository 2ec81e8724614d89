package dev.conductor.conduct;

import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.StepResult.Status;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Protocol v1 towards one player (a reference Python player, or ours when asked for v1): a
 * connection per message, results on the worker's result port.
 */
final class V1WorkerLink implements WorkerLink {
    private final V1Link link;
    private final ResultPort results;
    private final String resultHost;

    V1WorkerLink(V1Link link, ResultPort results, String resultHost) {
        this.link = link;
        this.results = results;
        this.resultHost = resultHost;
    }

    @Override
    public String describe() {
        return link.describe();
    }

    @Override
    public int protocol() {
        return 1;
    }

    @Override
    public long offsetMicros() {
        return 0;
    }

    @Override
    public long rttMicros() {
        return -1;
    }

    @Override
    public long clockErrorMicros() {
        return -1;
    }

    @Override
    public boolean broken() {
        return false; // every v1 message opens a new connection
    }

    @Override
    public void send(int phaseId, PhaseOrder order) throws LinkException {
        for (PhaseOrder.StepSpec step : order.steps()) {
            if (!step.isCommand()) {
                throw new LinkException(describe() + " speaks only protocol v1, which cannot carry the step '"
                        + step.command() + "' (barriers, expect, send and the like need one of our players)");
            }
        }
        link.download(order.v1());
    }

    @Override
    public Starter arm(int phaseId) throws LinkException {
        V1Link.Armed armed = link.arm();
        // Late results of an earlier, timed-out phase are not this phase's.
        results.queue().clear();
        return new Starter() {
            @Override
            public void go(long startAtMicros) throws LinkException {
                armed.fire();
            }

            @Override
            public void close() {
                armed.close();
            }
        };
    }

    @Override
    public Collected collect(int phaseId, int trial, Phase phase, List<Step> steps, long deadlineNanos, Reporter reporter,
                             BarrierDesk desk) throws InterruptedException {
        boolean failed = false;
        boolean[] reported = new boolean[steps.size()];
        int next = 0;
        List<String> oddities = new ArrayList<>();
        while (true) {
            long left = deadlineNanos - System.nanoTime();
            ResultPort.Incoming in = left > 0 ? results.queue().poll(left, TimeUnit.NANOSECONDS) : null;
            if (in == null) {
                return new Collected(failed, missing(phase, steps, reported, oddities));
            }
            if (in instanceof ResultPort.Incoming.Garbage g) {
                oddities.add(g.what() + " from " + g.from());
                continue;
            }
            StepResult r = ((ResultPort.Incoming.Result) in).result();
            if (r.phaseDone()) {
                reporter.finished(trial, phase, java.util.Optional.empty());
                return new Collected(failed, null);
            }
            int index = r.details().map(StepResult.Details::index).orElse(next);
            if (index < 0 || index >= steps.size() || reported[index]) {
                oddities.add("an unexpected result for step " + (index + 1) + ": code " + r.code());
                continue;
            }
            reported[index] = true;
            next = index + 1;
            Step step = steps.get(index);
            r.details().ifPresent(d -> {
                // v1 carries only tails; they are what the transcripts can have.
                writeTail(reporter, trial, phase, index, "stdout", d.stdout());
                writeTail(reporter, trial, phase, index, "stderr", d.stderr());
            });
            failed |= reporter.stepFinished(trial, phase, index, step, r, statusOfReference(step, r), 0);
        }
    }

    private static void writeTail(Reporter reporter, int trial, Phase phase, int index, String stream, String text) {
        if (!text.isEmpty()) {
            reporter.output(trial, phase, index, stream, text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private String missing(Phase phase, List<Step> steps, boolean[] reported, List<String> oddities) {
        int got = 0;
        int firstMissing = -1;
        for (int i = 0; i < reported.length; i++) {
            if (reported[i]) {
                got++;
            } else if (firstMissing < 0) {
                firstMissing = i;
            }
        }
        StringBuilder b = new StringBuilder(link.describe()).append(" went silent: ");
        if (firstMissing >= 0) {
            Step s = steps.get(firstMissing);
            b.append("no result for step ").append(firstMissing + 1).append(" '").append(s.key()).append("' (")
                    .append(s.text()).append(") ");
        } else {
            b.append("no 'phases complete' ");
        }
        b.append("within the ").append(phase.key()).append(" phase's deadline; ").append(got).append(" of ")
                .append(steps.size()).append(" results arrived (results expected on ").append(resultHost).append(":")
                .append(results.port()).append(")");
        if (!oddities.isEmpty()) {
            b.append("; also received ").append(String.join("; ", oddities));
        }
        return b.toString();
    }

    /** A reference player sends only code and message; this is what they mean. */
    private static Status statusOfReference(Step step, StepResult r) {
        if (r.code() == 0) {
            return step.mode() == Step.Mode.SPAWN ? Status.SPAWNED : Status.OK;
        }
        return r.message().startsWith("Command timed out") ? Status.TIMEOUT : Status.FAILED;
    }

    @Override
    public void abort(String reason) {
        // v1 cannot stop a running phase; the phase ends on its own or at its deadline.
    }

    @Override
    public void close() {
        results.close();
    }
}
