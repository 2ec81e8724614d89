package dev.conductor.player;

import java.io.IOException;

/**
 * A step's process started ahead of its start, which waits for its instant itself: a
 * {@link StepStarter.Spare} or a {@link Launcher.Spare}.
 */
interface TimedSpare {
    /**
     * Tells it when to start: at {@code monotonicNanos} ({@link System#nanoTime()}'s clock), or
     * at once for 0 (or an instant passed). It waits for the instant itself, so this may come
     * ahead of it.
     */
    void arm(long monotonicNanos) throws IOException;

    /**
     * Waits until it says it woke for its start, and returns when, in nanoseconds of
     * {@link System#nanoTime()}'s clock.
     *
     * @throws IOException it ended before it started
     */
    long started() throws IOException;

    /** Never to be started: it exits without running anything. */
    void discard();

    /**
     * The line a spare says when it woke, read byte by byte (nothing after it is read, which is
     * the step's output): without its newline; null when {@code in} ended first.
     *
     * @throws IOException {@code tooLong} when the line is {@code max} characters without ending
     */
    static String saidLine(java.io.InputStream in, int max, String tooLong) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                return null;
            }
            if (b.length() >= max) {
                throw new IOException(tooLong);
            }
            b.append((char) c);
        }
        return b.toString();
    }
}
