package dev.conductor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.wire.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code bench io}: bulk data through a real player JVM and a real conductor JVM on 127.0.0.1,
 * each measured beside its reference in the same run (issues 3 and 4):
 *
 * <ul>
 * <li>{@code expect}: a spawned {@code cat} prints the file, an expect step waits for the marker
 * at its end; against {@code cat FILE | grep -m1 MARKER} on the same file;</li>
 * <li>{@code get}: the file fetched by a get step into the results folder; against raw loopback
 * TCP (a socket pair in this JVM copying as many bytes);</li>
 * <li>{@code stream}: a step printing the file, to the conductor's transcript; MB/s and the peak
 * RSS of both JVMs.</li>
 * </ul>
 * Medians over the repetitions; the cases and their references alternate, so that a neighbour's
 * load falls on both, and each starts after a {@code sync}, so that what the one before wrote
 * is not written in its window. A harness, not a test: it reports whether the bars are met, it does not fail.
 */
@Command(name = "io", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Bulk data through a player JVM and a conductor JVM on 127.0.0.1: expect at the end of much "
                + "output (against grep -m1), get of a large file (against raw loopback TCP), a step printing much "
                + "output (MB/s and peak RSS of both JVMs). Medians of side-by-side repetitions. See docs/PERFORMANCE.md."})
final class IoBench implements Callable<Integer> {
    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
    private static final int COPY_BUFFER = 256 * 1024;
    private static final long RSS_BAR = 256L * 1000 * 1000;

    @Option(names = "--size", paramLabel = "BYTES", defaultValue = "1g", converter = Size.class,
            description = "bytes of output and of the file; k, m, g suffixes are KiB, MiB, GiB (default: ${DEFAULT-VALUE})")
    long size;

    @Option(names = "--reps", paramLabel = "N", defaultValue = "3",
            description = "repetitions of each case and its reference (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--cases", paramLabel = "CASE", split = ",", defaultValue = "expect,get,stream",
            description = "which of expect, get, stream (default: ${DEFAULT-VALUE})")
    List<String> cases;

    @Option(names = "--java-opts", paramLabel = "OPTS",
            description = "flags of the conductor JVM (default: this JVM's own, which bin/bench starts "
                    + "with the launchers' flags, like bin/conduct)")
    String javaOpts;

    @CommandLine.Mixin
    PlayerJavaOpts playerJavaOpts;

    @Option(names = "--marker", paramLabel = "TEXT", defaultValue = "CONDUCTOR-IO-BENCH-MARKER-7f3a9c",
            description = "what the expect step and grep look for, printed once at the very end (default: ${DEFAULT-VALUE})")
    String marker;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "target/bench/io.json",
            description = "where every sample goes, as JSON (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--keep", description = "keep the generated files and the last run's results (the folder is printed)")
    boolean keep;

    /** One repetition's figures. */
    record Sample(String what, long bytes, double seconds, long playerPeak, long conductorPeak, Cpu cpu) {
        Sample(String what, long bytes, double seconds) {
            this(what, bytes, seconds, -1, -1, Cpu.NONE);
        }

        double mbPerSecond() {
            return bytes / seconds / 1e6;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (reps < 1 || size < 1) {
            System.err.println("bench io: --reps and --size must be at least 1");
            return 2;
        }
        for (String c : cases) {
            if (!List.of("expect", "get", "stream").contains(c)) {
                System.err.println("bench io: unknown case '" + c + "' (expect, get, stream)");
                return 2;
            }
        }
        List<String> opts = javaOpts != null ? split(javaOpts) : ManagementFactory.getRuntimeMXBean().getInputArguments();
        List<String> playerOpts = split(playerJavaOpts.value);
        PrintStream progress = System.err;
        Path dir = Files.createTempDirectory("conductor-io-bench-");
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        try {
            Path data = dir.resolve("data.txt");
            long t0 = System.nanoTime();
            writeData(data, size, marker);
            long bytes = Files.size(data);
            progress.printf(Locale.ROOT, "bench io: wrote %s (%d bytes) in %.1f s; conductor JVM flags '%s', player '%s'%n",
                    data, bytes, (System.nanoTime() - t0) / 1e9, String.join(" ", opts), String.join(" ", playerOpts));
            long s0 = System.nanoTime();
            String sha = sha256(data);
            double shaSeconds = (System.nanoTime() - s0) / 1e9;
            samples.computeIfAbsent("sha256 (read + digest, one core)", k -> new ArrayList<>())
                    .add(new Sample("sha256", bytes, shaSeconds));
            for (int rep = 1; rep <= reps; rep++) {
                for (String c : cases) {
                    progress.printf("bench io: repetition %d/%d, %s%n", rep, reps, c);
                    switch (c) {
                        case "expect" -> {
                            add(samples, "expect (ours)", conducted(dir, opts, playerOpts, "expect", bytes, sha));
                            add(samples, "cat | grep -m1", grep(dir, data, bytes));
                        }
                        case "get" -> {
                            add(samples, "get (ours)", conducted(dir, opts, playerOpts, "get", bytes, sha));
                            add(samples, "raw loopback TCP", rawTcp(bytes));
                        }
                        default -> add(samples, "stream (ours)", conducted(dir, opts, playerOpts, "stream", bytes, sha));
                    }
                }
            }
            report(System.out, samples, bytes, opts, playerOpts);
            writeJson(samples, bytes, opts, playerOpts);
            return 0;
        } catch (IOException | IllegalStateException e) {
            System.err.println("bench io: NOT MEASURED: " + e.getMessage());
            return 1;
        } finally {
            if (keep) {
                progress.println("bench io: kept " + dir);
            } else {
                BenchLab.deleteTree(dir);
            }
        }
    }

    private static void add(Map<String, List<Sample>> samples, String key, Sample s) {
        samples.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
        System.err.printf(Locale.ROOT, "  %-18s %8.1f MB/s  %6.2f s%s%n", key, s.mbPerSecond(), s.seconds(),
                s.playerPeak() > 0 ? String.format(Locale.ROOT, "  peak RSS player %.0f MB, conductor %.0f MB; %s",
                        s.playerPeak() / 1e6, s.conductorPeak() / 1e6, s.cpu().describe()) : "");
    }

    /** Text lines of random lower-case words (never the marker), then the marker on a line of its own. */
    static void writeData(Path file, long bytes, String marker) throws IOException {
        byte[] block = new byte[1 << 20];
        Random random = new Random(42);
        for (int i = 0; i < block.length; i++) {
            int r = random.nextInt(64);
            block[i] = (byte) (r < 5 ? ' ' : r == 5 ? '\n' : 'a' + r % 26);
        }
        byte[] end = ("\n" + marker + "\n").getBytes(StandardCharsets.UTF_8);
        long body = Math.max(0, bytes - end.length);
        try (OutputStream o = Files.newOutputStream(file)) {
            for (long left = body; left > 0; left -= block.length) {
                o.write(block, 0, (int) Math.min(block.length, left));
            }
            o.write(end);
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
        byte[] buf = new byte[COPY_BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** {@code cat FILE | grep -m1 MARKER}, the same pipe shape as a spawned cat read by the player. */
    private Sample grep(Path dir, Path data, long bytes) throws IOException, InterruptedException {
        settleDisk();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "cat \"$1\" | grep -m1 -- \"$2\"", "sh",
                data.toString(), marker).directory(dir.toFile()).redirectErrorStream(true);
        long t0 = System.nanoTime();
        Process p = pb.start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(deadline(bytes).toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("cat | grep did not end within " + deadline(bytes).toSeconds() + " s");
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (p.exitValue() != 0 || !said.strip().equals(marker)) {
            throw new IllegalStateException("cat | grep -m1 exited " + p.exitValue() + " saying: " + said.strip());
        }
        return new Sample("grep", bytes, seconds);
    }

    /** A socket pair on 127.0.0.1 in this JVM: one thread writes {@code bytes}, the other reads them. */
    private static Sample rawTcp(long bytes) throws IOException, InterruptedException {
        settleDisk();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName(BenchLab.LOOPBACK))) {
            long[] got = new long[1];
            IOException[] failed = new IOException[1];
            Thread reader = Thread.ofPlatform().name("raw-tcp-reader").start(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    byte[] buf = new byte[COPY_BUFFER];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        got[0] += n;
                    }
                } catch (IOException e) {
                    failed[0] = e;
                }
            });
            long t0 = System.nanoTime();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName(BenchLab.LOOPBACK), server.getLocalPort()), 5000);
                OutputStream o = s.getOutputStream();
                byte[] buf = new byte[COPY_BUFFER];
                for (long left = bytes; left > 0; left -= buf.length) {
                    o.write(buf, 0, (int) Math.min(buf.length, left));
                }
            }
            reader.join(deadline(bytes).toMillis());
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (reader.isAlive() || failed[0] != null || got[0] != bytes) {
                reader.interrupt();
                throw new IllegalStateException("raw TCP copy: " + got[0] + " of " + bytes + " bytes arrived"
                        + (failed[0] != null ? ": " + failed[0].getMessage() : ""));
            }
            return new Sample("raw-tcp", bytes, seconds);
        }
    }

    private static Duration deadline(long bytes) {
        return Duration.ofSeconds(120 + bytes / 2_000_000);
    }

    /** One run of {@code conduct} (its own JVM) against one player (its own JVM), the case's one Run phase. */
    private Sample conducted(Path dir, List<String> opts, List<String> playerOpts, String kind, long bytes, String sha) throws IOException, InterruptedException {
        String run = switch (kind) {
            case "expect" -> "spawn1 = cat data.txt\nstep2 = expect: spawn1 /" + marker + "/ 3600\nstep3 = wait: spawn1 60\n";
            case "get" -> "step1 = get: data.txt fetched.txt 3600\n";
            default -> "timeout3600 = cat data.txt\n";
        };
        Path worker = dir.resolve("io.cfg");
        Path test = dir.resolve("test.cfg");
        Files.writeString(test, "# Generated by bin/bench io.\n[Test]\ntrials = 1\n\n[Workers]\nio = io.cfg\n");
        writeWorker(worker, 1, run); // a placeholder: the player binds -p 0
        Path results = dir.resolve("results");
        BenchLab.deleteTree(results);
        settleDisk();
        Path logs = dir.resolve("logs");
        Files.createDirectories(logs);
        try (Jvm player = Jvm.start("player", playerOpts, dir, logs, "dev.conductor.cli.PlayerCommand",
                "-q", "-b", BenchLab.LOOPBACK, "-p", "0", worker.toString())) {
            int port = player.awaitListening(Duration.ofSeconds(60));
            writeWorker(worker, port, run);
            int code;
            long conductorPeak;
            long playerCpu0 = CpuTime.of(player.pid()).ownMillis();
            long machine0 = CpuTime.machineBusyMillis();
            long t0 = System.nanoTime();
            long conductorCpu;
            try (Jvm conductor = Jvm.start("conductor", opts, dir, logs, "dev.conductor.cli.ConductCommand",
                    "-q", "--results", results.toString(), test.toString())) {
                code = conductor.awaitExit(deadline(bytes));
                conductorPeak = conductor.peakBytes();
                conductorCpu = conductor.cpuMillis();
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            long playerCpu = CpuTime.of(player.pid()).ownMillis() - playerCpu0;
            long machine = CpuTime.machineBusyMillis() - machine0;
            long playerPeak = player.peakBytes();
            Path runDir;
            try (Stream<Path> runs = Files.list(results)) {
                runDir = runs.filter(Files::isDirectory).findFirst()
                        .orElseThrow(() -> new IllegalStateException("conduct wrote no run folder"));
            }
            if (code != 0) {
                throw new IllegalStateException(kind + ": conduct exited with " + code + ": "
                        + Files.readString(logs.resolve("conductor.stdout")) + Files.readString(logs.resolve("conductor.stderr")));
            }
            Timeline t = Timeline.read(runDir.resolve("events.jsonl"));
            double seconds;
            switch (kind) {
                case "expect" -> {
                    JsonNode spawn = t.finished(0);
                    JsonNode expect = t.finished(1);
                    if (!"ok".equals(expect.path("status").asText())) {
                        throw new IllegalStateException("expect: " + expect.path("message").asText());
                    }
                    Instant start = Instant.parse(spawn.path("started_at").asText());
                    Instant matched = Instant.parse(expect.path("started_at").asText())
                            .plusNanos(expect.path("duration_us").asLong() * 1000);
                    seconds = Duration.between(start, matched).toNanos() / 1e9;
                }
                case "get" -> {
                    JsonNode copied = t.fileCopied();
                    JsonNode entry = copied.path("entries").path(0);
                    if (!copied.path("error").asText("").isEmpty() || !sha.equals(entry.path("sha256").asText())
                            || entry.path("bytes").asLong() != bytes) {
                        throw new IllegalStateException("get: " + copied);
                    }
                    Path fetched = runDir.resolve("trial-1/io/fetched.txt");
                    if (Files.size(fetched) != bytes) {
                        throw new IllegalStateException("get: " + fetched + " has " + Files.size(fetched) + " bytes");
                    }
                    seconds = Duration.between(t.startedReceived(0), Instant.parse(copied.path("time").asText())).toNanos() / 1e9;
                }
                default -> {
                    if (t.outputBytes() != bytes || Files.size(runDir.resolve("trial-1/io.out")) != bytes) {
                        throw new IllegalStateException("stream: " + t.outputBytes() + " bytes of output events, "
                                + Files.size(runDir.resolve("trial-1/io.out")) + " in the transcript, of " + bytes);
                    }
                    seconds = Duration.between(t.startedReceived(0), t.lastOutput()).toNanos() / 1e9;
                }
            }
            if (!keep) {
                BenchLab.deleteTree(results);
            }
            return new Sample(kind, bytes, seconds, playerPeak, conductorPeak,
                    new Cpu(playerCpu, conductorCpu, machine, wall));
        }
    }

    /**
     * Has the system write out what earlier runs left in the page cache (their transcripts and
     * files, already deleted or not), so that the disk's work for one run does not fall in the
     * next one's window: a run of expect right after one of stream gave 1.30 to 1.58 times grep's
     * speed, and 1.64 to 1.78 after a sync (PERFORMANCE.md).
     */
    private static void settleDisk() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sync").redirectErrorStream(true).start();
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            System.err.println("bench io: 'sync' did not end within 60 s; measuring anyway");
        } else if (p.exitValue() != 0) {
            System.err.println("bench io: 'sync' failed (exit " + p.exitValue() + "): "
                    + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip() + "; measuring anyway");
        }
    }

    private static void writeWorker(Path file, int port, String run) throws IOException {
        Files.writeString(file, "# Generated by bin/bench io.\n[Coordinator]\nplayer = " + BenchLab.LOOPBACK
                + "\nconductor = " + BenchLab.LOOPBACK + "\ncmdport = " + port + "\nresultsport = "
                + BenchLab.freePorts(1).getFirst() + "\n\n[Run]\n" + run);
    }

    /**
     * CPU time over one conduct run, in ms: the player's (its steps' not included), the conductor
     * JVM's (its start-up included), and the whole machine's, against the run's wall time; what
     * the machine did beyond ours is the load other people put on it meanwhile.
     */
    record Cpu(long playerMillis, long conductorMillis, long machineMillis, double wallSeconds) {
        static final Cpu NONE = new Cpu(-1, -1, -1, 0);

        /** CPUs busy with other work than the two JVMs (and the step's own process) on average over the run. */
        double otherCpus() {
            return (machineMillis - playerMillis - conductorMillis) / 1e3 / wallSeconds;
        }

        String describe() {
            return String.format(Locale.ROOT, "CPU player %.2f s, conductor %.2f s, whole machine %.1f s of %.1f s wall "
                    + "x %d CPUs", playerMillis / 1e3, conductorMillis / 1e3, machineMillis / 1e3, wallSeconds,
                    Runtime.getRuntime().availableProcessors());
        }
    }

    /** What the event log says about the run's one worker. */
    private record Timeline(List<JsonNode> events) {
        static Timeline read(Path file) throws IOException {
            List<JsonNode> events = new ArrayList<>();
            try (BufferedReader r = Files.newBufferedReader(file)) {
                String line;
                while ((line = r.readLine()) != null) {
                    events.add(Json.MAPPER.readTree(line));
                }
            }
            return new Timeline(events);
        }

        private JsonNode first(String type, int index) {
            return events.stream().filter(e -> e.path("type").asText().equals(type)
                            && (index < 0 || e.path("index").asInt() == index) && e.path("phase").asText().equals("run"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no " + type + " event for step " + index));
        }

        JsonNode finished(int index) {
            return first("step_finished", index);
        }

        JsonNode fileCopied() {
            return first("file_copied", -1);
        }

        /** When the conductor heard that the step started (its own clock). */
        Instant startedReceived(int index) {
            return Instant.parse(first("step_started", index).path("time").asText());
        }

        long outputBytes() {
            return events.stream().filter(e -> e.path("type").asText().equals("output")).mapToLong(e -> e.path("length").asLong()).sum();
        }

        Instant lastOutput() {
            return events.stream().filter(e -> e.path("type").asText().equals("output"))
                    .map(e -> Instant.parse(e.path("time").asText())).max(Comparator.naturalOrder())
                    .orElseThrow(() -> new IllegalStateException("no output events"));
        }
    }

    /** A JVM of ours, as the launchers start it, in {@code dir}; its peak RSS watched; killed on close. */
    private static final class Jvm implements AutoCloseable {
        private final Process process;
        private final Path stderr;
        private final Thread watcher;
        private volatile long peakKb = -1;
        private volatile long cpuMillis = -1;

        private Jvm(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            this.watcher = Thread.ofPlatform().daemon().name("rss-" + process.pid()).start(this::watch);
        }

        static Jvm start(String name, List<String> opts, Path dir, Path logs, String mainClass, String... args) throws IOException {
            List<String> argv = new ArrayList<>();
            argv.add(ProcessHandle.current().info().command().orElse("java"));
            argv.addAll(opts);
            argv.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
            argv.addAll(Arrays.asList(args));
            Path err = logs.resolve(name + ".stderr");
            Process p = new ProcessBuilder(argv).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(logs.resolve(name + ".stdout").toFile()).redirectError(err.toFile()).start();
            return new Jvm(p, err);
        }

        /** Every 100 ms: VmHWM, the kernel's own high-water mark, so a peak between two reads is not missed. */
        private void watch() {
            while (process.isAlive()) {
                try {
                    readPeak();
                    cpuMillis = CpuTime.of(process.pid()).ownMillis();
                    Thread.sleep(100);
                } catch (IOException | NumberFormatException e) {
                    return; // the process is gone
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        long pid() {
            return process.pid();
        }

        /** Its CPU time at the last read: within 100 ms of the end for one that exited. */
        long cpuMillis() {
            return cpuMillis;
        }

        private void readPeak() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmHWM:")) {
                    peakKb = Math.max(peakKb, Long.parseLong(line.replaceAll("\\D", "")));
                }
            }
        }

        int awaitListening(Duration limit) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = LISTENING.matcher(Files.readString(stderr));
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
                if (!process.isAlive()) {
                    throw new IOException("the player exited with " + process.exitValue() + ": " + Files.readString(stderr));
                }
                Thread.sleep(20);
            }
            throw new IOException("the player did not say it was listening within " + limit.toSeconds() + " s: "
                    + Files.readString(stderr));
        }

        int awaitExit(Duration limit) throws IOException, InterruptedException {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException("conduct did not end within " + limit.toSeconds() + " s: " + Files.readString(stderr));
            }
            watcher.join(1000);
            return process.exitValue();
        }

        /** The highest VmHWM read; exact for a live process, within 100 ms of the end for one that exited. */
        long peakBytes() throws InterruptedException {
            if (process.isAlive()) {
                watcher.interrupt();
                watcher.join(1000);
                try {
                    readPeak();
                } catch (IOException ignored) {
                    // It ended meanwhile: the last read stands.
                }
            }
            return peakKb * 1024;
        }

        @Override
        public void close() {
            process.destroy();
            LocalPlayer.Jvm.reap(process, 15_000);
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = xs.stream().sorted().toList();
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static double medianMbs(List<Sample> s) {
        return median(s.stream().map(Sample::mbPerSecond).toList());
    }

    private void report(PrintStream o, Map<String, List<Sample>> samples, long bytes, List<String> opts,
                        List<String> playerOpts) {
        o.println();
        o.printf(Locale.ROOT, "bench io: %d bytes (%.1f MB) per run, %d repetition(s), medians; conductor JVM flags "
                + "'%s', player '%s'%n", bytes, bytes / 1e6, reps, String.join(" ", opts), String.join(" ", playerOpts));
        o.printf(Locale.ROOT, "%-34s %10s %10s  %-28s %s%n", "what", "MB/s", "seconds", "samples (MB/s)",
                "other CPUs busy, CPU s player/conductor (medians)");
        samples.forEach((k, v) -> o.printf(Locale.ROOT, "%-34s %10.1f %10.2f  %-28s %s%n", k, medianMbs(v),
                median(v.stream().map(Sample::seconds).toList()),
                v.stream().map(s -> String.format(Locale.ROOT, "%.0f", s.mbPerSecond())).toList(),
                v.getFirst().cpu() == Cpu.NONE ? "" : String.format(Locale.ROOT, "%.2f, %.2f / %.2f",
                        median(v.stream().map(s -> s.cpu().otherCpus()).toList()),
                        median(v.stream().map(s -> s.cpu().playerMillis() / 1e3).toList()),
                        median(v.stream().map(s -> s.cpu().conductorMillis() / 1e3).toList()))));
        o.println();
        bar(o, samples, "expect (ours)", "cat | grep -m1", "expect at the end of the output vs grep -m1");
        bar(o, samples, "get (ours)", "raw loopback TCP", "get vs raw loopback TCP");
        List<Sample> stream = samples.get("stream (ours)");
        if (stream != null) {
            long player = stream.stream().mapToLong(Sample::playerPeak).max().orElse(-1);
            long conductor = stream.stream().mapToLong(Sample::conductorPeak).max().orElse(-1);
            o.printf(Locale.ROOT, "%-48s %.1f MB/s; highest peak RSS player %.0f MB, conductor %.0f MB (bar < 256 MB): %s%n",
                    "stream to the transcript", medianMbs(stream), player / 1e6, conductor / 1e6,
                    player < RSS_BAR && conductor < RSS_BAR ? "MET" : "NOT MET");
        }
        long player = samples.values().stream().flatMap(List::stream).mapToLong(Sample::playerPeak).max().orElse(-1);
        long conductor = samples.values().stream().flatMap(List::stream).mapToLong(Sample::conductorPeak).max().orElse(-1);
        o.printf(Locale.ROOT, "highest peak RSS in any case: player %.0f MB, conductor %.0f MB%n", player / 1e6, conductor / 1e6);
    }

    private static void bar(PrintStream o, Map<String, List<Sample>> samples, String ours, String reference, String title) {
        if (!samples.containsKey(ours)) {
            return;
        }
        double a = medianMbs(samples.get(ours));
        double b = medianMbs(samples.get(reference));
        o.printf(Locale.ROOT, "%-48s %.1f / %.1f MB/s = %.2f (bar >= 0.50): %s%n", title, a, b, a / b,
                a / b >= 0.5 ? "MET" : "NOT MET");
    }

    private void writeJson(Map<String, List<Sample>> samples, long bytes, List<String> opts, List<String> playerOpts)
            throws IOException {
        ObjectNode root = Json.object();
        root.put("bytes", bytes);
        root.put("repetitions", reps);
        root.put("java_opts", String.join(" ", opts));
        root.put("player_java_opts", String.join(" ", playerOpts));
        root.put("machine", Machine.here().describe());
        ObjectNode all = root.putObject("samples");
        samples.forEach((k, v) -> {
            ArrayNode a = all.putArray(k);
            v.forEach(s -> a.addObject().put("seconds", s.seconds()).put("mb_per_s", s.mbPerSecond())
                    .put("player_peak_rss", s.playerPeak()).put("conductor_peak_rss", s.conductorPeak())
                    .put("player_cpu_ms", s.cpu().playerMillis()).put("conductor_cpu_ms", s.cpu().conductorMillis())
                    .put("machine_busy_ms", s.cpu().machineMillis()).put("run_wall_s", s.cpu().wallSeconds()));
        });
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        System.out.println("every sample: " + out.toAbsolutePath());
    }

    private static List<String> split(String opts) {
        String s = opts.strip();
        return s.isEmpty() ? List.of() : Arrays.asList(s.split("\\s+"));
    }

    /** {@code 1073741824}, {@code 1g}, {@code 256m}, {@code 64k}. */
    static final class Size implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            long unit = switch (v.isEmpty() ? ' ' : v.charAt(v.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                default -> 1;
            };
            try {
                return Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a size such as 1g, 256m or 1073741824");
            }
        }
    }
}
