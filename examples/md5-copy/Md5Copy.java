import dev.conductor.scenario.Outcome;
import dev.conductor.scenario.Scenario;
import dev.conductor.scenario.ScenarioResult;
import dev.conductor.scenario.Script;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;

/**
 * The md5-copy test of test.cfg, as a Java scenario: host A makes a file, computes its md5 and
 * says so at barrier md5done; the conductor gets the file and the sum from A; B receives the
 * file, computes its own md5, and the sums of A, B and the conductor are compared.
 *
 * <pre>
 *   bin/scenario examples/md5-copy/Md5Copy.java                      # two players started in-process
 *   bin/scenario examples/md5-copy/Md5Copy.java HOST_A:PORT HOST_B:PORT   # players already running there
 * </pre>
 * The exit code is conduct's: 0 passed, 1 a step failed, 3 a player was lost.
 */
public class Md5Copy {
    public static void main(String[] args) throws Exception {
        Script a = t -> {
            t.run("mkdir -p md5-copy-a && head -c 5000000 /dev/urandom > md5-copy-a/file.bin"
                    + " && md5sum < md5-copy-a/file.bin | cut -d' ' -f1 > md5-copy-a/file.md5 && cat md5-copy-a/file.md5");
            t.get("md5-copy-a/file.bin", "file.bin");
            t.get("md5-copy-a/file.md5", "file.md5");
            t.barrier("md5done", Duration.ofSeconds(60));
            t.run("rm -rf md5-copy-a");
        };
        Script b = t -> {
            t.barrier("md5done", Duration.ofSeconds(60));
            // What the conductor fetched from A in this run, sent on to B.
            t.put("results:a/file.bin", "md5-copy-b/file.bin");
            Outcome mine = t.run("md5sum < md5-copy-b/file.bin | cut -d' ' -f1");
            Path fromA = t.files().orElseThrow().resolveSibling("a");
            String theirs = Files.readString(fromA.resolve("file.md5")).strip();
            String conductors = HexFormat.of().formatHex(
                    MessageDigest.getInstance("MD5").digest(Files.readAllBytes(fromA.resolve("file.bin"))));
            t.check("md5 of A and B agree (" + theirs + ")", () -> mine.stdout().strip().equals(theirs));
            t.check("the conductor's md5 of the copy agrees", () -> conductors.equals(theirs));
            t.run("rm -rf md5-copy-b");
        };
        Scenario.Builder s = Scenario.named("md5-copy");
        if (args.length == 2) {
            try {
                s.tester("a", args[0], a).tester("b", args[1], b);
            } catch (IllegalArgumentException e) {
                System.err.println("md5-copy: " + e.getMessage());
                System.exit(2);
            }
        } else if (args.length == 0) {
            s.localTester("a", a).localTester("b", b);
        } else {
            System.err.println("usage: bin/scenario examples/md5-copy/Md5Copy.java [HOST_A:PORT HOST_B:PORT]");
            System.exit(2);
        }
        ScenarioResult r = s.run();
        System.out.print(r.summary());
        System.exit(r.exitCode());
    }
}
