package dev.conductor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A process's memory as Linux counts it, in KiB. {@code rss} is what the bar is about; {@code anon}
 * is the private part (heap, metaspace, stacks, JIT code); {@code pss} shares the JDK's mapped
 * files (libjvm, the CDS archive) fairly among the players on one host, so it is what N players
 * really cost together.
 */
record Memory(long pid, long rssKb, long anonKb, long pssKb) {
    static Memory of(long pid) throws IOException {
        List<String> status = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"));
        long pss = -1;
        Path rollup = Path.of("/proc", Long.toString(pid), "smaps_rollup");
        if (Files.isReadable(rollup)) {
            pss = field(Files.readAllLines(rollup), "Pss:");
        }
        return new Memory(pid, field(status, "VmRSS:"), field(status, "RssAnon:"), pss);
    }

    /** The KiB figure of a {@code Name:   1234 kB} line; -1 when the kernel does not report it. */
    private static long field(List<String> lines, String name) {
        for (String line : lines) {
            if (line.startsWith(name)) {
                String[] parts = line.substring(name.length()).trim().split("\\s+");
                return Long.parseLong(parts[0]);
            }
        }
        return -1;
    }
}
