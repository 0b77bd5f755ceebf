package dev.tollgate.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.MeterListener;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Issue 12, item 8: the detection lag of cluster mode. Three gateways in this JVM (system clock,
 * the configured flush intervals: 1 s and 250 ms near the threshold by default) in front of the
 * built-in post API, joined by a running Redis Cluster and PostgreSQL. Each trial is a fresh API
 * key whose scraper sends pages of 10 posts round-robin across the three gateways at a steady
 * rate, so no gateway alone ever holds more than a third of the count: only the global window
 * (Redis) can flag it. The crossing is timed at the client, when the response carrying the post
 * that put the key's total over the threshold has arrived; the scraper keeps going (as a scraper
 * would) until the flag is
 * <ul>
 *   <li>durable in the flagging gateway's local ledger (the gateway's meter listener hears a flag
 *       after the ledger has forced the record to disk), and</li>
 *   <li>committed in PostgreSQL (a poller counts the {@code flag} rows of {@code ledger_record}
 *       every 5 ms on its own connection).</li>
 * </ul>
 * Prints every trial, then min/median/p90/max of both lags.
 *
 * <pre>
 *   benchmarks/e2e/cluster.sh             # ONLY=lag: starts Redis Cluster + PostgreSQL, runs this, stops them
 *   java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.DetectionLag \
 *       redis://127.0.0.1:27100,... jdbc:postgresql://127.0.0.1:27200/tollgate tollgate PASSWORD_FILE WORK_DIR \
 *       [trials=20] [threshold=10000] [requestsPerSecond=200] [flushInterval=1s] [backgroundEntities=0]
 * </pre>
 */
public final class DetectionLag {
    private static final int GATEWAYS = 3;
    private static final int POSTS_PER_PAGE = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    private DetectionLag() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: DetectionLag REDIS_URIS JDBC_URL USER PASSWORD_FILE WORK_DIR [trials] [threshold] [requestsPerSecond] [flushInterval] [backgroundEntities]");
            System.exit(2);
        }
        List<String> redis = Arrays.asList(args[0].split(","));
        String jdbc = args[1];
        String user = args[2];
        Path passwordFile = Path.of(args[3]).toAbsolutePath();
        Path work = Path.of(args[4]).toAbsolutePath();
        int trials = args.length > 5 ? Integer.parseInt(args[5]) : 20;
        long threshold = args.length > 6 ? Long.parseLong(args[6]) : 10_000;
        int rate = args.length > 7 ? Integer.parseInt(args[7]) : 200;
        String flush = args.length > 8 ? args[8] : "1s";
        int background = args.length > 9 ? Integer.parseInt(args[9]) : 0;
        String password = Files.readString(passwordFile).strip();

        EventLoopGroup upstreamGroup = Transport.nio().group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        InetSocketAddress up = upstream.start(new InetSocketAddress("127.0.0.1", 0), upstreamGroup, upstreamGroup);
        List<long[]> flags = new CopyOnWriteArrayList<>(); // {nanoTime the flag was durable in the local ledger, gateway}
        List<Gateway> gateways = new ArrayList<>();
        try {
            for (int g = 1; g <= GATEWAYS; g++) {
                Path dir = work.resolve("gw" + g);
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("key-hash.secret"), "one secret for the whole cluster\n");
                String yaml = "listen: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:" + up.getPort() + "\n"
                        + "admin:\n  listen: 127.0.0.1:0\ndataDir: data\naccessLog: {enabled: false}\n"
                        + "meter:\n  threshold: " + threshold + "\n"
                        + "entities:\n  keyHashSecretFile: key-hash.secret\n"
                        + "cluster:\n  nodeId: lag-gw-" + g + "\n"
                        + "  redis:\n    nodes: [" + String.join(", ", redis) + "]\n    flushInterval: " + flush + "\n"
                        + "  postgres:\n    url: " + jdbc + "\n    user: " + user + "\n    passwordFile: " + passwordFile + "\n";
                Path file = dir.resolve("tollgate.yaml");
                Files.writeString(file, yaml);
                int index = g;
                MeterListener listener = new MeterListener() {
                    @Override
                    public void onFlag(Incident incident) {
                        flags.add(new long[] {System.nanoTime(), index});
                    }
                };
                gateways.add(Gateway.start(ConfigLoader.load(file), Gateway.Options.defaults().withListener(listener)));
            }
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
            System.out.printf("3 gateways in cluster mode, flush %s, threshold %d posts, scraper %d pages/s of %d posts round-robin, %d trials%n",
                    flush, threshold, rate, POSTS_PER_PAGE, trials);
            Thread load = background > 0 ? startBackground(gateways, background) : null;
            if (background > 0) {
                System.out.printf("background: %d other entities, each a post a second on one gateway (entity i on gateway i %% 3)%n", background);
            }
            warmUp(http, gateways);
            List<Double> local = new ArrayList<>();
            List<Double> durable = new ArrayList<>();
            long run = System.currentTimeMillis();
            try (Connection c = DriverManager.getConnection(jdbc, user, password)) {
                for (int t = 1; t <= trials; t++) {
                    String key = "lag-" + run + "-" + t;
                    Trial r = trial(http, gateways, c, key, threshold, rate, flags);
                    System.out.printf("  trial %2d: crossing at page %d (%d posts sent, %.0f pages/s), flagged by gw-%d; local ledger %s ms, PostgreSQL %s ms%n",
                            t, r.pages, r.pages * POSTS_PER_PAGE, r.pagesPerSecond, r.gateway, ms(r.localMillis), ms(r.pgMillis));
                    if (r.localMillis >= 0) {
                        local.add(r.localMillis);
                    }
                    if (r.pgMillis >= 0) {
                        durable.add(r.pgMillis);
                    }
                }
            }
            if (load != null) {
                load.interrupt();
            }
            System.out.println("lag from the crossing response to the flag record (ms; target <= 1500 at a 1 s flush):");
            System.out.println("  in the flagging gateway's local ledger: " + summary(local, trials));
            System.out.println("  in PostgreSQL:                          " + summary(durable, trials));
        } finally {
            gateways.forEach(Gateway::close);
            upstream.stop();
            upstreamGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private record Trial(long pages, double pagesPerSecond, int gateway, double localMillis, double pgMillis) {
    }

    /** One key scraped to its flag (or 15 s past its crossing); the lags in milliseconds, -1 when not seen. */
    private static Trial trial(HttpClient http, List<Gateway> gateways, Connection c, String key, long threshold, int rate,
            List<long[]> flags) throws Exception {
        long rowsBefore = flagRows(c);
        int flagsBefore = flags.size(); // every earlier key's flag is in: each trial waits for its own
        long period = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime();
        long next = start;
        long posts = 0;
        long pages = 0;
        long crossing = -1;
        long crossingPage = 0;
        long pgSeen = -1;
        long deadline = Long.MAX_VALUE;
        for (int i = 0; System.nanoTime() < deadline; i++) {
            boolean flagged = flags.size() > flagsBefore;
            if (!flagged) {
                posts += fetch(http, gateways.get(i % gateways.size()), key);
                pages++;
                if (crossing < 0 && posts > threshold) {
                    crossing = System.nanoTime();
                    crossingPage = pages;
                    deadline = crossing + TimeUnit.SECONDS.toNanos(15);
                }
            }
            if (crossing >= 0 && pgSeen < 0 && flagRows(c) > rowsBefore) {
                pgSeen = System.nanoTime();
            }
            if (flagged && pgSeen >= 0) {
                break;
            }
            next += flagged ? TimeUnit.MILLISECONDS.toNanos(5) : period; // after the local flag: only poll PostgreSQL
            LockSupport.parkNanos(next - System.nanoTime());
        }
        long[] flag = flags.size() > flagsBefore ? flags.get(flagsBefore) : null;
        double localMs = flag == null ? -1 : (flag[0] - crossing) / 1e6;
        double pgMs = pgSeen < 0 ? -1 : (pgSeen - crossing) / 1e6;
        double achieved = crossing < 0 ? 0 : crossingPage / ((crossing - start) / 1e9);
        return new Trial(crossingPage, achieved, flag == null ? 0 : (int) flag[1], localMs, pgMs);
    }

    private static long fetch(HttpClient http, Gateway g, String key) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.proxyAddress().getPort()
                + "/2/tweets/search/recent?max_results=" + POSTS_PER_PAGE)).header("X-Api-Key", key).timeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException("gateway answered " + resp.statusCode() + ": " + resp.body());
        }
        return JSON.readTree(resp.body()).path("data").size();
    }

    /**
     * Other active entities, recorded straight into the gateways' meters (as the proxy would after
     * a response): each gets a post every second, so the shippers have them all to ship at every
     * flush, as in {@code ClusterShipBench}.
     */
    private static Thread startBackground(List<Gateway> gateways, int entities) {
        Thread t = new Thread(() -> {
            long next = System.nanoTime();
            while (!Thread.currentThread().isInterrupted()) {
                for (int i = 0; i < entities; i++) {
                    gateways.get(i % gateways.size()).meter().record("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255), 1, 1);
                }
                next += TimeUnit.SECONDS.toNanos(1);
                LockSupport.parkNanos(next - System.nanoTime());
            }
        }, "background-entities");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void warmUp(HttpClient http, List<Gateway> gateways) throws Exception {
        for (int i = 0; i < 300; i++) { // a key per page: no warm-up key gets near a threshold (a flag would be taken for a trial's)
            fetch(http, gateways.get(i % gateways.size()), "warm-up-" + i);
        }
    }

    private static long flagRows(Connection c) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM ledger_record WHERE type = 'flag'");
                ResultSet r = p.executeQuery()) {
            r.next();
            return r.getLong(1);
        }
    }

    private static String ms(double v) {
        return v < 0 ? "not seen" : String.format("%.0f", v);
    }

    private static String summary(List<Double> values, int trials) {
        if (values.isEmpty()) {
            return "none seen of " + trials;
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return String.format("min %.0f  median %.0f  p90 %.0f  max %.0f  (%d of %d trials)", v[0], quantile(v, 0.5), quantile(v, 0.9),
                v[v.length - 1], v.length, trials);
    }

    private static double quantile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
