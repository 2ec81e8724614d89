package dev.conductor.scenario;

/**
 * What one tester does: its steps in order, and any code between them. Runs on a thread of its
 * own, beside the other testers' scripts.
 */
@FunctionalInterface
public interface Script {
    /**
     * Plays the tester's part. Every call on {@code tester} is a reported step. An exception
     * that escapes is reported as a failed step of this tester, which then stops; testers
     * waiting for it at a barrier are told at once.
     */
    void play(Tester tester) throws Exception;
}
