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

    /**
     * A link to a worker's player is up.
     *
     * @param protocol     1 or 2
     * @param offsetMicros player clock minus conductor clock (v2; 0 for v1, not measured)
     * @param rttMicros    best round trip of the clock probes (v2; -1 for v1)
     */
    record LinkOpened(Instant at, String worker, String address, int protocol, String playerVersion,
                      long offsetMicros, long rttMicros) implements Event {
    }

    /**
     * Every player was told to start the phase at {@code startAt} (conductor clock).
     */
    record PhaseReleased(Instant at, int trial, Phase phase, Instant startAt) implements Event {
    }

    /** A step began, at {@code startedAt} on the conductor's clock (the player's, corrected by its offset). */
    record StepStarted(Instant at, int trial, Phase phase, String worker, int index, Instant startedAt) implements Event {
    }

    /**
     * A chunk of a step's output, stored at {@code offset} in {@code file} (relative to the run
     * folder). {@code data} is handed to live listeners and dropped from the kept log.
     */
    record Output(Instant at, int trial, Phase phase, String worker, int index, String stream, String file,
                  long offset, int length, byte[] data) implements Event {
        public Output withoutData() {
            return new Output(at, trial, phase, worker, index, stream, file, offset, length, null);
        }
    }

    /** A spawned step's process ended with {@code code}. */
    record SpawnExited(Instant at, int trial, Phase phase, String worker, int index, int code) implements Event {
    }

    /**
     * The phase was sent to the worker's player and {@code run} went out.
     *
     * @param offsetMicros      the clock offset (player minus conductor) the start instant was converted
     *                          with, and this phase's step times are corrected by (v2; 0 for v1)
     * @param clockErrorMicros  how far that offset may be from the truth (v2; -1 for v1)
     */
    record WorkerStarted(Instant at, int trial, Phase phase, String worker, long offsetMicros, long clockErrorMicros)
            implements Event {
        public WorkerStarted(Instant at, int trial, Phase phase, String worker) {
            this(at, trial, phase, worker, 0, -1);
        }
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
            return status == Status.FAILED || status == Status.TIMEOUT || status == Status.KILLED;
        }
    }

    /** A worker reached barrier {@code name} and waits there. */
    record BarrierArrived(Instant at, int trial, Phase phase, String worker, String name) implements Event {
    }

    /**
     * The conductor released barrier {@code name}: {@code ok} when everyone came; otherwise
     * {@code missing} names who never did and {@code reason} says why it gave up.
     */
    record BarrierReleased(Instant at, int trial, Phase phase, String name, boolean ok, List<String> arrived,
                           List<String> missing, String reason) implements Event {
        public BarrierReleased {
            arrived = List.copyOf(arrived);
            missing = List.copyOf(missing);
        }
    }

    /**
     * A {@code put} (conductor to player) or {@code get} (player to conductor) went across.
     *
     * @param from    where it was read: for put a path on the conductor, for get one on the player
     * @param to      where it was written: for get a path relative to the run folder
     * @param entries every file with its size, its SHA-256 (computed on the conductor's side) and
     *                its CRC32C (computed on both sides and compared)
     * @param error   why it failed, or empty
     */
    record FileCopied(Instant at, int trial, Phase phase, String worker, int index, String direction, String from,
                      String to, List<dev.conductor.wire.FileTransfer.Entry> entries, String error) implements Event {
        public FileCopied {
            entries = List.copyOf(entries);
        }
    }

    /**
     * The player said the phase is complete.
     *
     * @param startLate how late the player started the phase's first step after the instant it was
     *                  given, on its own clock (v2 players that say; empty otherwise)
     */
    record WorkerFinished(Instant at, int trial, Phase phase, String worker, Optional<Duration> startLate)
            implements Event {
        public WorkerFinished(Instant at, int trial, Phase phase, String worker) {
            this(at, trial, phase, worker, Optional.empty());
        }
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
