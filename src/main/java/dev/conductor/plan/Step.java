package dev.conductor.plan;

import java.time.Duration;
import java.util.Locale;

/**
 * One thing a worker does in a phase. A closed family: each kind of step is a record. Every
 * step knows where it came from (its key in the worker file and its line) so that errors and
 * reports can point at it, and what the user wrote ({@link #text()}) so reports can show it.
 */
public sealed interface Step permits Step.Command, Step.Sleep, Step.Barrier, Step.Expect, Step.Send, Step.Close,
        Step.Signal, Step.Terminate, Step.Wait, Step.Put, Step.Get {

    /** The step's key in the worker file, e.g. {@code step1}, {@code spawn2}, {@code timeout10}. */
    String key();

    /** 1-based line of the step in its worker file; 0 when it was not read from a file. */
    int line();

    /** How the step runs: for commands normal, spawn or timeout; every other kind is its own. */
    Mode mode();

    /** The longest the step may take in the foreground; it counts towards the phase's deadline. */
    Duration limit();

    /** The step as the user wrote it, after prefixes of commands were stripped. */
    String text();

    /** How a step runs. */
    enum Mode {
        /** A command in the foreground with the default limit (30 s, as the reference). */
        NORMAL,
        /** A command started in the background; the phase goes on at once. */
        SPAWN,
        /** A command in the foreground with an explicit limit. */
        TIMEOUT,
        SLEEP, BARRIER, EXPECT, SEND, CLOSE, SIGNAL, TERMINATE, WAIT, PUT, GET,
        /** A scenario's check (ok, check, require, skip, todo): decided by the conductor, no player involved. */
        CHECK,
        /** A scenario's own code, run by the conductor; its result is whether it returned true. */
        CODE;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** True for the three modes of shell commands, the only steps protocol v1 can carry. */
        public boolean isCommand() {
            return this == NORMAL || this == SPAWN || this == TIMEOUT;
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
            if (!mode.isCommand()) {
                throw new IllegalArgumentException("a command's mode is normal, spawn or timeout, not " + mode.key());
            }
        }

        public boolean spawn() {
            return mode == Mode.SPAWN;
        }

        @Override
        public String text() {
            return command;
        }
    }

    /** Waits for {@code duration}. */
    record Sleep(String key, int line, Duration duration) implements Step {
        public Mode mode() {
            return Mode.SLEEP;
        }

        public Duration limit() {
            return duration;
        }

        public String text() {
            return "sleep: " + seconds(duration);
        }
    }

    /**
     * Waits until every worker whose same phase has a barrier of this name has arrived at it.
     */
    record Barrier(String key, int line, String name, Duration limit) implements Step {
        public Mode mode() {
            return Mode.BARRIER;
        }

        public String text() {
            return "barrier: " + name + " " + seconds(limit);
        }
    }

    /**
     * Waits until {@code regex} matches the output of the spawned step {@code target} (its
     * key; {@code -} for the latest spawned), reading on from where the last expect on that
     * step matched.
     */
    record Expect(String key, int line, String target, String regex, Duration limit) implements Step {
        public Mode mode() {
            return Mode.EXPECT;
        }

        public String text() {
            return "expect: " + target + " /" + regex + "/ " + seconds(limit);
        }
    }

    /**
     * Writes {@code data} to the spawned step's stdin: the bytes to send, one char per byte
     * (escapes decoded, other text in UTF-8); {@code written} is the text as in the file.
     */
    record Send(String key, int line, String target, String data, String written) implements Step {
        public Mode mode() {
            return Mode.SEND;
        }

        public Duration limit() {
            return Duration.ofSeconds(5);
        }

        /** As written in the file, escapes and all. */
        public String text() {
            return "send: " + target + " " + written;
        }
    }

    /** Closes the spawned step's stdin (end of file for it). */
    record Close(String key, int line, String target) implements Step {
        public Mode mode() {
            return Mode.CLOSE;
        }

        public Duration limit() {
            return Duration.ofSeconds(5);
        }

        public String text() {
            return "close: " + target;
        }
    }

    /** Sends {@code signal} (a name such as TERM, or a number) to the spawned step's process group. */
    record Signal(String key, int line, String target, String signal) implements Step {
        public Mode mode() {
            return Mode.SIGNAL;
        }

        public Duration limit() {
            return Duration.ofSeconds(5);
        }

        public String text() {
            return "signal: " + target + " " + signal;
        }
    }

    /** TERM to the spawned step's process group, then KILL after {@code grace}; waits for the exit. */
    record Terminate(String key, int line, String target, Duration grace) implements Step {
        public Mode mode() {
            return Mode.TERMINATE;
        }

        public Duration limit() {
            return grace.plusSeconds(5);
        }

        public String text() {
            return "terminate: " + target + " " + seconds(grace);
        }
    }

    /** Waits for the spawned step to exit; its exit code is this step's result. */
    record Wait(String key, int line, String target, Duration limit) implements Step {
        public Mode mode() {
            return Mode.WAIT;
        }

        public String text() {
            return "wait: " + target + " " + seconds(limit);
        }
    }

    /**
     * Copies {@code local} (a file or folder, relative to the test file's folder) to
     * {@code remote} (relative to the player's files folder).
     */
    record Put(String key, int line, String local, String remote, Duration limit) implements Step {
        public Mode mode() {
            return Mode.PUT;
        }

        public String text() {
            return "put: " + local + " " + remote;
        }
    }

    /**
     * Copies {@code remote} (a file or folder, relative to the player's files folder) into the
     * run's folder as {@code trial-N/<worker>/<name>}.
     */
    record Get(String key, int line, String remote, String name, Duration limit) implements Step {
        public Mode mode() {
            return Mode.GET;
        }

        public String text() {
            return "get: " + remote + " " + name;
        }
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.valueOf(ms / 1000.0);
    }
}
