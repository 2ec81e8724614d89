package dev.conductor.events;

import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.StepResult.Status;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Everything that happens in a run, with the conductor's time. Reports are views of a list of
 * these and never ask the conductor anything.
 */
public sealed interface Event {
    Instant at();

    record RunStarted(Instant at, String testFile, int trials, List<Phase> phases, List<WorkerInfo> workers)
            implements Event {
        public RunStarted {
            phases = List.copyOf(phases);
            workers = List.copyOf(workers);
        }
    }

    /** A worker as the run sees it: name and where its player is. */
    record WorkerInfo(String name, String player, int cmdport) {
    }

    record TrialStarted(Instant at, int trial) implements Event {
    }

    record PhaseStarted(Instant at, int trial, Phase phase, List<String> workers) implements Event {
        public PhaseStarted {
            workers = List.copyOf(workers);
        }
    }

    /** The phase was sent to the worker's player and {@code run} went out. */
    record WorkerStarted(Instant at, int trial, Phase phase, String worker) implements Event {
    }

    /**
     * One step's outcome.
     *
     * @param index     0-based position in the worker's phase
     * @param code      the result code the player sent
     * @param startedAt when the step started on the player's clock, when the player says
     * @param duration  how long it ran, when the player says
     */
    record StepFinished(Instant at, int trial, Phase phase, String worker, int index, String key, String command,
                        Step.Mode mode, Status status, int code, String message, Optional<Instant> startedAt,
                        Optional<Duration> duration, String stdout, String stderr) implements Event {
        public boolean failed() {
            return status == Status.FAILED || status == Status.TIMEOUT;
        }
    }

    /** The player said the phase is complete. */
    record WorkerFinished(Instant at, int trial, Phase phase, String worker) implements Event {
    }

    /**
     * A worker could not be reached, or stopped answering within the phase's deadline.
     *
     * @param reason what was expected of it and what happened, in words for the user
     */
    record WorkerLost(Instant at, int trial, Phase phase, String worker, String reason) implements Event {
    }

    record PhaseFinished(Instant at, int trial, Phase phase) implements Event {
    }

    record TrialFinished(Instant at, int trial) implements Event {
    }

    /** The last event. {@code interrupted}: the user stopped the run. */
    record RunFinished(Instant at, int exitCode, boolean interrupted) implements Event {
    }
}
