package dev.conductor.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs our main classes in JVMs of their own, with the test's own java and class path. */
final class Jvm {
    private Jvm() {
    }

    static List<String> command(String mainClass) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ArrayList<>(List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), mainClass));
    }

    /** Output and exit code of a finished command. */
    record Result(int exitCode, String stdout, String stderr) {
    }

    /** Runs a main class to completion within {@code seconds}; kills it and fails otherwise. */
    static Result run(String mainClass, long seconds, String... args) throws IOException, InterruptedException {
        List<String> argv = command(mainClass);
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).start();
        var out = p.getInputStream();
        var err = p.getErrorStream();
        var outText = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(out));
        var errText = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(err));
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(mainClass + " " + String.join(" ", args) + " did not finish within " + seconds + " s");
        }
        return new Result(p.exitValue(), outText.join(), errText.join());
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
