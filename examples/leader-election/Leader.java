import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small leader election service for Conductor's fixture example. Run it in every node of a
 * fixture: {@code java Leader.java} (it reads $CONDUCTOR_NODE_CONFIG).
 *
 * <p>Every node heartbeats every peer over HTTP (TCP) at self:port every 200 ms. A heartbeat
 * is a vote request: the peer answers with whom it votes for. A node votes for the lowest IP
 * among the nodes it heard from in the last second, itself included, but only when those are a
 * majority of all nodes. A vote is a lease: a node that said "I vote for X" to X will not vote
 * for anyone else for LEASE afterwards. X counts that vote as valid for LEASE minus a margin,
 * measured from before it asked. A node is leader while it holds valid votes of a majority
 * (its own included).
 *
 * <p>What that guarantees, with all nodes on one machine (one monotonic clock):
 * <ul>
 * <li>At no instant do two nodes claim leadership: two majorities share a voter, and that voter
 *     cannot have granted both leases at once.</li>
 * <li>A node that cannot reach a majority (the minority side of a partition) never claims
 *     leadership once its last leases have run out (at most LEASE after the cut).</li>
 * <li>When the leader dies or is cut off, the majority side elects a new leader about
 *     LIVE + LEASE (3 s) later.</li>
 * <li>A leader that keeps a majority stays leader (no flapping when a lower IP rejoins); after
 *     a heal everyone follows the one leader.</li>
 * </ul>
 *
 * <p>{@code GET /leader} answers {@code {"self":..,"leader":..|null,"isLeader":..,"vote":..,
 * "live":[..],"votes":n,"majority":m}}; {@code leader} is this node if it is leader, else the
 * node that announced leadership to it in the last second, else null.
 */
public class Leader {
    static final long HEARTBEAT_MS = 200;
    static final long LIVE_MS = 1000;
    static final long LEASE_MS = 2000;
    static final long MARGIN_MS = 300;
    static final int CONNECT_TIMEOUT_MS = 300;
    static final int READ_TIMEOUT_MS = 500;

    final String self;
    final int port;
    final List<String> peers;
    final int majority;

    // guarded by this
    final Map<String, Long> lastHeard = new HashMap<>();
    final Map<String, Long> voteValidUntil = new HashMap<>();
    final Map<String, Long> announcedLeaderAt = new HashMap<>();
    String vote;
    boolean withdrawing;
    long lastGrant = Long.MIN_VALUE / 2;

    Leader(String self, int port, List<String> peers) {
        this.self = self;
        this.port = port;
        this.peers = List.copyOf(peers);
        this.majority = (peers.size() + 1) / 2 + 1;
    }

    public static void main(String[] args) throws IOException {
        String file = args.length > 0 ? args[0] : System.getenv("CONDUCTOR_NODE_CONFIG");
        if (file == null) {
            System.err.println("usage: java Leader.java [config.json]  (or set CONDUCTOR_NODE_CONFIG)");
            System.exit(2);
        }
        String json = Files.readString(Path.of(file));
        Leader node = new Leader(string(json, "self"), Integer.parseInt(field(json, "port")), array(json, "peers"));
        node.serve();
    }

    static long now() {
        return System.nanoTime() / 1_000_000;
    }

    void serve() throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(self, port), 64);
        http.createContext("/heartbeat", this::onHeartbeat);
        http.createContext("/leader", this::onLeader);
        http.setExecutor(Executors.newFixedThreadPool(4));
        http.start();
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(peers.size() + 1);
        timer.scheduleAtFixedRate(this::tick, 0, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
        for (String peer : peers) {
            timer.scheduleWithFixedDelay(() -> heartbeat(peer), 0, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
        }
        log("serving on " + self + ":" + port + ", peers " + peers + ", majority " + majority);
    }

    /** Asks a peer for its vote and tells it whether we lead. */
    void heartbeat(String peer) {
        long asked = now();
        boolean leading;
        synchronized (this) {
            leading = isLeader(asked);
        }
        try {
            String answer = get("http://" + peer + ":" + port + "/heartbeat?from=" + self + "&leader=" + leading);
            // answer: "<vote or -> <true|false>"
            String[] f = answer.strip().split(" ");
            synchronized (this) {
                lastHeard.put(peer, now());
                if (f[0].equals(self)) {
                    voteValidUntil.put(peer, asked + LEASE_MS - MARGIN_MS);
                }
                if (f.length > 1 && f[1].equals("true")) {
                    announcedLeaderAt.put(peer, now());
                }
            }
        } catch (IOException | RuntimeException e) {
            // unreachable this round: it drops out of the live set after LIVE_MS
        }
    }

    void onHeartbeat(HttpExchange ex) throws IOException {
        Map<String, String> q = query(ex.getRequestURI());
        String from = q.getOrDefault("from", "");
        String answer;
        synchronized (this) {
            if (peers.contains(from)) {
                lastHeard.put(from, now());
                if ("true".equals(q.get("leader"))) {
                    announcedLeaderAt.put(from, now());
                }
            }
            answer = (grant(from) ? from : "-") + " " + isLeader(now());
        }
        reply(ex, 200, "text/plain", answer + "\n");
    }

    /** Whether we vote for {@code requester} now; a yes renews the lease it holds on our vote. */
    synchronized boolean grant(String requester) {
        if (requester.equals(vote) && !withdrawing) {
            lastGrant = now();
            return true;
        }
        return false;
    }

    synchronized TreeSet<String> live(long t) {
        TreeSet<String> live = new TreeSet<>(Comparator.comparingLong(Leader::ipValue));
        live.add(self);
        lastHeard.forEach((peer, at) -> {
            if (t - at <= LIVE_MS) {
                live.add(peer);
            }
        });
        return live;
    }

    synchronized int validVotes(long t) {
        int n = 0;
        for (var e : voteValidUntil.entrySet()) {
            if (e.getValue() > t) {
                n++;
            }
        }
        if (self.equals(vote) && !withdrawing && t < lastGrant + LEASE_MS - MARGIN_MS) {
            n++;
        }
        return n;
    }

    synchronized boolean isLeader(long t) {
        return validVotes(t) >= majority;
    }

    synchronized boolean announcedLeader(String node, long t) {
        if (node.equals(self)) {
            return isLeader(t);
        }
        Long at = announcedLeaderAt.get(node);
        return at != null && t - at <= LIVE_MS;
    }

    /** Moves our vote: only to the lowest live node of a majority, and never while a lease we gave is running. */
    synchronized void tick() {
        long t = now();
        TreeSet<String> live = live(t);
        String desired = live.size() >= majority ? live.first() : null;
        boolean wasLeader = isLeader(t);
        if (java.util.Objects.equals(vote, desired)) {
            withdrawing = false;
        } else {
            boolean keep = vote != null && live.contains(vote) && announcedLeader(vote, t);
            if (!keep) {
                withdrawing = true;
            }
            if (vote == null || withdrawing && t - lastGrant > LEASE_MS) {
                vote = desired;
                withdrawing = false;
            }
        }
        grant(self);
        boolean leads = isLeader(t);
        if (leads != wasLeader) {
            log(leads ? "I am the leader (" + validVotes(t) + " votes)" : "I am no longer the leader");
        }
    }

    void onLeader(HttpExchange ex) throws IOException {
        String body;
        synchronized (this) {
            long t = now();
            boolean leads = isLeader(t);
            String leader = leads ? self : null;
            long newest = Long.MIN_VALUE;
            if (!leads) {
                for (var e : announcedLeaderAt.entrySet()) {
                    if (t - e.getValue() <= LIVE_MS && e.getValue() > newest) {
                        newest = e.getValue();
                        leader = e.getKey();
                    }
                }
            }
            List<String> liveList = new ArrayList<>(live(t));
            body = "{\"self\":\"" + self + "\",\"leader\":" + (leader == null ? "null" : "\"" + leader + "\"")
                    + ",\"isLeader\":" + leads + ",\"vote\":" + (vote == null ? "null" : "\"" + vote + "\"")
                    + ",\"live\":[" + String.join(",", liveList.stream().map(s -> "\"" + s + "\"").toList()) + "]"
                    + ",\"votes\":" + validVotes(t) + ",\"majority\":" + majority + "}\n";
        }
        reply(ex, 200, "application/json", body);
    }

    static String get(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(CONNECT_TIMEOUT_MS);
        c.setReadTimeout(READ_TIMEOUT_MS);
        c.setUseCaches(false);
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            c.disconnect();
        }
    }

    static void reply(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    static Map<String, String> query(URI uri) {
        Map<String, String> q = new HashMap<>();
        if (uri.getRawQuery() != null) {
            for (String kv : uri.getRawQuery().split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    q.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
        }
        return q;
    }

    static long ipValue(String ip) {
        long v = 0;
        for (String octet : ip.split("\\.")) {
            v = v * 256 + Integer.parseInt(octet);
        }
        return v;
    }

    void log(String message) {
        System.out.println(java.time.Instant.now() + " " + self + ": " + message);
        System.out.flush();
    }

    // just enough JSON for the fixture's config.json
    static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*([^,}\\]]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("config has no '" + key + "'");
        }
        return m.group(1).strip();
    }

    static String string(String json, String key) {
        return field(json, key).replace("\"", "");
    }

    static List<String> array(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*\\[([^\\]]*)\\]").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("config has no '" + key + "'");
        }
        List<String> out = new ArrayList<>();
        for (String s : m.group(1).split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip().replace("\"", ""));
            }
        }
        return out;
    }
}
