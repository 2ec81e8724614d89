package dev.conductor.scenario;

import dev.conductor.events.Event;
import dev.conductor.wire.StepResult.Status;

import java.time.Duration;

/**
 * How one step of a tester ended, as the event log has it.
 *
 * @param key      the step's key in the log, e.g. {@code run3} or a spawned step's name
 * @param status   ok, failed, timeout, killed, spawned, skipped or todo
 * @param code     the exit code (commands, {@code waitFor}), or 0 for passed and 1 for not
 * @param message  what the player (or the conductor) said about it
 * @param stdout   the end of what it printed on stdout (an expect: the text that matched)
 * @param stderr   the end of what it printed on stderr
 * @param duration how long it took
 */
public record Outcome(String key, Status status, int code, String message, String stdout, String stderr,
                      Duration duration) {

    static Outcome of(Event.StepFinished e) {
        return new Outcome(e.key(), e.status(), e.code(), e.message(), e.stdout(), e.stderr(),
                e.duration().orElse(Duration.ZERO));
    }

    /** True unless the step failed, timed out or was killed (skipped, spawned and to-do steps are not failures). */
    public boolean ok() {
        return !failed();
    }

    /** Failed, timed out or killed: what stops a tester unless the scenario says to continue. */
    public boolean failed() {
        return status == Status.FAILED || status == Status.TIMEOUT || status == Status.KILLED;
    }
}
