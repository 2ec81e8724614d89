package dev.conductor.player;

import dev.conductor.fixture.Privileges;
import dev.conductor.fixture.ProcFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Process groups, which Java cannot address directly: every step runs as the leader of its own
 * group (through {@code setsid}), so killing the group reaches everything the step started,
 * even children that were re-parented after their parent died.
 *
 * <p>A spawned step (whose output an {@code expect} may read, and which may print for long)
 * makes its group with a few lines of {@code perl} instead, which also give its stdout and
 * stderr pipes {@link #LARGE_PIPE} bytes of room instead of the kernel's 64 KiB: with the
 * small pipe the step and the player's reader hand over 64 KiB at a time, each waking the
 * other, and on a virtual machine, where a wake-up is dear, that halved how fast an expect read
 * (docs/PERFORMANCE.md). Java has no call for a pipe's size ({@code fcntl F_SETPIPE_SZ}); perl,
 * part of every Debian system, does. Without perl, or with {@code PERL5OPT} in the step's
 * environment (options perl would take as its own), a spawned step starts as the others do.
 */
public final class ProcessGroups {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ProcessGroups.class);
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Path KILL = Path.of("/bin/kill");
    private static final Path PERL = Path.of("/usr/bin/perl");
    /** Linux's fcntl commands that set and get a pipe's capacity. */
    static final int F_SETPIPE_SZ = 1031;
    static final int F_GETPIPE_SZ = 1032;
    /**
     * What a spawned step's output pipes hold: 1 MiB for root; 256 KiB for another user, whose
     * pipes all count against a budget of 64 MiB by default (past it, every new pipe of that user
     * gets 8 KiB); never more than {@code /proc/sys/fs/pipe-max-size}.
     */
    static final int LARGE_PIPE = largePipe(Privileges.ofCurrentProcess().isRoot());
    /**
     * Makes the new group (same session: the step has no terminal either way, its stdin and
     * output being pipes or /dev/null), asks for the larger pipes (a refusal leaves them as
     * they are) and becomes the shell, keeping its pid.
     */
    private static final String LARGE_PIPES_THEN_EXEC = "setpgrp(0, 0) or die \"conductor: setpgrp: $!\\n\"; "
            + "fcntl($_, " + F_SETPIPE_SZ + ", " + LARGE_PIPE + ") for \\*STDOUT, \\*STDERR; "
            + "exec { $ARGV[0] } @ARGV; print STDERR \"conductor: cannot run $ARGV[0]: $!\\n\"; exit 127";

    private ProcessGroups() {
    }

    static int largePipe(boolean root) {
        int want = root ? 1 << 20 : 256 << 10;
        try {
            int max = Integer.parseInt(sysctl("fs/pipe-max-size"));
            return Math.max(64 << 10, Math.min(want, max));
        } catch (IOException | RuntimeException e) {
            return want;
        }
    }

    /** The value of {@code /proc/sys/NAME} (read as {@link ProcFiles#read} says). */
    static String sysctl(String name) throws IOException {
        return ProcFiles.read(Path.of("/proc/sys", name)).strip();
    }

    /**
     * As {@link #shellInNewGroup}, for a spawned step: its output pipes get {@link #LARGE_PIPE}
     * bytes (see the class comment), where perl is there and {@code environment} (all the step
     * will see) gives it no options ({@code PERL5OPT}; the few lines use no module, so a
     * {@code PERL5LIB} changes nothing).
     */
    public static List<String> shellInNewGroupWithLargePipes(String command, Map<String, String> environment) {
        if (!Wrapper.WORKS || environment.containsKey("PERL5OPT")) {
            return shellInNewGroup(command);
        }
        return wrapped("/bin/sh", "-c", command);
    }

    /** How a step's shell starts: a spawned one with the larger pipes, any other as {@link #shellInNewGroup}. */
    static List<String> shellForStep(String command, boolean spawned, Map<String, String> environment) {
        return spawned ? shellInNewGroupWithLargePipes(command, environment) : shellInNewGroup(command);
    }

    /** Tries the wrapper of {@link #shellInNewGroupWithLargePipes} (once per JVM); says whether it works. */
    static boolean tryLargePipes() {
        return Wrapper.WORKS;
    }

    private static List<String> wrapped(String... argv) {
        List<String> all = new ArrayList<>(List.of(PERL.toString(), "-e", LARGE_PIPES_THEN_EXEC, "--"));
        all.addAll(List.of(argv));
        return all;
    }

    /**
     * Whether the wrapper runs here, tried once per JVM (when the player starts, see
     * {@link Player#warmUp}, or else at its first spawned step): a perl that is there but broken
     * (a library missing, say) would otherwise fail every spawned step.
     */
    private static final class Wrapper {
        static final boolean WORKS = tryIt();

        private static boolean tryIt() {
            if (!Files.isExecutable(PERL)) {
                return false;
            }
            String why;
            try {
                Process p = new ProcessBuilder(wrapped("/bin/sh", "-c", "exit 0")).redirectErrorStream(true).start();
                p.getOutputStream().close();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    why = "it did not end within 10 s";
                } else {
                    String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
                    if (p.exitValue() == 0 && said.isEmpty()) {
                        return true;
                    }
                    why = "it exited " + p.exitValue() + (said.isEmpty() ? "" : " saying: " + said);
                }
            } catch (IOException e) {
                why = e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                why = "interrupted";
            }
            log.warn("{} does not work here ({}): spawned steps start with setsid and the kernel's 64 KiB pipes", PERL, why);
            return false;
        }
    }

    /** The argv that runs {@code command} with {@code /bin/sh -c} as the leader of a new group. */
    public static List<String> shellInNewGroup(String command) {
        List<String> argv = new ArrayList<>();
        if (Files.isExecutable(SETSID)) {
            argv.add(SETSID.toString());
        }
        argv.add("/bin/sh");
        argv.add("-c");
        argv.add(command);
        return argv;
    }

    /** How a held shell gets its command: in its environment, which it clears before running it. */
    static final String HELD_COMMAND = "CONDUCTOR_HELD_STEP";

    /**
     * Like {@link #shellInNewGroup}, but the shell first waits for one line on its stdin and
     * only then runs the command in {@link #HELD_COMMAND}, in the same process (so the same
     * group), environment (without that variable) and folder. It runs it with {@code eval},
     * not by starting another shell: at a start instant shared by many players on few CPUs,
     * every process image loaded is time taken from the players still waking up. The command
     * is not in the held shell's argv, so nothing that looks for it in the process table (pgrep,
     * ps) mistakes the waiting shell for the running step. A foreground command gets /dev/null
     * as stdin, as an unheld one does; a spawned one keeps the pipe, for 'send:'. Without its
     * line (the pipe closed, the player gone) the shell exits with 125 and runs nothing.
     */
    static List<String> heldShellInNewGroup(boolean keepStdin, Map<String, String> environment) {
        String held = "IFS= read -r _ || exit 125; c=$" + HELD_COMMAND + "; unset " + HELD_COMMAND
                + (keepStdin ? "" : "; exec </dev/null") + "; eval \"unset c; $c\"";
        return shellForStep(held, keepStdin, environment); // only a spawned step keeps its stdin
    }

    /**
     * The process groups that have at least one live (non-zombie) member, read from /proc;
     * only processes with a pid of at least {@code fromPid} are looked at. Reading every
     * process's stat costs a player milliseconds of CPU on a busy machine, at the moment all
     * players finish their Reset.
     */
    static java.util.Set<Long> liveGroups(long fromPid) {
        try (var dirs = Files.list(Path.of("/proc"))) {
            return dirs.mapToLong(d -> pgidOf(d, fromPid)).filter(g -> g > 0).boxed()
                    .collect(java.util.stream.Collectors.toSet());
        } catch (IOException e) {
            return java.util.Set.of();
        }
    }

    /**
     * Where a scan for members of {@code groups} can start: a member is forked after its
     * group's leader, so it has a higher pid, unless the pids wrapped around since (then the
     * last pid handed out is below the lowest leader, and everything is scanned).
     */
    static long scanFrom(Collection<Long> groups) {
        long lowest = groups.stream().mapToLong(Long::longValue).min().orElse(1);
        try {
            long last = Long.parseLong(sysctl("kernel/ns_last_pid"));
            return last >= lowest ? lowest : 1;
        } catch (IOException | RuntimeException e) {
            return 1;
        }
    }

    private static long pgidOf(Path procDir, long fromPid) {
        String name = procDir.getFileName().toString();
        if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
            return -1;
        }
        try {
            if (Long.parseLong(name) < fromPid) {
                return -1;
            }
            String stat = Files.readString(procDir.resolve("stat"));
            // Fields after the parenthesised command name: state ppid pgrp ...
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (rest[0].equals("Z")) {
                return -1;
            }
            return Long.parseLong(rest[2]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The leader of every group a step of ours started, by group id, with its start time (a
     * {@link ProcessHandle} of a child knows it from its fork): until the group is killed at
     * the end of its trial, so that a group id handed out again is told from ours.
     */
    private static final java.util.Map<Long, ProcessHandle> LEADERS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Notes a step's process as the leader of a group of ours (its pid is the group id). */
    static void leaderStarted(Process leader) {
        LEADERS.put(leader.pid(), leader.toHandle());
    }

    /**
     * True when {@code pgid} is no longer the id of the group we started: a process with that
     * pid lives but is not our leader (it started at another time). While any member of our
     * group lives, the kernel hands the number to no one else; once all are gone and the pids
     * have wrapped around, another process may get it and lead a group of its own, which is
     * not ours to signal.
     */
    static boolean reused(long pgid) {
        ProcessHandle ours = LEADERS.get(pgid);
        if (ours == null) {
            return false;
        }
        return ProcessHandle.of(pgid).map(now -> !now.equals(ours)).orElse(false);
    }

    /**
     * Sends {@code signal} (e.g. {@code KILL}, {@code TERM}) to every process of each group.
     * Groups that are already gone are ignored, and so are ids that now belong to someone
     * else's group ({@link #reused}).
     *
     * Through {@code launcher} where there is one that works (null: none), else {@code /bin/kill}.
     *
     * @return the groups signalled: those given, less the reused ones
     */
    static List<Long> signal(Collection<Long> groups, String signal, Launcher launcher) {
        List<Long> pgids = groups.stream().filter(g -> !reused(g)).toList();
        if (pgids.isEmpty()) {
            return pgids;
        }
        if (launcher != null && launcher.usable()) {
            try {
                launcher.signal(pgids, signal);
                return pgids;
            } catch (IOException e) {
                log.warn("signalling {} through the step launcher: {}", pgids, e.getMessage());
            }
        }
        List<String> argv = new ArrayList<>(List.of(KILL.toString(), "-s", signal, "--"));
        for (long pgid : pgids) {
            argv.add("-" + pgid);
        }
        try {
            Process kill = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            // No /bin/kill: fall back to what Java can reach (the leaders themselves).
            for (long pgid : pgids) {
                ProcessHandle.of(pgid).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return pgids;
    }

    /**
     * Kills those of {@code groups} that still have a live member. Only live ones: a group id
     * whose processes are all gone may since have been reused by someone else's group.
     * <p>
     * The leaders we know are killed first, by pid: a leader forked a moment ago may not have
     * made its group yet ({@code setsid} and the wrapper's {@code setpgrp} run in the child, after
     * the fork returned here), and until it has, neither a signal to the group nor a look for
     * its members finds it. Until then it has no children either, so killing it is enough.
     *
     * <p>
     * Through {@code launcher} where there is one that works (null: none): it tells which groups
     * still have a member without reading /proc, and signals them without starting
     * {@code /bin/kill}; the groups are then forgotten by it.
     *
     * @return the groups killed
     */
    static java.util.Set<Long> killLive(Collection<Long> groups, Launcher launcher) {
        if (groups.isEmpty()) {
            return java.util.Set.of();
        }
        java.util.Set<Long> killed = new java.util.HashSet<>();
        for (long pgid : groups) {
            ProcessHandle leader = LEADERS.get(pgid);
            // The handle knows the leader's start time: a pid handed out again is not signalled.
            if (leader != null && leader.isAlive() && leader.destroyForcibly()) {
                killed.add(pgid);
            }
        }
        java.util.Set<Long> live = new java.util.HashSet<>(groups);
        live.retainAll(liveAmong(groups, launcher));
        killed.addAll(signal(live, "KILL", launcher));
        groups.forEach(LEADERS::remove);
        if (launcher != null) {
            launcher.forget(groups);
        }
        return java.util.Set.copyOf(killed);
    }

    /** Those of {@code groups} with a live member: asked of the launcher, else read from /proc. */
    private static java.util.Set<Long> liveAmong(Collection<Long> groups, Launcher launcher) {
        if (launcher != null && launcher.usable()) {
            try {
                return new java.util.HashSet<>(launcher.live(groups));
            } catch (IOException e) {
                log.warn("asking the step launcher which groups live: {}", e.getMessage());
            }
        }
        return liveGroups(scanFrom(groups));
    }

    /**
     * Kills a step's whole tree: its group, plus descendants that moved to groups of their own;
     * the group signalled through {@code launcher} where there is one that works (null: none).
     */
    static void killTree(Process process, Launcher launcher) {
        List<ProcessHandle> descendants = process.descendants().toList();
        signal(List.of(process.pid()), "KILL", launcher);
        process.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
    }
}
