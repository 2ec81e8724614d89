package dev.conductor.plan;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Everything a run needs, read and checked from a test file and its worker files.
 *
 * @param testFile       the test file as given
 * @param trials         how many times the phases are run, at least 1
 * @param format         report format named in {@code [Test] format}, if any (the CLI wins)
 * @param output         report file named in {@code [Test] output}, resolved against the test
 *                       file's folder, if any (the CLI wins)
 * @param maxMessageSize frame size limit in bytes from {@code [Test] max_message_size}, if any
 * @param onFailure      what a worker does after a failed step
 * @param workers        in the order of {@code [Workers]}
 */
public record TestPlan(Path testFile, int trials, Optional<String> format, Optional<Path> output,
                       Optional<Long> maxMessageSize, OnFailure onFailure, List<Worker> workers) {
    public TestPlan {
        workers = List.copyOf(workers);
    }
}
