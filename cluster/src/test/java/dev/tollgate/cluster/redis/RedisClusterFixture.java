package dev.tollgate.cluster.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Real Redis servers for the tests, started from the test (no container, no mock): either a
 * Redis Cluster of three masters and three replicas created with {@code redis-cli --cluster
 * create}, or one plain {@code redis-server} (SPEC §9 accepts a single Redis). Start it once per
 * test class ({@code @BeforeAll}), {@link #stop()} in {@code @AfterAll}.
 *
 * <p>Ports come from this suite's range (24000-24999) and are checked free, together with the
 * cluster bus port (+10000). The cluster runs with a 1 s node timeout so a failover after
 * {@link #killMaster} takes about two seconds rather than the default fifteen. Every wait is a
 * poll with a generous deadline, never a fixed sleep. Skips the test class (a JUnit assumption)
 * only when {@code redis-server} is not installed; {@code .ci/run} installs it.
 */
public final class RedisClusterFixture {
    private static final long WAIT_MILLIS = 60_000;

    private final Path dir;
    private final List<Integer> ports;
    private final Map<Integer, Process> processes = new HashMap<>();
    private final boolean cluster;

    private RedisClusterFixture(Path dir, List<Integer> ports, boolean cluster) {
        this.dir = dir;
        this.ports = ports;
        this.cluster = cluster;
    }

    /** Three masters, three replicas, every slot covered and every replica in sync. */
    public static RedisClusterFixture cluster() {
        assumeInstalled();
        RedisClusterFixture f = new RedisClusterFixture(tempDir(), freePorts(6), true);
        try {
            for (int p : f.ports) {
                f.start(p);
            }
            List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
            f.ports.forEach(p -> create.add("127.0.0.1:" + p));
            create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
            String out = run(create);
            if (!out.contains("[OK] All 16384 slots covered")) {
                throw new IllegalStateException("redis-cli --cluster create failed:\n" + out);
            }
            f.awaitHealthy();
            return f;
        } catch (RuntimeException e) {
            f.stop();
            throw e;
        }
    }

    /** One plain redis-server, cluster mode off. */
    public static RedisClusterFixture single() {
        assumeInstalled();
        RedisClusterFixture f = new RedisClusterFixture(tempDir(), freePorts(1), false);
        try {
            f.start(f.ports.get(0));
            return f;
        } catch (RuntimeException e) {
            f.stop();
            throw e;
        }
    }

    /** A port on which no Redis runs (for "Redis down at start"), and {@link #startAt} to start one there later. */
    public static int freePort() {
        return freePorts(1).get(0);
    }

    /** A single redis-server on a port chosen earlier with {@link #freePort()}. */
    public static RedisClusterFixture startAt(int port) {
        assumeInstalled();
        RedisClusterFixture f = new RedisClusterFixture(tempDir(), List.of(port), false);
        f.start(port);
        return f;
    }

    /** {@code redis://127.0.0.1:P} of every node started (masters and replicas alike). */
    public List<String> uris() {
        return ports.stream().map(p -> "redis://127.0.0.1:" + p).toList();
    }

    public List<Integer> ports() {
        return ports;
    }

    /** Runs one redis-cli command against {@code port} and returns its output. */
    public String cli(int port, String... args) {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** Runs one redis-cli command against a live node (cluster mode follows redirections). */
    public String cliAny(String... args) {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-c", "-p", Integer.toString(aliveOrFail())));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /**
     * Kills ({@code kill -9}) the master that holds {@code key}'s slot and waits until a replica
     * has taken the slot over and the cluster is healthy again. Returns the killed port.
     */
    public int killMaster(String key) {
        int slot = Integer.parseInt(cliAny("CLUSTER", "KEYSLOT", key).trim());
        int port = masterOf(slot);
        long pid = Long.parseLong(field(cli(port, "INFO", "server"), "process_id"));
        run(List.of("kill", "-9", Long.toString(pid)));
        Process p = processes.remove(port);
        await(() -> !p.isAlive(), "redis-server on " + port + " to die");
        await(() -> {
            int now = masterOfOrZero(slot);
            return now != 0 && now != port && clusterOk();
        }, "a replica to take over slot " + slot + " from " + port);
        return port;
    }

    /** Waits until every replica's link is up and its offset equals its master's. */
    public void awaitReplicasSynced() {
        await(this::replicasSynced, "every replica in sync with its master");
    }

    /** Kills every process (kill -9) and deletes the directory. */
    public void stop() {
        processes.values().forEach(Process::destroyForcibly);
        for (Process p : processes.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void start(int port) {
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--dir", dir.toString(), "--save", "", "--appendonly", "no",
                "--logfile", "redis-" + port + ".log"));
        if (cluster) {
            cmd.addAll(List.of("--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + port + ".conf",
                    "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0"));
        }
        try {
            processes.put(port, new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout-" + port + ".log").toFile()).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start redis-server on " + port, e);
        }
        await(() -> cli(port, "PING").trim().equals("PONG"), "redis-server on " + port + " to answer PING");
    }

    private void awaitHealthy() {
        await(() -> ports.stream().allMatch(p -> {
            String info = cli(p, "CLUSTER", "INFO");
            return "ok".equals(field(info, "cluster_state")) && "16384".equals(field(info, "cluster_slots_ok"))
                    && "6".equals(field(info, "cluster_known_nodes"));
        }), "every node to see 6 nodes and 16384 slots ok");
        awaitReplicasSynced();
    }

    private boolean replicasSynced() {
        for (int p : processes.keySet()) {
            String info = cli(p, "INFO", "replication");
            if ("slave".equals(field(info, "role"))) {
                int master = Integer.parseInt(field(info, "master_port"));
                if (!processes.containsKey(master) || !"up".equals(field(info, "master_link_status"))) {
                    return false;
                }
                String masterOffset = field(cli(master, "INFO", "replication"), "master_repl_offset");
                if (!masterOffset.equals(field(info, "slave_repl_offset"))) {
                    return false;
                }
            }
        }
        return true;
    }

    private boolean clusterOk() {
        return processes.keySet().stream().allMatch(p -> "ok".equals(field(cli(p, "CLUSTER", "INFO"), "cluster_state")));
    }

    private int masterOf(int slot) {
        int port = masterOfOrZero(slot);
        if (port == 0) {
            throw new IllegalStateException("no master serves slot " + slot);
        }
        return port;
    }

    /** The port of the master that a live node says serves {@code slot}, 0 if none or a failed one. */
    private int masterOfOrZero(int slot) {
        for (String line : cli(aliveOrFail(), "CLUSTER", "NODES").split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length < 9 || !f[2].contains("master") || f[2].contains("fail")) {
                continue;
            }
            for (int i = 8; i < f.length; i++) {
                String[] range = f[i].split("-");
                if (range[0].startsWith("[")) {
                    continue;
                }
                int lo = Integer.parseInt(range[0]);
                int hi = range.length > 1 ? Integer.parseInt(range[1]) : lo;
                if (slot >= lo && slot <= hi) {
                    return Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@')));
                }
            }
        }
        return 0;
    }

    private int aliveOrFail() {
        return processes.keySet().stream().findFirst().orElseThrow(() -> new IllegalStateException("no redis-server alive"));
    }

    static String field(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return "";
    }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened within " + WAIT_MILLIS + " ms: " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            p.waitFor();
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd, e);
        }
    }

    private static void assumeInstalled() {
        boolean installed = Stream.of(System.getenv("PATH").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "redis-server")) && Files.isExecutable(Path.of(d, "redis-cli")));
        Assumptions.assumeTrue(installed, "SKIPPED: redis-server and redis-cli are not installed"
                + " (Debian: apt-get install redis-server; .ci/run does it)");
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("tollgate-redis-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ports in 24000-24999 that are free, with their cluster bus port (+10000) free too. */
    private static List<Integer> freePorts(int count) {
        List<Integer> found = new ArrayList<>();
        int start = 24000 + ThreadLocalRandom.current().nextInt(1000);
        for (int i = 0; i < 1000 && found.size() < count; i++) {
            int p = 24000 + (start - 24000 + i) % 1000;
            if (free(p) && free(p + 10000)) {
                found.add(p);
            }
        }
        if (found.size() < count) {
            throw new IllegalStateException("fewer than " + count + " free ports in 24000-24999");
        }
        return found;
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
