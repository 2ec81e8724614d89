package dev.conductor.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Finds processes by a marker in their command line, to prove none was left behind. */
public final class Processes {
    private Processes() {
    }

    /** Unique argument for {@code sleep} so a test can find its own sleepers: e.g. 777.123. */
    public static String marker() {
        return (700 + (int) (Math.random() * 200)) + "." + (100000 + (int) (Math.random() * 899999));
    }

    public static List<Long> withArgument(String marker) {
        List<Long> found = new ArrayList<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    String stat = Files.readString(d.resolve("stat"));
                    boolean zombie = stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
                    if (!zombie && cmd.contains(marker) && !cmd.contains("java")) {
                        found.add(Long.parseLong(name));
                    }
                } catch (IOException | RuntimeException ignored) {
                    // The process ended while we looked.
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return found;
    }

    public static void killAll(String marker) {
        withArgument(marker).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
}
