package dev.conductor.bench;

import dev.conductor.fixture.ProcFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time as Linux accounts it, in ms (USER_HZ is 100, so 10 ms steps). The machine's total
 * tells how busy the CPUs were; subtracting what the benchmark's own processes used tells how
 * much other work (someone's build, say) competed with the measurement.
 *
 * @param ownMillis          the process's own user + system time
 * @param withChildrenMillis plus its reaped children's (a player's: the steps it ran)
 */
record CpuTime(long ownMillis, long withChildrenMillis) {
    private static final int MILLIS_PER_TICK = 10;

    static CpuTime of(long pid) throws IOException {
        return parse(procFile(Path.of("/proc", Long.toString(pid), "stat")));
    }

    static CpuTime self() throws IOException {
        return parse(procFile(Path.of("/proc/self/stat")));
    }

    /** Fields 14-17 of /proc/PID/stat: utime, stime, cutime, cstime. */
    private static CpuTime parse(String stat) {
        String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long own = Long.parseLong(rest[11]) + Long.parseLong(rest[12]);
        long children = Long.parseLong(rest[13]) + Long.parseLong(rest[14]);
        return new CpuTime(own * MILLIS_PER_TICK, (own + children) * MILLIS_PER_TICK);
    }

    /** A file of /proc, read to its end (see {@link ProcFiles#read}). */
    static String procFile(Path file) throws IOException {
        return ProcFiles.read(file);
    }

    /** The machine's load averages and task counts, as /proc/loadavg says them; "?" when it cannot be read. */
    static String loadAverage() {
        try {
            return procFile(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /** Busy time of all CPUs together since boot (everything but idle and iowait), in ms. */
    static long machineBusyMillis() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
        String[] f = lines.getFirst().trim().split("\\s+"); // cpu user nice system idle iowait irq softirq steal
        long busy = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
            if (i != 4 && i != 5) {
                busy += Long.parseLong(f[i]);
            }
        }
        return busy * MILLIS_PER_TICK;
    }
}
