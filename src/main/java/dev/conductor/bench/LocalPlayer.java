package dev.conductor.bench;

import dev.conductor.player.Player;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One player of the benchmark: a JVM of its own (as in real use) or a thread of ours (for comparison). */
sealed interface LocalPlayer extends AutoCloseable permits LocalPlayer.Jvm, LocalPlayer.InProcess {
    String name();

    /** Completes with the command port once the player listens; fails if it ends before. */
    CompletableFuture<Integer> ready();

    /** The player's own process, when it has one. */
    OptionalLong pid();

    /** Why it is not ready, for a message: its last words. */
    String lastWords();

    @Override
    void close();

    /**
     * {@code java [opts] -cp <ours> dev.conductor.cli.PlayerCommand -q -b 127.0.0.1 -p 0 FILE},
     * exactly what {@code bin/player} runs. Its stderr is read to the end on a thread of its own,
     * so a chatty player never blocks on a full pipe.
     */
    final class Jvm implements LocalPlayer {
        private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
        private static final int KEPT_LINES = 20;

        private final String name;
        private final Process process;
        private final CompletableFuture<Integer> ready = new CompletableFuture<>();
        private final Deque<String> stderr = new ArrayDeque<>();

        private Jvm(String name, Process process) {
            this.name = name;
            this.process = process;
        }

        static Jvm start(String name, Path workerFile, List<String> javaOpts) throws IOException {
            List<String> argv = new ArrayList<>();
            argv.add(ProcessHandle.current().info().command().orElse("java"));
            argv.addAll(javaOpts);
            argv.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.conductor.cli.PlayerCommand",
                    "-q", "-b", BenchLab.LOOPBACK, "-p", "0", workerFile.toString()));
            Process p = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            Jvm player = new Jvm(name, p);
            Thread.ofPlatform().daemon().name("bench-stderr-" + name).stackSize(256 * 1024).start(player::readStderr);
            return player;
        }

        private void readStderr() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (stderr) {
                        stderr.addLast(line);
                        if (stderr.size() > KEPT_LINES) {
                            stderr.removeFirst();
                        }
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (!ready.isDone() && m.find()) {
                        ready.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // The pipe closed: the player has ended, which the line below reports.
            }
            ready.completeExceptionally(new IOException("player " + name + " ended before listening"));
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public CompletableFuture<Integer> ready() {
            return ready;
        }

        @Override
        public OptionalLong pid() {
            return OptionalLong.of(process.pid());
        }

        @Override
        public String lastWords() {
            synchronized (stderr) {
                String exit = process.isAlive() ? "still running" : "exited with code " + process.exitValue();
                return exit + (stderr.isEmpty() ? ", said nothing" : ", last said: " + String.join(" | ", stderr));
            }
        }

        /** Asks it to stop (SIGTERM, as a user would); use {@link #reap()} to wait for it. */
        void terminate() {
            process.destroy();
        }

        /** Waits for the process to end, killing it if it takes longer than {@code millis}. */
        void reap(long millis) {
            reap(process, millis);
        }

        /** Waits for {@code process} to end, killing it if it takes longer than {@code millis}. */
        static void reap(Process process, long millis) {
            try {
                if (!process.waitFor(millis, TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            terminate();
            reap(10_000);
        }
    }

    /** The player as threads inside the benchmark's own JVM: no JVM start-up, no cross-process wake-ups. */
    final class InProcess implements LocalPlayer {
        private final String name;
        private final Player player;
        private final CompletableFuture<Integer> ready;

        private InProcess(String name, Player player) {
            this.name = name;
            this.player = player;
            this.ready = CompletableFuture.completedFuture(player.address().getPort());
        }

        static InProcess start(String name) throws IOException {
            return new InProcess(name, Player.start(Player.Options.of(
                    new InetSocketAddress(InetAddress.getByName(BenchLab.LOOPBACK), 0), name)));
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public CompletableFuture<Integer> ready() {
            return ready;
        }

        @Override
        public OptionalLong pid() {
            return OptionalLong.empty();
        }

        @Override
        public String lastWords() {
            return "in-process";
        }

        @Override
        public void close() {
            player.close();
        }
    }
}
