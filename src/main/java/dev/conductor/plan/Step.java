package dev.conductor.plan;

import java.time.Duration;

/**
 * One thing a worker does in a phase. A closed family: each kind of step is a record.
 * Every step knows where it came from (its key in the worker file and its line) so that
 * errors and reports can point at it.
 */
public sealed interface Step permits Step.Command {

    /** The step's key in the worker file, e.g. {@code step1}, {@code spawn2}, {@code timeout10}. */
    String key();

    /** 1-based line of the step in its worker file; 0 when it was not read from a file. */
    int line();

    /** How a command step runs. */
    enum Mode {
        /** Runs in the foreground with the default limit (30 s, as the reference). */
        NORMAL,
        /** Started in the background; the phase goes on at once. */
        SPAWN,
        /** Runs in the foreground with an explicit limit. */
        TIMEOUT;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The reference's limit for a normal step. */
    Duration DEFAULT_LIMIT = Duration.ofSeconds(30);

    /**
     * A shell command run with {@code /bin/sh -c}.
     *
     * @param limit how long a foreground step may run; for a spawned step, the value sent to
     *              the player (the reference sends 30) but not enforced
     */
    record Command(String key, int line, String command, Mode mode, Duration limit) implements Step {
        public Command {
            if (command == null || key == null || mode == null || limit == null) {
                throw new NullPointerException("command step needs key, command, mode and limit");
            }
        }

        public boolean spawn() {
            return mode == Mode.SPAWN;
        }
    }
}
