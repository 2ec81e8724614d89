package dev.conductor.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a test file and its worker files into a folder, each worker on free loopback ports.
 * Worker sections are given as raw INI text so tests read like the files users write.
 */
public final class Lab {
    private final Path dir;
    private final Map<String, Path> workers = new LinkedHashMap<>();
    private final Map<String, int[]> ports = new LinkedHashMap<>();
    private final List<String> testLines = new ArrayList<>();

    Lab(Path dir) {
        this.dir = dir;
    }

    Lab test(String... lines) {
        testLines.addAll(List.of(lines));
        return this;
    }

    /** Adds a worker whose phases are {@code sections} (e.g. "[Run]\nstep1: true"). */
    Lab worker(String name, String sections) throws IOException {
        int cmd = freePort();
        int res = freePort();
        Path file = dir.resolve(name + ".cfg");
        Files.writeString(file, "[Coordinator]\nplayer: 127.0.0.1\nconductor: 127.0.0.1\ncmdport: " + cmd
                + "\nresultsport: " + res + "\n\n" + sections + "\n");
        workers.put(name, file);
        ports.put(name, new int[]{cmd, res});
        return this;
    }

    Path write() throws IOException {
        StringBuilder b = new StringBuilder("[Test]\n");
        testLines.forEach(l -> b.append(l).append('\n'));
        b.append("\n[Workers]\n");
        workers.forEach((name, file) -> b.append(name).append(": ").append(file.getFileName()).append('\n'));
        Path test = dir.resolve("test.cfg");
        Files.writeString(test, b.toString());
        return test;
    }

    Path workerFile(String name) {
        return workers.get(name);
    }

    int cmdport(String name) {
        return ports.get(name)[0];
    }

    /** Ports handed out in this JVM: the kernel may offer a port again once its probe socket closed. */
    private static final java.util.Set<Integer> GIVEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A free port never handed out before in this JVM (other test packages use it too). */
    public static int freePort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket s = new ServerSocket(0)) {
                if (GIVEN.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
        throw new IOException("no new free port after 100 attempts");
    }
}
