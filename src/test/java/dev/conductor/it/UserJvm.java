package dev.conductor.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One of our main classes in a JVM of its own, started as {@code bin/lib/launch.sh} starts it:
 * {@code java $CONDUCTOR_JAVA_OPTS -cp ... Main args}, without the small heap and the other
 * flags {@link Jvm} gives test JVMs, so that what it costs is what a user's costs. Its stdout
 * and stderr go to files, so nothing needs draining however much it prints; killed on close.
 */
final class UserJvm implements AutoCloseable {
    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private UserJvm(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * @param javaOpts JVM flags as {@code CONDUCTOR_JAVA_OPTS} would give them, split on blanks; empty for none
     * @param logs     folder for {@code <name>.stdout} and {@code <name>.stderr}
     */
    static UserJvm start(String name, String javaOpts, Path logs, String mainClass, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> argv = new ArrayList<>(List.of(java));
        for (String opt : javaOpts.trim().split("\\s+")) {
            if (!opt.isEmpty()) {
                argv.add(opt);
            }
        }
        argv.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        argv.addAll(List.of(args));
        Files.createDirectories(logs);
        Path out = logs.resolve(name + ".stdout");
        Path err = logs.resolve(name + ".stderr");
        Process p = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new UserJvm(p, out, err);
    }

    /** Waits until its stderr contains {@code text} (e.g. a player's "listening on"). */
    UserJvm awaitStderr(String text, Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!stderr().contains(text)) {
            if (!process.isAlive()) {
                throw new IOException(describe() + " exited with " + process.exitValue() + " before printing '" + text
                        + "': " + stderr());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(describe() + " did not print '" + text + "' within " + limit.toSeconds() + " s: "
                        + stderr());
            }
            Thread.sleep(50);
        }
        return this;
    }

    /** Waits for it to exit by itself; kills it and fails when it takes longer than {@code limit}. */
    int awaitExit(Duration limit) throws IOException, InterruptedException {
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(describe() + " did not exit within " + limit.toSeconds() + " s; stderr: " + stderr());
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    String stdout() throws IOException {
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    String stderr() throws IOException {
        return Files.readString(stderr, StandardCharsets.UTF_8);
    }

    private String describe() {
        return process.info().commandLine().map(c -> c.length() > 200 ? "..." + c.substring(c.length() - 200) : c)
                .orElse("pid " + process.pid());
    }

    /** SIGTERM, as a user's Ctrl-C would send, then KILL if it does not stop within 15 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
