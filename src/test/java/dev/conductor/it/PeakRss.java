package dev.conductor.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Watches one process's resident memory until closed: every 100 ms it reads {@code VmHWM} (the
 * kernel's own high-water mark, so a peak between two reads is not missed) and {@code VmRSS}
 * from {@code /proc/<pid>/status}. The last read is at most 100 ms before the process exits.
 */
final class PeakRss implements AutoCloseable {
    private static final Duration EVERY = Duration.ofMillis(100);

    private final long pid;
    private final Thread poller;
    private volatile long peakKb = -1;
    private volatile long heapAtPeak;
    private volatile boolean closed;

    private PeakRss(long pid) {
        this.pid = pid;
        this.poller = Thread.ofPlatform().daemon().name("peak-rss-" + pid).unstarted(this::poll);
    }

    static PeakRss of(long pid) {
        PeakRss w = new PeakRss(pid);
        w.sample();
        w.poller.start();
        return w;
    }

    private void poll() {
        while (!closed && sample()) {
            try {
                Thread.sleep(EVERY);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Reads the counters once; false once the process is gone (or a zombie, whose counters are gone). */
    synchronized boolean sample() {
        try {
            long hwm = -1;
            long rss = -1;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmHWM:")) {
                    hwm = kb(line);
                } else if (line.startsWith("VmRSS:")) {
                    rss = kb(line);
                }
            }
            long seen = Math.max(hwm, rss);
            if (seen < 0) {
                return false;
            }
            peakKb = Math.max(peakKb, seen);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static long kb(String line) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim().split("\\s+")[0]);
    }

    /** The highest resident size seen, in bytes; -1 if the process was never seen. */
    long peakBytes() {
        return peakKb < 0 ? -1 : peakKb * 1024;
    }

    @Override
    public void close() {
        closed = true;
        poller.interrupt();
        try {
            poller.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
