package dev.conductor.config;

import dev.conductor.config.ConfigException.Kind;
import dev.conductor.config.ConfigException.Problem;
import dev.conductor.config.IniFile.Entry;
import dev.conductor.config.IniFile.Section;
import dev.conductor.plan.Coordinator;
import dev.conductor.plan.OnFailure;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.plan.TestPlan;
import dev.conductor.plan.Worker;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a test file and its worker files into a {@link TestPlan}, checking everything before
 * anything runs. Every problem found is collected, across all files, so one run of
 * {@code conduct} shows the user every mistake at once instead of one per attempt.
 *
 * <p>Where this deliberately differs from the reference (see docs/CONFIG.md): {@code [DEFAULT]}
 * keys are interpolation variables, never steps or workers; worker files are found relative to
 * the test file, not the current directory; a missing phase section is an empty phase.
 */
public final class PlanLoader {

    private static final String TEST = "Test";
    private static final String WORKERS = "Workers";
    /** The reference's older name for {@code [Workers]}, still found in users' files. */
    private static final String CLIENTS = "Clients";
    private static final String COORDINATOR = "Coordinator";

    private static final long MIB = 1024L * 1024L;
    /** The wire's length header is 4 unsigned bytes; no limit above that can ever be reached. */
    private static final long MAX_FRAME_BYTES = 0xFFFF_FFFFL;

    /** {@code timeoutN:} at the start of a value; what follows {@code timeout} is checked separately. */
    private static final Pattern TIMEOUT_PREFIX = Pattern.compile("^timeout([^\\s:]*):");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?");

    private PlanLoader() {
    }

    /**
     * Reads a test file and every worker file it names.
     *
     * @throws ConfigException listing every problem found, each as {@code file:line: problem}
     */
    public static TestPlan load(Path testFile) throws ConfigException {
        IniFile ini = IniFile.read(testFile);
        Problems problems = new Problems();
        String file = ini.name();
        Path folder = folderOf(testFile);

        for (Section section : ini.sections()) {
            if (!Set.of(TEST, WORKERS, CLIENTS).contains(section.name())) {
                problems.add(file, section.line(), "unknown section " + quote(section.name())
                        + " (expected Test, Workers)" + caseHint(section.name(), TEST, WORKERS));
            }
        }

        int trials = setting(ini, TEST, "trials", problems)
                .flatMap(s -> wholeNumber(s, "trials", 1, Integer.MAX_VALUE, file, problems))
                .orElse(1);
        Optional<String> format = setting(ini, TEST, "format", problems)
                .flatMap(s -> choice(s, "format", List.of("text", "json", "tap", "tap13", "junit"), file, problems));
        Optional<Path> output = setting(ini, TEST, "output", problems)
                .flatMap(s -> outputPath(s, folder, file, problems));
        Optional<Long> maxMessageSize = setting(ini, TEST, "max_message_size", problems)
                .flatMap(s -> megabytes(s, file, problems)).map(Long::valueOf);
        OnFailure onFailure = setting(ini, TEST, "on_failure", problems)
                .flatMap(s -> choice(s, "on_failure", List.of("stop", "continue"), file, problems))
                .map(s -> OnFailure.valueOf(s.toUpperCase(Locale.ROOT)))
                .orElse(OnFailure.STOP);

        List<Loaded> loaded = new ArrayList<>();
        for (WorkerRef ref : workerRefs(ini, folder, problems)) {
            IniFile workerIni;
            try {
                workerIni = IniFile.read(ref.file());
            } catch (ConfigException e) {
                if (e.kind() == Kind.UNREADABLE && e.line() == 0) {
                    problems.add(file, ref.line(), "worker " + quote(ref.name()) + ": cannot read worker file "
                            + ref.file() + ": " + e.problems().get(0).message());
                } else {
                    problems.addAll(e);
                }
                continue;
            }
            worker(ref.name(), ref.file(), workerIni, problems).ifPresent(loaded::add);
        }
        checkClashes(loaded, problems);
        problems.throwIfAny();
        return new TestPlan(testFile, trials, format, output, maxMessageSize, onFailure,
                loaded.stream().map(Loaded::worker).toList());
    }

    /**
     * Reads one worker file on its own; the player uses this to find where it listens.
     *
     * @param name the worker's name, as its key in {@code [Workers]}
     * @throws ConfigException listing every problem found in the file
     */
    public static Worker loadWorker(String name, Path workerFile) throws ConfigException {
        Problems problems = new Problems();
        Optional<Loaded> loaded = worker(name, workerFile, IniFile.read(workerFile), problems);
        problems.throwIfAny();
        return loaded.orElseThrow().worker();
    }

    // ---- test file --------------------------------------------------------------------------

    private record WorkerRef(String name, Path file, int line) {
    }

    private static List<WorkerRef> workerRefs(IniFile ini, Path folder, Problems problems) {
        String file = ini.name();
        Optional<Section> workers = ini.section(WORKERS);
        Optional<Section> clients = ini.section(CLIENTS);
        if (workers.isPresent() && clients.isPresent()) {
            problems.add(file, clients.get().line(), "[Clients] is the old name of [Workers]; use one of"
                    + " them, not both (the workers are read from neither)");
            return List.of();
        }
        Optional<Section> section = workers.or(() -> clients);
        if (section.isEmpty()) {
            problems.add(file, 0, "no [Workers] section; list each worker in it as 'name = worker file'");
            return List.of();
        }
        if (section.get().entries().isEmpty()) {
            problems.add(file, section.get().line(), "[" + section.get().name() + "] lists no workers;"
                    + " add one per line as 'name = worker file'");
            return List.of();
        }
        List<WorkerRef> refs = new ArrayList<>();
        // only the section's own keys: a [DEFAULT] key is a variable, not one more worker
        for (Entry entry : section.get().entries().values()) {
            String name = entry.key();
            Optional<Setting> value = setting(ini, section.get().name(), name, problems);
            if (value.isEmpty()) {
                continue;
            }
            if (value.get().text().isEmpty()) {
                problems.add(file, entry.line(), "worker " + quote(name) + " names no worker file");
                continue;
            }
            Path resolved;
            try {
                resolved = folder.resolve(value.get().text()).normalize();
            } catch (InvalidPathException e) {
                problems.add(file, entry.line(), "worker " + quote(name) + ": " + quote(value.get().text())
                        + " is not a valid path");
                continue;
            }
            if (!Files.isRegularFile(resolved)) {
                problems.add(file, entry.line(), "worker " + quote(name) + ": worker file " + resolved
                        + (Files.exists(resolved) ? " is not a file" : " does not exist")
                        + " (paths are relative to the test file's folder)"
                        + inlineCommentHint(value.get().text()));
                continue;
            }
            refs.add(new WorkerRef(name, resolved, entry.line()));
        }
        return refs;
    }

    private static Path folderOf(Path testFile) {
        Path parent = testFile.getParent();
        return parent != null ? parent : Path.of("");
    }

    private static Optional<Path> outputPath(Setting s, Path folder, String file, Problems problems) {
        if (s.text().isEmpty()) {
            problems.add(file, s.line(), "output is empty; name a file, or remove the key to print the report");
            return Optional.empty();
        }
        try {
            return Optional.of(folder.resolve(s.text()).normalize());
        } catch (InvalidPathException e) {
            problems.add(file, s.line(), "output " + quote(s.text()) + " is not a valid path");
            return Optional.empty();
        }
    }

    // ---- worker file ------------------------------------------------------------------------

    /** A worker and where its ports were set, to point at them when two workers clash. */
    private record Loaded(Worker worker, String file, int cmdportLine, int resultsportLine) {
    }

    /** Empty when the file has problems (they are in {@code problems}). */
    private static Optional<Loaded> worker(String name, Path path, IniFile ini, Problems problems) {
        String file = ini.name();
        int before = problems.size();
        for (Section section : ini.sections()) {
            if (!section.name().equals(COORDINATOR) && phaseOf(section.name()).isEmpty()) {
                problems.add(file, section.line(), unknownPhase(section.name()));
            }
        }

        Optional<Section> coordinatorSection = ini.section(COORDINATOR);
        Coordinator coordinator = null;
        int cmdportLine = 0;
        int resultsportLine = 0;
        if (coordinatorSection.isEmpty()) {
            problems.add(file, 0, "no [Coordinator] section; it sets player, conductor, cmdport and resultsport");
        } else {
            int header = coordinatorSection.get().line();
            Optional<String> player = required(ini, "player", "the address the player listens on", header, problems)
                    .flatMap(s -> address(s, "player", file, problems));
            Optional<String> conductor = required(ini, "conductor", "the address results are sent to", header,
                    problems).flatMap(s -> address(s, "conductor", file, problems));
            Optional<Setting> cmdportSetting = required(ini, "cmdport", "the player's command port, 1-65535",
                    header, problems);
            Optional<Integer> cmdport = cmdportSetting.flatMap(s -> port(s, "cmdport", file, problems));
            Optional<Setting> resultsportSetting = required(ini, "resultsport",
                    "the conductor's port for this worker's results, 1-65535", header, problems);
            Optional<Integer> resultsport = resultsportSetting.flatMap(s -> port(s, "resultsport", file, problems));
            Optional<Setting> maxSetting = setting(ini, COORDINATOR, "max_message_size", problems);
            Optional<Long> max = maxSetting.flatMap(s -> megabytes(s, file, problems));
            if (player.isPresent() && conductor.isPresent() && cmdport.isPresent() && resultsport.isPresent()
                    && (maxSetting.isEmpty() || max.isPresent())) {
                coordinator = new Coordinator(player.get(), conductor.get(), cmdport.get(), resultsport.get(),
                        max.map(OptionalLong::of).orElse(OptionalLong.empty()));
                cmdportLine = cmdportSetting.get().line();
                resultsportLine = resultsportSetting.get().line();
                if (player.get().equalsIgnoreCase(conductor.get()) && cmdport.get().equals(resultsport.get())) {
                    problems.add(file, resultsportLine, "cmdport and resultsport are both " + cmdport.get()
                            + " on " + player.get() + "; the player and the conductor cannot both listen there");
                }
            }
        }

        Map<Phase, List<Step>> phases = new EnumMap<>(Phase.class);
        for (Phase phase : Phase.values()) {
            List<Step> steps = new ArrayList<>();
            Optional<Section> section = ini.section(phase.section());
            if (section.isPresent()) {
                // own keys only: the reference also runs [DEFAULT]'s keys as steps of every phase
                for (Entry entry : section.get().entries().values()) {
                    setting(ini, phase.section(), entry.key(), problems)
                            .flatMap(value -> step(entry.key(), value, phase, file, problems))
                            .ifPresent(steps::add);
                }
            }
            phases.put(phase, steps);
        }

        checkTargets(phases, file, problems);
        if (problems.size() > before || coordinator == null) {
            return Optional.empty();
        }
        return Optional.of(new Loaded(new Worker(name, path, coordinator, phases), file, cmdportLine,
                resultsportLine));
    }

    /** A step that acts on a spawned step must name one that comes before it (in any earlier phase). */
    private static void checkTargets(Map<Phase, List<Step>> phases, String file, Problems problems) {
        java.util.Set<String> spawned = new java.util.HashSet<>();
        for (Phase phase : Phase.values()) {
            for (Step step : phases.get(phase)) {
                String target = switch (step) {
                    case Step.Expect e -> e.target();
                    case Step.Send e -> e.target();
                    case Step.Close e -> e.target();
                    case Step.Signal e -> e.target();
                    case Step.Terminate e -> e.target();
                    case Step.Wait e -> e.target();
                    default -> null;
                };
                if (target != null && (target.equals("-") ? spawned.isEmpty() : !spawned.contains(target))) {
                    problems.add(file, step.line(), "step " + quote(step.key()) + " in [" + phase.section() + "] acts on "
                            + (target.equals("-") ? "the latest spawned step, but no step is spawned before it"
                            : "'" + target + "', which is not a spawned step before it"
                            + (spawned.isEmpty() ? "" : " (spawned before it: " + String.join(", ", new java.util.TreeSet<>(spawned)) + ")")));
                }
                if (step instanceof Step.Command c && c.spawn()) {
                    spawned.add(c.key());
                }
            }
        }
    }

    private static Optional<Phase> phaseOf(String sectionName) {
        // exact, as the reference looks sections up: [run] is not [Run]
        return Arrays.stream(Phase.values()).filter(p -> p.section().equals(sectionName)).findFirst();
    }

    private static String unknownPhase(String sectionName) {
        String message = "unknown phase " + quote(sectionName) + " (expected Startup, Run, Collect, Reset)";
        if (sectionName.equals("Master")) {
            return message + "; [Master] is the old name of [Coordinator]: rename it";
        }
        List<String> known = new ArrayList<>(List.of(COORDINATOR));
        Arrays.stream(Phase.values()).map(Phase::section).forEach(known::add);
        return message + caseHint(sectionName, known.toArray(String[]::new));
    }

    /**
     * One step. The mode comes from the key ({@code spawn...}, {@code timeoutN}) or from a
     * prefix of the value ({@code spawn:}, {@code timeoutN:}), which is stripped, exactly as
     * the reference sends it on the wire.
     */
    private static Optional<Step> step(String key, Setting value, Phase phase, String file, Problems problems) {
        String where = "step " + quote(key) + " in [" + phase.section() + "]";
        Optional<String> coordination = CoordinationSteps.prefixOf(value.text());
        if (coordination.isPresent()) {
            if (key.startsWith("spawn") || key.startsWith("timeout")) {
                problems.add(file, value.line(), where + ": a '" + coordination.get() + "' step cannot also be a "
                        + (key.startsWith("spawn") ? "spawn" : "timeout") + " step; give it another key");
                return Optional.empty();
            }
            try {
                return Optional.of(CoordinationSteps.parse(key, value.line(), coordination.get(),
                        value.text().substring(coordination.get().length())));
            } catch (CoordinationSteps.Bad e) {
                problems.add(file, value.line(), where + ": " + e.getMessage());
                return Optional.empty();
            }
        }
        Step.Mode keyMode = Step.Mode.NORMAL;
        long keySeconds = 0;
        if (key.startsWith("spawn")) {
            keyMode = Step.Mode.SPAWN;
        } else if (key.startsWith("timeout")) {
            OptionalLong seconds = seconds(key.substring("timeout".length()));
            if (seconds.isEmpty()) {
                problems.add(file, value.line(), where + ": a key starting with 'timeout' must end in the limit"
                        + " in whole seconds, at least 1 (e.g. timeout10)");
                return Optional.empty();
            }
            keyMode = Step.Mode.TIMEOUT;
            keySeconds = seconds.getAsLong();
        }

        String command = value.text();
        Step.Mode valueMode = Step.Mode.NORMAL;
        long valueSeconds = 0;
        Matcher timeout = TIMEOUT_PREFIX.matcher(command);
        if (command.startsWith("spawn:")) {
            valueMode = Step.Mode.SPAWN;
            command = command.substring("spawn:".length());
        } else if (timeout.find()) {
            OptionalLong seconds = seconds(timeout.group(1));
            if (seconds.isEmpty()) {
                problems.add(file, value.line(), where + ": " + quote(timeout.group()) + " must be 'timeout'"
                        + " followed by the limit in whole seconds, at least 1, and ':' (e.g. timeout10:sleep 5)");
                return Optional.empty();
            }
            valueMode = Step.Mode.TIMEOUT;
            valueSeconds = seconds.getAsLong();
            command = command.substring(timeout.end());
        }

        if (keyMode != Step.Mode.NORMAL && valueMode != Step.Mode.NORMAL
                && (keyMode != valueMode || keySeconds != valueSeconds)) {
            problems.add(file, value.line(), where + ": its key makes it a " + describe(keyMode, keySeconds)
                    + " step but its value starts with a prefix for a " + describe(valueMode, valueSeconds)
                    + " step; use one or the other");
            return Optional.empty();
        }
        command = PythonText.strip(command);
        if (command.isEmpty()) {
            problems.add(file, value.line(), where + " has no command");
            return Optional.empty();
        }
        Step.Mode mode = keyMode != Step.Mode.NORMAL ? keyMode : valueMode;
        long seconds = keyMode != Step.Mode.NORMAL ? keySeconds : valueSeconds;
        Duration limit = mode == Step.Mode.TIMEOUT ? Duration.ofSeconds(seconds) : Step.DEFAULT_LIMIT;
        return Optional.of(new Step.Command(key, value.line(), command, mode, limit));
    }

    private static String describe(Step.Mode mode, long seconds) {
        return mode == Step.Mode.TIMEOUT ? "timeout " + seconds + " s" : mode.key();
    }

    /** Whole seconds, 1 up to what the wire's int field can carry. */
    private static OptionalLong seconds(String digits) {
        if (!WHOLE_NUMBER.matcher(digits).matches()) {
            return OptionalLong.empty();
        }
        try {
            int n = Integer.parseInt(digits);
            return n >= 1 ? OptionalLong.of(n) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    // ---- clashes between workers --------------------------------------------------------------

    private record Endpoint(String host, int port) {
        static Endpoint of(String host, int port) {
            return new Endpoint(host.toLowerCase(Locale.ROOT), port);
        }
    }

    private static void checkClashes(List<Loaded> workers, Problems problems) {
        Map<Endpoint, Loaded> results = new HashMap<>();
        Map<Endpoint, Loaded> commands = new HashMap<>();
        for (Loaded w : workers) {
            Coordinator c = w.worker().coordinator();
            Loaded first = results.putIfAbsent(Endpoint.of(c.conductor(), c.resultsport()), w);
            if (first != null) {
                problems.add(w.file(), w.resultsportLine(), "worker " + quote(w.worker().name())
                        + " sends its results to " + c.conductor() + " port " + c.resultsport() + " like worker "
                        + quote(first.worker().name()) + " (" + first.file() + ":" + first.resultsportLine()
                        + "); the conductor could not tell their results apart: give each worker its own"
                        + " resultsport");
            }
            first = commands.putIfAbsent(Endpoint.of(c.player(), c.cmdport()), w);
            if (first != null) {
                problems.add(w.file(), w.cmdportLine(), "worker " + quote(w.worker().name())
                        + " has the same player and cmdport (" + c.player() + " port " + c.cmdport()
                        + ") as worker " + quote(first.worker().name()) + " (" + first.file() + ":"
                        + first.cmdportLine() + "); two players cannot listen on one port: give each"
                        + " worker its own cmdport");
            }
        }
    }

    // ---- values -------------------------------------------------------------------------------

    /** A value after interpolation and the line of its key. */
    private record Setting(String text, int line) {
    }

    /**
     * A key of a section (or of [DEFAULT], as configparser looks keys up), interpolated. Empty
     * when it is absent or cannot be interpolated; the latter is recorded as a problem.
     */
    private static Optional<Setting> setting(IniFile ini, String section, String key, Problems problems) {
        Optional<Entry> entry = ini.raw(section, key);
        if (entry.isEmpty()) {
            return Optional.empty();
        }
        try {
            return ini.get(section, key).map(text -> new Setting(text, entry.get().line()));
        } catch (ConfigException e) {
            problems.addAll(e);
            return Optional.empty();
        }
    }

    private static Optional<Setting> required(IniFile ini, String key, String what, int headerLine,
                                              Problems problems) {
        if (ini.raw(COORDINATOR, key).isEmpty()) {
            problems.add(ini.name(), headerLine, "[Coordinator] has no " + quote(key) + " (" + what + ")");
            return Optional.empty();
        }
        return setting(ini, COORDINATOR, key, problems);
    }

    private static Optional<String> address(Setting s, String key, String file, Problems problems) {
        String text = s.text();
        if (text.isEmpty()) {
            problems.add(file, s.line(), key + " is empty; give a host name or an IP address");
            return Optional.empty();
        }
        if (text.codePoints().anyMatch(PythonText::isSpace)) {
            problems.add(file, s.line(), key + " " + quote(text) + " is not a host name or IP address"
                    + inlineCommentHint(text));
            return Optional.empty();
        }
        return Optional.of(text);
    }

    private static Optional<Integer> port(Setting s, String key, String file, Problems problems) {
        return wholeNumber(s, key, 1, 65535, file, problems);
    }

    private static Optional<Integer> wholeNumber(Setting s, String key, int min, int max, String file,
                                                 Problems problems) {
        String text = PythonText.strip(s.text());
        if (WHOLE_NUMBER.matcher(text).matches()) {
            BigDecimal n = new BigDecimal(text);
            if (n.compareTo(BigDecimal.valueOf(min)) >= 0 && n.compareTo(BigDecimal.valueOf(max)) <= 0) {
                return Optional.of(n.intValueExact());
            }
        }
        String range = max == Integer.MAX_VALUE ? "at least " + min : min + "-" + max;
        problems.add(file, s.line(), key + " must be a whole number, " + range + ", not " + quote(s.text())
                + inlineCommentHint(s.text()));
        return Optional.empty();
    }

    private static Optional<String> choice(Setting s, String key, List<String> allowed, String file,
                                           Problems problems) {
        String text = PythonText.lower(PythonText.strip(s.text()));
        if (allowed.contains(text)) {
            return Optional.of(text);
        }
        problems.add(file, s.line(), key + " must be " + (allowed.size() <= 2 ? String.join(" or ", allowed)
                : String.join(", ", allowed.subList(0, allowed.size() - 1)) + " or " + allowed.getLast()) + ", not " + quote(s.text())
                + inlineCommentHint(s.text()));
        return Optional.empty();
    }

    /** Megabytes (MiB, as the reference's limit) to bytes; fractions are allowed, rounded down. */
    private static Optional<Long> megabytes(Setting s, String file, Problems problems) {
        String text = PythonText.strip(s.text());
        if (DECIMAL.matcher(text).matches()) {
            long bytes = new BigDecimal(text).multiply(BigDecimal.valueOf(MIB))
                    .setScale(0, RoundingMode.FLOOR).min(BigDecimal.valueOf(Long.MAX_VALUE)).longValueExact();
            if (bytes < 1) {
                problems.add(file, s.line(), "max_message_size must be more than 0 megabytes, not " + quote(s.text()));
                return Optional.empty();
            }
            if (bytes > MAX_FRAME_BYTES) {
                problems.add(file, s.line(), "max_message_size " + quote(s.text()) + " is larger than a frame"
                        + " can be (4 GiB less one byte, about 4095 megabytes)");
                return Optional.empty();
            }
            return Optional.of(bytes);
        }
        problems.add(file, s.line(), "max_message_size must be a positive number of megabytes (e.g. 10), not "
                + quote(s.text()) + inlineCommentHint(s.text()));
        return Optional.empty();
    }

    // ---- messages -----------------------------------------------------------------------------

    private static String quote(String text) {
        return PythonText.repr(text);
    }

    /** configparser only knows whole-line comments; users often expect inline ones to work. */
    private static String inlineCommentHint(String value) {
        return value.contains(" #") || value.contains("\t#") || value.contains(" ;") || value.contains("\t;")
                ? " ('#' and ';' start a comment only at the start of a line; after a value they are part of it)"
                : "";
    }

    private static String caseHint(String name, String... known) {
        return Arrays.stream(known).filter(k -> k.equalsIgnoreCase(name) && !k.equals(name)).findFirst()
                .map(k -> "; section names are case-sensitive: did you mean [" + k + "]?").orElse("");
    }

    /** Problems found across the test file and all worker files. */
    private static final class Problems {
        private final List<Problem> list = new ArrayList<>();

        void add(String file, int line, String message) {
            list.add(new Problem(Kind.INVALID, file, line, message));
        }

        void addAll(ConfigException e) {
            list.addAll(e.problems());
        }

        int size() {
            return list.size();
        }

        /** Grouped by file in the order the files were first mentioned, by line within a file. */
        void throwIfAny() throws ConfigException {
            if (list.isEmpty()) {
                return;
            }
            Map<String, Integer> fileOrder = new HashMap<>();
            list.forEach(p -> fileOrder.putIfAbsent(p.file(), fileOrder.size()));
            List<Problem> sorted = new ArrayList<>(list);
            sorted.sort(Comparator.comparing((Problem p) -> fileOrder.get(p.file())).thenComparingInt(Problem::line));
            throw new ConfigException(sorted);
        }

        @Override
        public String toString() {
            return list.stream().map(Problem::toString).collect(Collectors.joining("\n"));
        }
    }
}
