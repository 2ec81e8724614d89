package dev.conductor.player;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Process groups, which Java cannot address directly: every step runs as the leader of its own
 * group (through {@code setsid}), so killing the group reaches everything the step started,
 * even children that were re-parented after their parent died.
 */
final class ProcessGroups {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Path KILL = Path.of("/bin/kill");

    private ProcessGroups() {
    }

    /** The argv that runs {@code command} with {@code /bin/sh -c} as the leader of a new group. */
    static List<String> shellInNewGroup(String command) {
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
    static List<String> heldShellInNewGroup(boolean keepStdin) {
        return shellInNewGroup("IFS= read -r _ || exit 125; c=$" + HELD_COMMAND + "; unset " + HELD_COMMAND
                + (keepStdin ? "" : "; exec </dev/null") + "; eval \"unset c; $c\"");
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
            long last = Long.parseLong(Files.readString(Path.of("/proc/sys/kernel/ns_last_pid")).strip());
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
     * @return the groups signalled: those given, less the reused ones
     */
    static List<Long> signal(Collection<Long> groups, String signal) {
        List<Long> pgids = groups.stream().filter(g -> !reused(g)).toList();
        if (pgids.isEmpty()) {
            return pgids;
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
     *
     * @return the groups killed
     */
    static java.util.Set<Long> killLive(Collection<Long> groups) {
        if (groups.isEmpty()) {
            return java.util.Set.of();
        }
        java.util.Set<Long> live = new java.util.HashSet<>(groups);
        live.retainAll(liveGroups(scanFrom(groups)));
        java.util.Set<Long> killed = java.util.Set.copyOf(signal(live, "KILL"));
        groups.forEach(LEADERS::remove);
        return killed;
    }

    /** Kills a step's whole tree: its group, plus descendants that moved to groups of their own. */
    static void killTree(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        signal(List.of(process.pid()), "KILL");
        process.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
    }
}
