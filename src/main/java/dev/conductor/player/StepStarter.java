package dev.conductor.player;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * How a player starts its steps by default: through {@code stepstart}, a small static program
 * built from {@code src/main/c/stepstart.c} with the jar (where the build machine has a C
 * compiler) and run from a copy in a folder of this user's.
 *
 * <p>Why: a phase's first step must start at an instant, on every player at once. Forking it
 * at that instant costs each player's start gate the JVM's spawn (about 90 µs of CPU here),
 * and on a machine where many players share few CPUs the gates take their turns: 32 players
 * on 2 CPUs started over 1.3 to 1.8 ms (docs/PERFORMANCE.md). Here the JVM spawns
 * {@code stepstart} when the phase arrives; it leads its own process group at once, and when
 * told the instant (one line on its stdin) waits for it itself, at real-time priority where it
 * may, yielding to the others due at that instant. It notes the time it woke, leaves real-time
 * priority, writes that time first on its stdout and becomes the step's shell: the start time
 * is the process's own, no thread of the JVM has to be on time, and a step costs one program
 * load before its shell, as with {@code setsid} (and it gives a spawned step its larger pipes
 * without perl).
 *
 * <p>Where there is no {@code stepstart} in the jar (it was built without a C compiler) or it
 * does not run here, the player says so once and starts steps through the JVM and setsid.
 */
final class StepStarter {
    private static final Logger log = LoggerFactory.getLogger(StepStarter.class);
    /** Where the build puts it in the jar. */
    static final String RESOURCE = "stepstart";
    /** The first line the program writes on the step's stdout, before the step can write anything. */
    private static final String SAID = "stepstart ";
    private static final int MAX_SAID = 64;
    private static final long PROBE_SECONDS = 5;
    /** How long a start through {@link Spawner} may take. */
    private static final long SPAWN_SECONDS = 10;
    private static final Path SHELL = Path.of("/bin/sh");

    private final Path program;
    private final boolean realtime;

    private StepStarter(Path program, boolean realtime) {
        this.program = program;
        this.realtime = realtime;
    }

    /**
     * The program copied out of the jar (once per user and version: a folder of this user's,
     * mode 700, in the temporary folder) and tried once per JVM; empty, after saying why at
     * info (once), where it is not in the jar or does not work here.
     *
     * @param realtime whether steps wait for their instant at real-time priority, where the
     *                 system allows it (as the player's start gate does)
     */
    static Optional<StepStarter> find(boolean realtime) {
        return Found.PROGRAM.map(p -> new StepStarter(p, realtime));
    }

    /** The program, found and tried once per JVM (a JVM may serve many players: conduct --local, tests). */
    private static final class Found {
        static final Optional<Path> PROGRAM = findIt();

        private static Optional<Path> findIt() {
            String why;
            try (InputStream in = StepStarter.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    why = "this build has no stepstart (there was no C compiler where it was built)";
                } else {
                    Path program = copyOut(in.readAllBytes());
                    why = new StepStarter(program, false).tryIt();
                    if (why == null) {
                        return Optional.of(program);
                    }
                }
            } catch (IOException e) {
                why = e.getMessage();
            }
            log.info("steps start through the JVM and setsid: {}", why);
            return Optional.empty();
        }
    }

    /** The program, for tests. */
    Path program() {
        return program;
    }

    private static Path copyOut(byte[] bytes) throws IOException {
        String digest;
        try {
            digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("no SHA-256 in this JVM", e);
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "conductor-" + user);
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // Made by an earlier player: used only if it is this user's alone.
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        // /proc/self belongs to this process's user.
        Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        Object me = Files.getAttribute(Path.of("/proc/self"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !perms.equals(PosixFilePermissions.fromString("rwx------"))
                || !owner.equals(me)) {
            throw new IOException(dir + " is not a folder of this user's alone (mode 700): stepstart is not copied there");
        }
        Path program = dir.resolve("stepstart-" + digest);
        if (!Files.isExecutable(program) || Files.size(program) != bytes.length) {
            Path tmp = Files.createTempFile(dir, "stepstart-", ".part");
            try {
                Files.write(tmp, bytes);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
                Files.move(tmp, program, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return program;
    }

    /** Runs {@code exit 0} through it; null when that went as it should, else what went wrong. */
    private String tryIt() {
        try {
            Spare s = prepare(new ProcessBuilder().redirectInput(ProcessBuilder.Redirect.PIPE), "exit 0", false, 0);
            s.arm(0);
            s.started();
            Process p = s.process();
            if (!p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return program + " did not end within " + PROBE_SECONDS + " s of running 'exit 0'";
            }
            if (p.exitValue() != 0) {
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                return program + " running 'exit 0' ended with code " + p.exitValue() + (err.isEmpty() ? "" : ": " + err);
            }
            return null;
        } catch (IOException e) {
            return program + " does not work here: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while trying " + program;
        }
    }

    /**
     * Starts {@code stepstart} for {@code command} with {@code pb}'s folder and environment:
     * it leads its own group and waits for {@link Spare#arm}. Where steps wait at real-time
     * priority, it is started from {@link Spawner}'s thread, and so is at that priority from its
     * first instruction: started at normal priority, on a machine whose CPUs many players share,
     * it could wait tens of milliseconds for a CPU before it even read its instant (a 32-player
     * bench had one player in ten that late).
     *
     * @param stdinPipe the step reads a pipe the caller writes (a spawned step); else /dev/null
     * @param pipeSize  what its stdout and stderr pipes should hold (0: the kernel's size)
     */
    Spare prepare(ProcessBuilder pb, String command, boolean stdinPipe, int pipeSize) throws IOException {
        if (!realtime) {
            return start(pb, command, stdinPipe, pipeSize);
        }
        var started = Spawner.THREAD.submit(() -> start(pb, command, stdinPipe, pipeSize));
        try {
            return started.get(SPAWN_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            started.cancel(false);
            throw new IOException("stepstart was not started within " + SPAWN_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while starting stepstart");
        }
    }

    /**
     * The thread that starts {@code stepstart} where steps wait at real-time priority: at that
     * priority itself, and without reset-on-fork, so the processes it starts are too (they
     * leave it before the step's shell runs). One per JVM; a start takes a millisecond.
     */
    private static final class Spawner {
        static final java.util.concurrent.ExecutorService THREAD = java.util.concurrent.Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("stepstart-spawner").unstarted(r));

        static {
            THREAD.execute(() -> dev.conductor.clock.RealtimeGate.raiseCurrentThreadAndItsChildren(
                    "the thread that starts stepstart (its processes wait for their instants)"));
        }
    }

    private Spare start(ProcessBuilder pb, String command, boolean stdinPipe, int pipeSize) throws IOException {
        List<String> argv = new ArrayList<>(List.of(program.toString()));
        if (!stdinPipe) {
            argv.add("-n");
        }
        if (realtime) {
            argv.add("-r");
        }
        if (pipeSize > 0) {
            argv.addAll(List.of("-p", Integer.toString(pipeSize)));
        }
        argv.addAll(List.of("-P", Long.toString(ProcessHandle.current().pid()), "--", SHELL.toString(), "-c", command));
        Process p = pb.command(argv).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        return new Spare(p, stdinPipe);
    }

    /**
     * A started {@code stepstart}, waiting for its instant: {@link #arm} gives it (one line on
     * its stdin), {@link #started} waits until it woke and says when, {@link #discard} lets it
     * exit without running anything.
     */
    static final class Spare implements TimedSpare {
        private final Process process;
        private final boolean stdinPipe;

        private Spare(Process process, boolean stdinPipe) {
            this.process = process;
            this.stdinPipe = stdinPipe;
        }

        Process process() {
            return process;
        }

        @Override
        public void arm(long monotonicNanos) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((Math.max(0, monotonicNanos) + "\n").getBytes(StandardCharsets.US_ASCII));
            in.flush();
            if (!stdinPipe) {
                in.close();
            }
        }

        @Override
        public long started() throws IOException {
            String b = TimedSpare.saidLine(process.getInputStream(), MAX_SAID, "the step's process did not say when it started");
            if (b == null) {
                throw new IOException("the step's process ended before it started" + why());
            }
            if (!b.startsWith(SAID)) {
                throw new IOException("the step's process said '" + b + "' where it should say when it started");
            }
            try {
                return Long.parseLong(b.substring(SAID.length()));
            } catch (NumberFormatException e) {
                throw new IOException("the step's process said it started at '" + b.substring(SAID.length()) + "'");
            }
        }

        /** What stepstart said on stderr when it ended without starting (its own errors are one line). */
        private String why() {
            try {
                if (process.waitFor(1, TimeUnit.SECONDS)) {
                    String err = new String(process.getErrorStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
                    return " (exit code " + process.exitValue() + (err.isEmpty() ? "" : ": " + err) + ")";
                }
            } catch (IOException e) {
                return "";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "";
        }

        @Override
        public void discard() {
            try {
                process.getOutputStream().close();
            } catch (IOException ignored) {
                // Closed is what it is to see.
            }
        }
    }
}
