package dev.conductor.player;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The player's launcher: one small perl process (the script is {@code launcher.pl} beside this
 * class) that forks step processes for the JVM, and signals process groups for it.
 *
 * <p>Why: a JVM starts a process through its spawn helper, and a step's shell must lead a
 * process group of its own, which takes {@code setsid} as well. That is three program loads per
 * step, each a millisecond or more of CPU on a virtual machine, and a {@code ProcessBuilder}
 * start that costs the starting thread a few hundred microseconds more: on a machine that many
 * players share, both made the starts of a phase late, one player after another
 * (docs/PERFORMANCE.md). Where steps start through it ({@code --step-launcher perl}), the
 * launcher keeps {@link #SPARES} children forked ahead ("spares"): each already leads its own
 * session and group and has its stdin, stdout and stderr connected to FIFOs whose other ends
 * this JVM holds. A step takes a spare and writes it what to run and when; the spare waits for
 * that instant itself, says when it woke, and becomes the step's shell: one program load, and
 * no thread of this JVM that has to be on time.
 *
 * <p>Group signals and "which groups still have a member" go to the launcher too: each was a
 * {@code /bin/kill} started, or a read of every process's {@code /proc} stat.
 *
 * <p>If the JVM dies, however it dies, the launcher sees its stdin end and kills every group it
 * started that the JVM had not {@link #forget forgotten}: no orphans even after {@code kill -9}.
 * Where perl is missing or the launcher cannot start, the player starts steps as before.
 */
final class Launcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Launcher.class);
    private static final Path PERL = Path.of("/usr/bin/perl");
    /** Spares kept ready when steps start through the launcher: a phase's first step takes one ahead of its start, the next step another. */
    static final int SPARES = 2;
    private static final Duration READY = Duration.ofSeconds(10);
    private static final Duration ANSWER = Duration.ofSeconds(10);
    /** What is in perl's environment that perl would take as its own options. */
    private static final List<String> PERL_OPTIONS = List.of("PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "PERL_UNICODE");

    private final Process perl;
    private final Path dir;
    /** Where its children start, and the environment they start with: what a step's script changes is the rest. */
    private final Path folder;
    private final Map<String, String> environment;
    private final OutputStream requests;
    private final BlockingQueue<Spare> ready = new LinkedBlockingQueue<>();
    /** Spares asked for and not come yet. */
    private int asked;
    /** How many spares it was asked to keep ready: 0 where steps start through the JVM and it only signals groups. */
    private final int spares;
    private final Map<Long, CompletableFuture<Integer>> exits = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<List<Long>>> answers = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    /** Why the launcher can no longer be used, or null while it can. */
    private volatile String gone;
    /**
     * Its perl has Time::HiRes, with which a spare waits for its instant: without it, it keeps no
     * spares and steps start through the JVM.
     */
    private volatile boolean timed;
    /** A spare leaves real-time priority before it runs anything: the launcher may have it. */
    private volatile boolean drops;

    private Launcher(Process perl, Path dir, Path folder, Map<String, String> environment, int spares) {
        this.spares = spares;
        this.perl = perl;
        this.dir = dir;
        this.folder = folder;
        this.environment = Map.copyOf(environment);
        this.requests = perl.getOutputStream();
        Thread.ofPlatform().daemon().name("launcher-replies").start(this::readReplies);
        Thread.ofVirtual().name("launcher-stderr").start(this::readErrors);
    }

    /**
     * Starts a launcher whose children start in {@code folder}, waiting for it to say it is
     * ready (up to 10 s); empty, after saying why in the log, where it cannot (no perl, no room
     * for its FIFOs, a perl that fails).
     *
     * @param pipeSize what its children's stdout and stderr pipes hold (0: the kernel's size)
     * @param spares   how many spares to keep ready: {@link #SPARES} to start steps through it,
     *                 0 to have it signal groups only
     * @param realtime raise the launcher to real-time priority, which its spares inherit until
     *                 they have woken at their instant (only where they can leave it again)
     */
    static Optional<Launcher> start(Path folder, int pipeSize, int spares, boolean realtime) {
        if (!Files.isExecutable(PERL)) {
            log.info("no {}: no step launcher (steps start through the JVM, and a player killed outright leaves its steps"
                    + " running)", PERL);
            return Optional.empty();
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory(fifoParent(), "conductor-launcher-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path script = dir.resolve("launcher.pl");
            try (InputStream in = Launcher.class.getResourceAsStream("launcher.pl")) {
                if (in == null) {
                    throw new IOException("launcher.pl is missing from the player's jar");
                }
                Files.copy(in, script);
            }
            ProcessBuilder pb = new ProcessBuilder(PERL.toString(), script.toString(), dir.toString(),
                    Integer.toString(pipeSize)).directory(folder.toFile());
            PERL_OPTIONS.forEach(pb.environment()::remove);
            Launcher l = new Launcher(pb.start(), dir, folder.toAbsolutePath().normalize(), pb.environment(), spares);
            try {
                l.started.get(READY.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                String why = e instanceof TimeoutException ? "it did not say it was ready within " + READY.toSeconds() + " s"
                        : e.getCause().getMessage();
                l.close();
                throw new IOException(why);
            }
            if (spares > 0 && !l.timed) {
                log.info("{} has no Time::HiRes (Debian's perl package): steps start through the JVM", PERL);
            }
            if (realtime && l.startsSteps() && l.drops) {
                dev.conductor.clock.RealtimeGate.raiseProcessAndItsChildren(l.perl.pid(),
                        "the step launcher (its spares wake at their instant)");
            }
            l.refill();
            return Optional.of(l);
        } catch (IOException e) {
            log.warn("the step launcher ({}) could not start: {}; steps start through the JVM and setsid instead",
                    PERL, e.getMessage());
            deleteQuietly(dir);
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuietly(dir);
            return Optional.empty();
        }
    }

    /**
     * A memory file system where there is one: a FIFO made and removed there costs a few
     * microseconds, on a disk's file system tens (and a spare takes four).
     */
    private static Path fifoParent() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** The perl process's pid (for tests). */
    long pid() {
        return perl.pid();
    }

    /**
     * A spare with its ends open here, ready for {@link Spare#prepare}; another is asked for in
     * its place. Waits up to 10 s when none is ready.
     *
     * @throws IOException when the launcher is gone or gave none in time (start the step another way)
     */
    Spare take() throws IOException {
        String gone = this.gone;
        if (gone != null) {
            throw new IOException("the step launcher is gone: " + gone);
        }
        if (!startsSteps()) {
            throw new IOException("the step launcher keeps no spares (steps start through the JVM)");
        }
        long deadline = System.nanoTime() + ANSWER.toNanos();
        while (true) {
            refill();
            if (this.gone != null) {
                throw new IOException("the step launcher is gone: " + this.gone);
            }
            Spare s;
            try {
                s = ready.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for a spare of the step launcher");
            }
            if (s == null) {
                throw new IOException("the step launcher gave no spare process within " + ANSWER.toSeconds() + " s");
            }
            if (s.exit.isDone()) {
                // Died while it waited (killed from outside): not one to give a step.
                s.discard();
                continue;
            }
            refill();
            return s;
        }
    }

    private synchronized void refill() {
        while (startsSteps() && ready.size() + asked < spares) {
            asked++;
            try {
                request("spare s" + ids.incrementAndGet());
            } catch (IOException e) {
                asked--;
                return;
            }
        }
    }

    private synchronized void arrived() {
        asked = Math.max(0, asked - 1);
    }

    /**
     * Sends {@code signal} ({@code TERM}, {@code KILL}, ...) to every process of each group;
     * returns the groups that had a process to signal.
     */
    List<Long> signal(Collection<Long> groups, String signal) throws IOException {
        if (!signal.matches("[A-Z0-9]+")) {
            throw new IOException("not a signal name: " + signal);
        }
        return ask("signal", signal + " " + join(groups));
    }

    /** Those of {@code groups} that still have a process (a zombie counts until it is reaped). */
    List<Long> live(Collection<Long> groups) throws IOException {
        return ask("live", join(groups));
    }

    /** Groups this JVM started itself: the launcher kills them too if the JVM dies. */
    void remember(long group) {
        try {
            request("remember - " + group);
        } catch (IOException e) {
            log.debug("telling the step launcher of group {}: {}", group, e.getMessage());
        }
    }

    /** Groups this JVM is done with: the launcher no longer kills them when the JVM goes. */
    void forget(Collection<Long> groups) {
        if (groups.isEmpty()) {
            return;
        }
        try {
            request("forget - " + join(groups));
        } catch (IOException e) {
            log.debug("forgetting groups: {}", e.getMessage());
        }
    }

    private static String join(Collection<Long> groups) {
        StringBuilder b = new StringBuilder();
        for (long g : groups) {
            b.append(b.isEmpty() ? "" : " ").append(g);
        }
        return b.toString();
    }

    private List<Long> ask(String verb, String args) throws IOException {
        String id = "q" + ids.incrementAndGet();
        CompletableFuture<List<Long>> answer = new CompletableFuture<>();
        answers.put(id, answer);
        try {
            String why = gone;
            if (why != null) {
                throw new IOException("the step launcher is gone: " + why);
            }
            request(verb + " " + id + " " + args);
            return answer.get(ANSWER.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("the step launcher did not answer '" + verb + "' within " + ANSWER.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for the step launcher");
        } finally {
            answers.remove(id);
        }
    }

    private void request(String line) throws IOException {
        byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
        synchronized (requests) {
            requests.write(b);
            requests.flush();
        }
    }

    private void readReplies() {
        String why = "it closed its output";
        try (BufferedReader in = new BufferedReader(new InputStreamReader(perl.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                try {
                    reply(line.split(" "));
                } catch (IOException | RuntimeException e) {
                    if (gone == null) {
                        log.warn("the step launcher's reply '{}': {}", line, e.toString());
                    }
                }
            }
        } catch (IOException e) {
            why = e.getMessage();
        }
        String code = "";
        try {
            if (perl.waitFor(1, TimeUnit.SECONDS)) {
                code = " (exit code " + perl.exitValue() + ")";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        goneNow(why + code);
    }

    private void reply(String[] w) throws IOException {
        switch (w[0]) {
            case "ready" -> {
                timed = w.length > 1 && "1".equals(w[1]);
                drops = w.length > 2 && "1".equals(w[2]);
                started.complete(null);
            }
            case "spare" -> {
                arrived();
                if (gone == null) {
                    spareArrived(w[1], Long.parseLong(w[2]));
                } // else: closing, the launcher kills its spares as it exits
            }
            case "failed" -> {
                if (w[1].startsWith("s")) {
                    arrived();
                }
                String why = String.join(" ", List.of(w).subList(2, w.length));
                CompletableFuture<List<Long>> a = answers.get(w[1]);
                if (a != null) {
                    a.completeExceptionally(new IOException(why));
                } else {
                    log.warn("the step launcher could not make a spare process: {}", why);
                }
            }
            case "exit" -> exitOf(Long.parseLong(w[1])).complete(exitCode(Integer.parseInt(w[2])));
            case "signalled", "live" -> {
                CompletableFuture<List<Long>> a = answers.get(w[1]);
                if (a != null) {
                    List<Long> groups = new ArrayList<>();
                    for (int i = 2; i < w.length; i++) {
                        groups.add(Long.parseLong(w[i]));
                    }
                    a.complete(groups);
                }
            }
            default -> log.warn("the step launcher said something unknown: {}", String.join(" ", w));
        }
    }

    /** As Java reports it: the exit status, or 128 plus the signal that ended the process. */
    static int exitCode(int waitStatus) {
        int signal = waitStatus & 0x7f;
        return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
    }

    private CompletableFuture<Integer> exitOf(long pid) {
        return exits.computeIfAbsent(pid, p -> new CompletableFuture<>());
    }

    private void spareArrived(String id, long pid) throws IOException {
        CompletableFuture<Integer> exit = exitOf(pid);
        // Every open returns at once: the launcher holds both sides of each FIFO until 'ack'.
        Path out = dir.resolve(id + ".out");
        Path err = dir.resolve(id + ".err");
        Path in = dir.resolve(id + ".in");
        Path go = dir.resolve(id + ".go");
        Path st = dir.resolve(id + ".st");
        Spare s;
        try {
            s = new Spare(this, pid, ProcessHandle.of(pid).orElse(null), exit, new FileInputStream(out.toFile()),
                    new FileInputStream(err.toFile()), new FileOutputStream(in.toFile()), new FileOutputStream(go.toFile()),
                    new FileInputStream(st.toFile()));
        } catch (IOException e) {
            request("drop " + id);
            throw e;
        }
        for (Path p : List.of(out, err, in, go, st)) {
            Files.deleteIfExists(p);
        }
        request("ack " + id);
        exit.whenComplete((c, e) -> exits.remove(pid));
        ready.add(s);
    }

    private void readErrors() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(perl.getErrorStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                log.warn("step launcher: {}", line);
            }
        } catch (IOException e) {
            // It is gone; readReplies says so.
        }
    }

    private void goneNow(String why) {
        if (gone == null) {
            gone = why;
        }
        started.completeExceptionally(new IOException(why));
        answers.values().forEach(a -> a.completeExceptionally(new IOException("the step launcher is gone: " + why)));
        // Steps it started run on, children of init now: their end is seen, their code is not.
        for (var e : exits.entrySet()) {
            if (!e.getValue().isDone()) {
                long pid = e.getKey();
                ProcessHandle.of(pid).ifPresentOrElse(h -> h.onExit().thenRun(() -> e.getValue().complete(UNKNOWN_EXIT)),
                        () -> e.getValue().complete(UNKNOWN_EXIT));
            }
        }
        ready.forEach(Spare::discard);
        ready.clear();
        deleteQuietly(dir);
    }

    /** The exit code of a step whose launcher died before it could tell. */
    static final int UNKNOWN_EXIT = 255;

    /** True while it works: it signals groups, and starts steps where it keeps spares. */
    boolean usable() {
        return gone == null;
    }

    /** True while steps are to start through it (it was asked for spares, can keep them, and works). */
    boolean startsSteps() {
        return spares > 0 && timed && gone == null;
    }

    /**
     * Stops the launcher: it kills every group it started that was not {@link #forget forgotten},
     * and the spares; waits up to 5 s for it.
     */
    @Override
    public void close() {
        goneNow("closed");
        try {
            requests.close();
        } catch (IOException ignored) {
            // It is going either way.
        }
        try {
            if (!perl.waitFor(5, TimeUnit.SECONDS)) {
                perl.destroyForcibly();
                perl.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // A folder in the temporary folder, left behind at worst.
        }
    }

    /**
     * A child of the launcher, forked ahead: it leads its own session and group, and waits for
     * what to run. {@link #prepare} tells it (ahead of the start), {@link #arm} gives it its
     * start instant with one write, {@link #discard} lets it exit without running anything.
     */
    static final class Spare implements TimedSpare {
        private final Launcher launcher;
        private final long pid;
        private final ProcessHandle handle;
        private final CompletableFuture<Integer> exit;
        private final InputStream out;
        private final InputStream err;
        private final OutputStream in;
        private final OutputStream go;
        private final InputStream st;

        private Spare(Launcher launcher, long pid, ProcessHandle handle, CompletableFuture<Integer> exit, InputStream out,
                      InputStream err, OutputStream in, OutputStream go, InputStream st) {
            this.launcher = launcher;
            this.st = st;
            this.pid = pid;
            this.handle = handle;
            this.exit = exit;
            this.out = out;
            this.err = err;
            this.in = in;
            this.go = go;
        }

        long pid() {
            return pid;
        }


        /**
         * Writes the spare what it will run: {@code command}, as {@code /bin/sh -c} would run it,
         * in {@code folder}, with exactly {@code environment}; stdin a pipe the caller writes
         * (else /dev/null). Written ahead of the start, which {@link #arm} gives.
         *
         * @return the process it will be, not started yet (its group exists already)
         * @throws IOException when it cannot be said to a shell (a variable to change whose name
         *                     is no shell name), or the spare is gone
         */
        LaunchedProcess prepare(Path folder, boolean stdinPipe, String command, Map<String, String> environment)
                throws IOException {
            StringBuilder script = new StringBuilder();
            if (!folder.toAbsolutePath().normalize().equals(launcher.folder)) {
                script.append("cd -- ").append(quoted(folder.toAbsolutePath().toString())).append(" || exit 127\n");
            }
            for (String name : launcher.environment.keySet()) {
                if (!environment.containsKey(name)) {
                    script.append("unset ").append(shellName(name)).append('\n');
                }
            }
            for (var e : environment.entrySet()) {
                if (!e.getValue().equals(launcher.environment.get(e.getKey()))) {
                    script.append("export ").append(shellName(e.getKey())).append('=').append(quoted(e.getValue())).append('\n');
                }
            }
            if (!stdinPipe) {
                script.append("exec 0</dev/null\n");
            }
            script.append("eval ").append(quoted(command)).append('\n');
            if (script.indexOf("\0") >= 0) {
                throw new IOException("a NUL character cannot be passed to a process");
            }
            byte[] body = script.toString().getBytes(StandardCharsets.UTF_8);
            go.write((body.length + "\n").getBytes(StandardCharsets.US_ASCII));
            go.write(body);
            go.flush();
            // Once it has started, this side no longer needs the stdin FIFO of a step that reads /dev/null.
            Runnable settle = stdinPipe ? () -> {
            } : () -> closeQuietly(in);
            return new LaunchedProcess(pid, handle, exit, out, err, stdinPipe ? in : null, settle);
        }

        private static String quoted(String value) {
            return "'" + value.replace("'", "'\\''") + "'";
        }

        private static String shellName(String name) throws IOException {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new IOException("the environment variable '" + name + "' has no name a shell can set");
            }
            return name;
        }

        /**
         * Tells the spare when to start: at {@code monotonicNanos} ({@link System#nanoTime()}'s
         * clock), or at once for 0 (or an instant passed). It waits for the instant itself, so
         * this may come ahead of it. One write.
         */
        @Override
        public void arm(long monotonicNanos) throws IOException {
            go.write((Math.max(0, monotonicNanos) + "\n").getBytes(StandardCharsets.US_ASCII));
            go.close();
        }

        /**
         * Waits until the spare says it woke for its start, and returns when, in nanoseconds of
         * {@link System#nanoTime()}'s clock.
         *
         * @throws IOException it ended before it started (the exit code says why)
         */
        @Override
        public long started() throws IOException {
            String b = TimedSpare.saidLine(st, Integer.MAX_VALUE, "");
            if (b == null) {
                throw new IOException("the step's process ended before it started");
            }
            st.close();
            try {
                return Long.parseLong(b);
            } catch (NumberFormatException e) {
                throw new IOException("the step's process said it started at '" + b + "'");
            }
        }

        /** Never to be started: it reads the end of its instructions and exits without running anything. */
        @Override
        public void discard() {
            for (java.io.Closeable c : new java.io.Closeable[]{go, in, out, err, st}) {
                closeQuietly(c);
            }
        }

        private static void closeQuietly(java.io.Closeable c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // Closing a pipe's end: closed is what we want.
            }
        }
    }
}
