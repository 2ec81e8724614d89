package dev.conductor.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A real player in its own JVM, started from the test's class path and reaped on close. */
final class PlayerProcess implements AutoCloseable {
    private final Process process;
    private final List<String> stderr = new ArrayList<>();

    private PlayerProcess(Process process) {
        this.process = process;
    }

    static PlayerProcess start(Path workerFile, String... extraArgs) throws IOException {
        List<String> argv = new ArrayList<>(Jvm.command("dev.conductor.cli.PlayerCommand"));
        argv.addAll(List.of(extraArgs));
        argv.add(workerFile.toString());
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        PlayerProcess player = new PlayerProcess(p);
        CompletableFuture<Boolean> ready = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (player.stderr) {
                        player.stderr.add(line);
                    }
                    if (line.contains("listening on")) {
                        ready.complete(true);
                    }
                }
            } catch (IOException ignored) {
                // The process ended; 'ready' says whether it got that far.
            }
            ready.complete(false);
        });
        try {
            if (!ready.get(30, TimeUnit.SECONDS)) {
                player.close();
                throw new IOException("player for " + workerFile + " exited before listening: " + player.stderr());
            }
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            player.close();
            throw new IOException("player for " + workerFile + " did not say 'listening on' within 30 s: " + player.stderr(), e);
        }
        return player;
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    String stderr() {
        synchronized (stderr) {
            return String.join("\n", stderr);
        }
    }

    /** SIGTERM, as a user's Ctrl-C or init would send, then KILL if it does not stop. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    static Duration startTimeout() {
        return Duration.ofSeconds(30);
    }
}
