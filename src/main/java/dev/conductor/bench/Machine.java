package dev.conductor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the numbers were taken: they mean little without it. */
record Machine(int cpus, String cpuModel, long memoryMb, String os, String java) {
    static Machine here() {
        return new Machine(Runtime.getRuntime().availableProcessors(), procField("/proc/cpuinfo", "model name"),
                memTotalMb(), System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"),
                System.getProperty("java.vm.name") + " " + Runtime.version());
    }

    String describe() {
        return cpus + " CPUs (" + cpuModel + "), " + memoryMb + " MB RAM, " + os + ", " + java;
    }

    private static long memTotalMb() {
        String kb = procField("/proc/meminfo", "MemTotal").replaceAll("\\D", "");
        return kb.isEmpty() ? -1 : Long.parseLong(kb) / 1024;
    }

    private static String procField(String file, String name) {
        try {
            List<String> lines = Files.readAllLines(Path.of(file));
            for (String line : lines) {
                if (line.startsWith(name)) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            return "?";
        }
        return "?";
    }
}
