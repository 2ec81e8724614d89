package dev.conductor.cli;

import dev.conductor.fixture.Backend;
import dev.conductor.fixture.Faults;
import dev.conductor.fixture.Fixture;
import dev.conductor.fixture.FixtureException;
import dev.conductor.fixture.FixtureSpec;
import dev.conductor.fixture.Launcher;
import dev.conductor.fixture.Node;
import dev.conductor.fixture.NodeStatus;
import dev.conductor.fixture.Privileges;
import dev.conductor.fixture.Subnet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code fixture}: stands up a local lab of N nodes with their own IPs as a directory tree, and
 * breaks it on demand. The tree's {@code control} scripts call the verbs below.
 */
@Command(name = "fixture", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpAutoWidth = true,
        description = {"A local lab of N nodes, each with its own IP address, exposed as a directory tree; "
                + "faults on demand. See docs/FIXTURE.md."},
        subcommands = {FixtureCommand.Create.class, FixtureCommand.Start.class, FixtureCommand.Stop.class,
                FixtureCommand.Restart.class, FixtureCommand.Status.class, FixtureCommand.Kill.class,
                FixtureCommand.Pause.class, FixtureCommand.Resume.class, FixtureCommand.Exec.class,
                FixtureCommand.Partition.class, FixtureCommand.Heal.class, FixtureCommand.Loss.class,
                FixtureCommand.Bandwidth.class, FixtureCommand.Latency.class, FixtureCommand.Destroy.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:refused or failed (the message says why)", "2:bad usage",
                "N:exec: the command's own exit code"})
public final class FixtureCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final Privileges privileges;
    private final Launcher launcher;

    public FixtureCommand() {
        this(Privileges.ofCurrentProcess(), Launcher.ofRunningJvm());
    }

    /** For tests: how privileged to believe this process is, and how the tree's scripts call back. */
    public FixtureCommand(Privileges privileges, Launcher launcher) {
        this.privileges = privileges;
        this.launcher = launcher;
    }

    public static void main(String[] args) {
        System.exit(commandLine(new FixtureCommand()).execute(args));
    }

    /** The configured command line, for main and for tests. */
    public static CommandLine commandLine(FixtureCommand command) {
        CommandLine cl = new CommandLine(command);
        // everything after "exec NODE" is the command to run, options included
        cl.getSubcommands().get("exec").setStopAtPositional(true);
        // "partition A,B -- C,D": the "--" separates the sides, it does not end options
        CommandLine partition = cl.getSubcommands().get("partition");
        partition.setEndOfOptionsDelimiter("--end-of-options");
        partition.setUnmatchedOptionsArePositionalParams(true);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof FixtureException) {
                line.getErr().println("fixture: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Options every verb on an existing fixture has. */
    abstract static class OnFixture implements Callable<Integer> {
        @CommandLine.ParentCommand
        FixtureCommand parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = {"-r", "--root"}, paramLabel = "DIR", defaultValue = ".",
                description = "the fixture's directory (default: the current one)")
        Path root;

        Fixture fixture() {
            return Fixture.open(root, parent.launcher);
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        /** The named nodes, or all of them when none is named. */
        List<Node> nodes(Fixture f, List<String> refs) {
            if (refs == null || refs.isEmpty()) {
                return f.nodes();
            }
            List<Node> nodes = new ArrayList<>();
            for (String ref : refs) {
                for (String one : ref.split(",")) {
                    if (!one.isBlank()) {
                        nodes.add(f.node(one));
                    }
                }
            }
            return nodes;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Writes the fixture's tree, makes its network (netns) and, with --with-player, starts a "
                    + "Conductor player in each node. The nodes' commands start with 'control start' (or --start)."})
    static final class Create implements Callable<Integer> {
        @CommandLine.ParentCommand
        FixtureCommand parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = {"-n", "--instances"}, required = true, paramLabel = "N", description = "how many nodes")
        int instances;

        @Option(names = "--name", defaultValue = "lab", paramLabel = "NAME",
                description = "the fixture's name: 1-11 lower-case letters and digits (default: ${DEFAULT-VALUE})")
        String name;

        @Option(names = {"-r", "--root"}, paramLabel = "DIR", description = "where to write the tree (default: ./NAME)")
        Path root;

        @Option(names = {"-b", "--backend"}, defaultValue = "netns", paramLabel = "netns|loopback",
                description = "netns (root: a namespace per node, real faults) or loopback (no root: 127.0.0.x, no "
                        + "network faults); default: ${DEFAULT-VALUE}")
        String backend;

        @Option(names = "--subnet", paramLabel = "CIDR",
                description = "addresses: .1 is the host's, nodes get .2, .3, ... (default: 10.77.0.0/24 for netns, "
                        + "127.0.0.0/24 for loopback)")
        String subnet;

        @Option(names = {"-p", "--app-port"}, defaultValue = "8080", paramLabel = "PORT",
                description = "the port of each node's service, its 'port' in config.json (default: ${DEFAULT-VALUE})")
        int appPort;

        @Option(names = {"-c", "--command"}, required = true, paramLabel = "CMD",
                description = "the node's service, run with /bin/sh -c in the node's directory; its config.json is at "
                        + "$" + Node.CONFIG_ENV)
        String command;

        @Option(names = "--with-player", description = "also start a Conductor player in each node and write "
                + "ROOT/conductor.cfg, a test any 'bin/conduct' can run")
        boolean withPlayer;

        @Option(names = "--player-port", defaultValue = "6970", paramLabel = "PORT",
                description = "the players' command port; results ports follow it (default: ${DEFAULT-VALUE})")
        int playerPort;

        @Option(names = "--start", description = "start every node's command once the fixture is made")
        boolean start;

        @Override
        public Integer call() {
            Backend b = Backend.parse(backend);
            Subnet net = subnet == null ? FixtureSpec.defaultSubnet(b) : Subnet.parse(subnet);
            Path dir = root == null ? Path.of(name == null ? "lab" : name) : root;
            FixtureSpec fs = new FixtureSpec(name, dir, b, net, instances, appPort, command, withPlayer, playerPort);
            Fixture f = Fixture.create(fs, parent.privileges, parent.launcher);
            if (start) {
                f.startAll();
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("fixture " + fs.name() + ": " + fs.instances() + " nodes (" + fs.backend().key() + ", "
                    + fs.subnet() + ") at " + fs.root());
            for (Node n : f.nodes()) {
                out.println("  " + n.shortName() + "  " + n.ip() + ":" + n.port() + "  " + n.dir());
            }
            out.println("control: " + fs.root().resolve("control") + " start|stop|status|destroy|...");
            if (withPlayer) {
                out.println("conductor test: bin/conduct " + fs.root().resolve("conductor.cfg"));
            }
            return 0;
        }
    }

    @Command(name = "start", description = "Starts the command of the named nodes (default: all).")
    static final class Start extends OnFixture {
        @Parameters(paramLabel = "NODE", arity = "0..*", description = "i001, 1 or an IP; comma lists allowed")
        List<String> refs;

        @Override
        public Integer call() {
            Fixture f = fixture();
            for (Node n : nodes(f, refs)) {
                if (refs == null && f.isRunning(n)) {
                    continue;
                }
                long pid = f.start(n);
                out().println(n.shortName() + " started, pid " + pid);
            }
            return 0;
        }
    }

    @Command(name = "stop", description = "TERM to every process of the nodes' commands, KILL after the grace.")
    static final class Stop extends OnFixture {
        @Parameters(paramLabel = "NODE", arity = "0..*")
        List<String> refs;

        @Option(names = {"-g", "--grace"}, defaultValue = "5", paramLabel = "SECONDS",
                description = "time between TERM and KILL (default: ${DEFAULT-VALUE})")
        double grace;

        @Override
        public Integer call() {
            Fixture f = fixture();
            for (Node n : nodes(f, refs)) {
                f.stop(n, Duration.ofMillis((long) (grace * 1000)));
                out().println(n.shortName() + " stopped");
            }
            return 0;
        }
    }

    @Command(name = "restart", description = "stop, then start.")
    static final class Restart extends OnFixture {
        @Parameters(paramLabel = "NODE", arity = "0..*")
        List<String> refs;

        @Option(names = {"-g", "--grace"}, defaultValue = "5", paramLabel = "SECONDS")
        double grace;

        @Override
        public Integer call() {
            Fixture f = fixture();
            for (Node n : nodes(f, refs)) {
                long pid = f.restart(n, Duration.ofMillis((long) (grace * 1000)));
                out().println(n.shortName() + " restarted, pid " + pid);
            }
            return 0;
        }
    }

    @Command(name = "status", description = "One line per node: running, paused, stopped or exited. Exit 0.")
    static final class Status extends OnFixture {
        @Parameters(paramLabel = "NODE", arity = "0..*")
        List<String> refs;

        @Override
        public Integer call() {
            Fixture f = fixture();
            for (Node n : nodes(f, refs)) {
                NodeStatus s = f.status(n);
                String player = f.spec().withPlayer() ? "  player " + f.playerStatus(n).describe() : "";
                out().printf("%s  %-15s %s%s%n", n.shortName(), n.ip(), s.describe(), player);
            }
            if (refs == null || refs.isEmpty()) {
                Faults faults = f.faults();
                if (!faults.isEmpty()) {
                    out().println("faults: " + describe(faults));
                }
            }
            return 0;
        }

        private static String describe(Faults f) {
            List<String> parts = new ArrayList<>();
            f.cuts().forEach(c -> parts.add("partition " + String.join(",", c.left()) + " -- " + String.join(",", c.right())));
            f.loss().forEach((n, p) -> parts.add("loss " + n + " " + p + "%"));
            f.bandwidth().forEach((n, r) -> parts.add("bandwidth " + n + " " + r));
            f.latency().forEach((n, d) -> parts.add("latency " + n + " " + d));
            return String.join("; ", parts);
        }
    }

    /** A verb applied to each named node (all when none is named), one line of output per node. */
    abstract static class OnEachNode extends OnFixture {
        @Parameters(paramLabel = "NODE", arity = "0..*")
        List<String> refs;

        /** Does it to one node; returns what to say after the node's name. */
        abstract String apply(Fixture f, Node n);

        @Override
        public Integer call() {
            Fixture f = fixture();
            for (Node n : nodes(f, refs)) {
                out().println(n.shortName() + " " + apply(f, n));
            }
            return 0;
        }
    }

    @Command(name = "kill", description = "KILL to every process of the nodes' commands.")
    static final class Kill extends OnEachNode {
        @Override
        String apply(Fixture f, Node n) {
            f.kill(n);
            return "killed";
        }
    }

    @Command(name = "pause", description = "STOP to every process of the nodes' commands (they freeze).")
    static final class Pause extends OnEachNode {
        @Override
        String apply(Fixture f, Node n) {
            f.pause(n);
            return "paused";
        }
    }

    @Command(name = "resume", description = "CONT to every process of the nodes' commands.")
    static final class Resume extends OnEachNode {
        @Override
        String apply(Fixture f, Node n) {
            f.resume(n);
            return "resumed";
        }
    }

    @Command(name = "exec", description = "Runs CMD inside the node (its namespaces, directory and variables); "
            + "exits with CMD's exit code.")
    static final class Exec extends OnFixture {
        @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
                description = "kill CMD after this long (default: ${DEFAULT-VALUE})")
        long timeout;

        @Parameters(index = "0", paramLabel = "NODE")
        String ref;

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = "the command and its arguments")
        List<String> command;

        @Override
        public Integer call() {
            Fixture f = fixture();
            return f.execInteractive(f.node(ref), command, Duration.ofSeconds(timeout));
        }
    }

    @Command(name = "partition", description = {"Drops every IPv4 packet between the two sides, both ways "
            + "(adds to partitions in force). 'partition A,B' alone cuts A,B off from all other nodes.",
            "The host's leg is never cut, so tests can still reach every node."})
    static final class Partition extends OnFixture {
        @Parameters(paramLabel = "SIDE", arity = "1..*", description = "A,B -- C,D  (or: A,B C,D)")
        List<String> args;

        @Override
        public Integer call() {
            List<String> left;
            List<String> right;
            int separator = args.indexOf("--");
            if (separator >= 0) {
                if (args.lastIndexOf("--") != separator) {
                    throw new FixtureException("a partition has two sides: use one '--'");
                }
                left = args.subList(0, separator);
                right = args.subList(separator + 1, args.size());
                if (right.isEmpty()) {
                    throw new FixtureException("nothing after '--': name the other side, or leave out '--' to cut the"
                            + " first side off from every other node");
                }
            } else if (args.size() <= 2) {
                left = args.subList(0, 1);
                right = args.subList(1, args.size());
            } else {
                throw new FixtureException("write a partition as 'A,B -- C,D' (comma lists, one '--')");
            }
            Fixture f = fixture();
            f.partition(left, right);
            out().println("partitioned " + String.join(",", left) + " -- "
                    + (right.isEmpty() ? "(every other node)" : String.join(",", right)));
            return 0;
        }
    }

    @Command(name = "heal", description = "Lifts every network fault: partitions, loss, bandwidth, latency.")
    static final class Heal extends OnFixture {
        @Override
        public Integer call() {
            fixture().heal();
            out().println("healed");
            return 0;
        }
    }

    @Command(name = "loss", description = "Drops PERCENT of the IPv4 packets into the node and, independently, out "
            + "of it. 0 lifts it.")
    static final class Loss extends OnFixture {
        @Parameters(index = "0", paramLabel = "NODE")
        String ref;

        @Parameters(index = "1", paramLabel = "PERCENT", description = "0..100, decimals allowed; a trailing % is fine")
        String percent;

        @Override
        public Integer call() {
            double p;
            try {
                p = Double.parseDouble(percent.strip().replaceFirst("%$", ""));
            } catch (NumberFormatException e) {
                throw new FixtureException("loss must be a percentage from 0 to 100, got '" + percent + "'");
            }
            Fixture f = fixture();
            Node n = f.node(ref);
            f.loss(n, p);
            out().println(n.shortName() + ": loss " + p + "% each way");
            return 0;
        }
    }

    /** A fault set on one node with one value; says what it set. */
    abstract static class OnOneNode extends OnFixture {
        @Parameters(index = "0", paramLabel = "NODE")
        String ref;

        /** Sets the fault; returns what to say after the node's name. */
        abstract String apply(Fixture f, Node n);

        @Override
        public Integer call() {
            Fixture f = fixture();
            Node n = f.node(ref);
            out().println(n.shortName() + ": " + apply(f, n));
            return 0;
        }
    }

    @Command(name = "bandwidth", description = "Limits the node's link to RATE each way (tc units: kbit, mbit, gbit; "
            + "kbps, mbps are bytes per second). 'off' lifts it.")
    static final class Bandwidth extends OnOneNode {
        @Parameters(index = "1", paramLabel = "RATE")
        String rate;

        @Override
        String apply(Fixture f, Node n) {
            f.bandwidth(n, rate);
            return "bandwidth " + rate;
        }
    }

    @Command(name = "latency", description = "Delays packets into the node by DELAY (e.g. 50ms). Needs the "
            + "kernel's netem; refused, changing nothing, when the kernel lacks it.")
    static final class Latency extends OnOneNode {
        @Parameters(index = "1", paramLabel = "DELAY")
        String delay;

        @Override
        String apply(Fixture f, Node n) {
            f.latency(n, delay);
            return "latency " + delay;
        }
    }

    @Command(name = "destroy", description = {"Ends every process of the fixture, removes every namespace and link "
            + "it made, then its tree.",
            "With --name and no tree: removes what a fixture of that name left behind (after a crash)."})
    static final class Destroy implements Callable<Integer> {
        @CommandLine.ParentCommand
        FixtureCommand parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = {"-r", "--root"}, paramLabel = "DIR", description = "the fixture's directory")
        Path root;

        @Option(names = "--name", paramLabel = "NAME", description = "destroy leftovers of the fixture of this name")
        String name;

        @Option(names = "--keep-tree", description = "keep the directory tree (logs, configs)")
        boolean keepTree;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Path dir = root != null ? root : name == null ? Path.of(".") : null;
            if (dir != null && (name == null || java.nio.file.Files.exists(dir.resolve("state.json")))) {
                Fixture f = Fixture.open(dir, parent.launcher);
                if (name != null && !name.equals(f.spec().name())) {
                    throw new FixtureException(dir.toAbsolutePath() + " holds fixture '" + f.spec().name()
                            + "', not '" + name + "'");
                }
                f.destroy(keepTree);
                out.println("fixture " + f.spec().name() + " destroyed" + (keepTree ? " (tree kept at " + f.root() + ")" : ""));
                return 0;
            }
            List<String> problems = Fixture.destroyLeftovers(name, parent.privileges);
            if (!problems.isEmpty()) {
                throw new FixtureException("leftovers of fixture '" + name + "' remain:\n  " + String.join("\n  ", problems));
            }
            out.println("no leftovers of fixture " + name + " remain");
            return 0;
        }
    }
}
