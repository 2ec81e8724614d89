package dev.conductor.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench spawn}: what starting a process costs on this machine, the way a player starts a
 * step ({@link ProcessBuilder}, output discarded, waited for): the wall time of one start and
 * wait, the CPU of this JVM and the CPU of the children, per start. The commands go from a bare
 * program to a step's own shape ({@code setsid}, then {@code sh}, then the command), so the
 * differences show what each program loaded costs. Cases alternate within each repetition.
 */
@Command(name = "spawn", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"What one process start costs here, as a player starts a step: wall time per start and wait, "
                + "CPU of this JVM and of the children per start, for commands from /bin/true to a step's "
                + "setsid + sh + command. Medians of alternating repetitions. See docs/PERFORMANCE.md."})
final class SpawnBench implements Callable<Integer> {
    @Option(names = "--starts", paramLabel = "N", defaultValue = "200",
            description = "starts per case and repetition (default: ${DEFAULT-VALUE})")
    int starts;

    @Option(names = "--reps", paramLabel = "R", defaultValue = "3",
            description = "repetitions; the cases alternate within each (default: ${DEFAULT-VALUE})")
    int reps;

    /** Each case's argv, from a bare program to what a step is. */
    static final Map<String, List<String>> CASES = new LinkedHashMap<>();

    static {
        CASES.put("/bin/true", List.of("/bin/true"));
        CASES.put("/bin/sh -c true", List.of("/bin/sh", "-c", "true"));
        CASES.put("/usr/bin/setsid /bin/true", List.of("/usr/bin/setsid", "/bin/true"));
        CASES.put("/bin/sh -c \"sleep 0\"", List.of("/bin/sh", "-c", "sleep 0"));
        CASES.put("/usr/bin/setsid /bin/sh -c \"sleep 0\" (a step)", List.of("/usr/bin/setsid", "/bin/sh", "-c", "sleep 0"));
        // What a player starts for a spawned step: perl makes the group and the larger pipes, then execs sh.
        CASES.put("perl wrapper, /bin/sh -c \"sleep 0\" (spawned)",
                dev.conductor.player.ProcessGroups.shellInNewGroupWithLargePipes("sleep 0", System.getenv()));
    }

    /** Per start: wall, this JVM's CPU, the children's CPU, in ms. */
    record Sample(double wallMs, double ownCpuMs, double childCpuMs) {
    }

    @Override
    public Integer call() throws Exception {
        if (starts < 1 || reps < 1) {
            System.err.println("bench spawn: --starts and --reps must be at least 1");
            return 2;
        }
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        CASES.keySet().forEach(k -> samples.put(k, new ArrayList<>()));
        for (List<String> argv : CASES.values()) {
            measure(argv, Math.min(50, starts)); // warm-up: the JVM's spawn path compiled, the binaries cached
        }
        for (int rep = 1; rep <= reps; rep++) {
            for (var c : CASES.entrySet()) {
                Sample s = measure(c.getValue(), starts);
                samples.get(c.getKey()).add(s);
                System.out.printf(Locale.ROOT, "bench spawn: repetition %d/%d, %-48s %6.2f ms wall, %5.2f ms CPU own, %5.2f children%n",
                        rep, reps, c.getKey(), s.wallMs(), s.ownCpuMs(), s.childCpuMs());
            }
        }
        System.out.printf(Locale.ROOT, "%nbench spawn: %d starts per case and repetition, %d repetition(s), medians per start%n",
                starts, reps);
        System.out.printf(Locale.ROOT, "%-48s %10s %12s %14s%n", "command started", "wall (ms)", "CPU own (ms)", "CPU children (ms)");
        for (var e : samples.entrySet()) {
            System.out.printf(Locale.ROOT, "%-48s %10.2f %12.2f %14.2f%n", e.getKey(),
                    median(e.getValue().stream().map(Sample::wallMs).toList()),
                    median(e.getValue().stream().map(Sample::ownCpuMs).toList()),
                    median(e.getValue().stream().map(Sample::childCpuMs).toList()));
        }
        return 0;
    }

    private static double median(List<Double> values) {
        return Summary.of(values).median();
    }

    /** {@code n} starts of {@code argv}, each waited for; CPU from /proc in 10 ms ticks, so {@code n} should be large. */
    static Sample measure(List<String> argv, int n) throws Exception {
        CpuTime before = CpuTime.self();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectErrorStream(true).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", argv) + " did not end within 30 s");
            }
        }
        long wallNanos = System.nanoTime() - t0;
        CpuTime after = CpuTime.self();
        long own = after.ownMillis() - before.ownMillis();
        long children = (after.withChildrenMillis() - after.ownMillis()) - (before.withChildrenMillis() - before.ownMillis());
        return new Sample(wallNanos / 1e6 / n, (double) own / n, (double) children / n);
    }
}
