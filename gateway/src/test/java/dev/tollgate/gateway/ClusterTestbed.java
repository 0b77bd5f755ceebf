package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.cluster.postgres.PostgresFixture;
import dev.tollgate.cluster.redis.RedisClusterFixture;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ManualClock;
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
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The servers of a cluster test, started once per test class: a real Redis Cluster (3 masters, 3
 * replicas), a real PostgreSQL, the built-in post API; and gateways in cluster mode in front of
 * them, each with its own ports, data directory and node id, sharing one clock the test moves.
 */
final class ClusterTestbed implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The Redis Cluster; null for a testbed whose single Redis the test starts and stops itself ({@link #withRedisAt}). */
    final RedisClusterFixture redis;
    /** The Redis nodes the gateways are given. */
    final List<String> redisUris;
    final PostgresFixture pg;
    final EventLoopGroup upstreamGroup = Transport.nio().group(1);
    final PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
    final InetSocketAddress upstreamAddress;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

    ClusterTestbed() throws Exception {
        this(RedisClusterFixture.cluster(), null);
    }

    private ClusterTestbed(RedisClusterFixture redis, List<String> uris) throws Exception {
        this.redis = redis;
        this.redisUris = redis != null ? redis.uris() : uris;
        pg = PostgresFixture.startNew();
        upstreamAddress = upstream.start(new InetSocketAddress("127.0.0.1", 0), upstreamGroup, upstreamGroup);
    }

    /** Gateways pointed at one plain Redis on {@code port}, which nothing runs yet: the test starts and stops it. */
    static ClusterTestbed withRedisAt(int port) throws Exception {
        return new ClusterTestbed(null, List.of("redis://127.0.0.1:" + port));
    }

    /** Gateways gw-1 … gw-n under {@code dir}, counting into {@code database}, with a threshold of {@code threshold} posts. */
    final class Gateways implements AutoCloseable {
        final Path dir;
        final String database;
        final long threshold;
        final ManualClock clock = new ManualClock(GatewayFixture.T0);
        final List<Gateway> gateways = new ArrayList<>();
        final List<AdminClient> admins = new ArrayList<>();

        Gateways(Path dir, String database, long threshold, int n) throws Exception {
            this.dir = dir;
            this.database = database;
            this.threshold = threshold;
            for (int i = 1; i <= n; i++) {
                gateways.add(null);
                admins.add(null);
                start(i - 1);
            }
        }

        Path configOf(int g) {
            return dir.resolve("gw" + (g + 1)).resolve("tollgate.yaml");
        }

        /** Starts gateway {@code g} (0-based) on its data directory: the first time, or again after {@link #stop}. */
        void start(int g) throws Exception {
            Path d = dir.resolve("gw" + (g + 1));
            Files.createDirectories(d);
            Files.writeString(d.resolve("pg.password"), PostgresFixture.PASSWORD + "\n");
            Files.writeString(d.resolve("key-hash.secret"), "one secret for the whole cluster\n");
            String yaml = "meter:\n  threshold: " + threshold + "\n"
                    + "entities:\n  keyHashSecretFile: key-hash.secret\n"
                    + "cluster:\n  nodeId: gw-" + (g + 1) + "\n"
                    + "  redis:\n    nodes: [" + String.join(", ", redisUris) + "]\n    flushInterval: 200ms\n"
                    + "    nearThresholdFlushInterval: 50ms\n    commandTimeout: 1s\n"
                    + "  postgres:\n    url: " + database + "\n    user: " + PostgresFixture.USER + "\n    passwordFile: pg.password\n";
            Gateway gw = GatewayFixture.startGateway(d, "http://127.0.0.1:" + upstreamAddress.getPort(), yaml, clock, MeterListener.none());
            gateways.set(g, gw);
            admins.set(g, new AdminClient(gw.adminAddress().getPort(), gw.adminToken()));
        }

        void stop(int g) {
            gateways.get(g).close();
        }

        /** GETs a page of 10 posts through gateway {@code g} as the holder of {@code key}; the posts received. */
        long fetch(int g, String key) throws Exception {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateways.get(g).proxyAddress().getPort()
                    + "/2/tweets/search/recent?max_results=10")).header("X-Api-Key", key).timeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
            assertThat(resp.statusCode()).isEqualTo(200);
            return JSON.readTree(resp.body()).path("data").size();
        }

        JsonNode admin(int g, String path) {
            try {
                return JSON.readTree(admins.get(g).get(path));
            } catch (Exception e) {
                throw new AssertionError(path + " on gateway " + (g + 1) + ": " + e, e);
            }
        }

        int adminStatus(int g, String path) {
            return admins.get(g).status(path);
        }

        void tickAll() {
            gateways.forEach(Gateway::tick);
        }

        /** True when every gateway's admin API shows {@code entity} (the top one) with {@code posts} posts and the flag {@code flagged}. */
        boolean allShow(long posts, boolean flagged) {
            for (int g = 0; g < gateways.size(); g++) {
                JsonNode top = admin(g, "/api/v1/entities?top=1");
                if (top.size() == 0 || top.get(0).path("posts24h").asLong() != posts || top.get(0).path("flagged").asBoolean() != flagged) {
                    return false;
                }
            }
            return true;
        }

        String tops() {
            StringBuilder b = new StringBuilder();
            for (int g = 0; g < gateways.size(); g++) {
                b.append("gw-").append(g + 1).append(": ").append(admin(g, "/api/v1/entities?top=2")).append(' ')
                        .append(admin(g, "/api/v1/status")).append('\n');
            }
            return b.toString();
        }

        long records(String type) throws Exception {
            try (Connection c = DriverManager.getConnection(database, PostgresFixture.USER, PostgresFixture.PASSWORD);
                    Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SELECT count(*) FROM ledger_record WHERE type = '" + type + "'")) {
                r.next();
                return r.getLong(1);
            }
        }

        /** Waits until the cluster chain holds exactly {@code n} records of {@code type} (they arrive through each gateway's replicator). */
        void awaitRecords(String type, long n) {
            Await.isTrue(() -> {
                try {
                    return records(type) == n;
                } catch (Exception e) {
                    return false;
                }
            }, n + " " + type + " record(s) in the cluster chain", 45, this::tops);
        }

        @Override
        public void close() {
            gateways.forEach(Gateway::close);
        }
    }

    @Override
    public void close() throws Exception {
        upstream.stop();
        upstreamGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            pg.close();
        } finally {
            if (redis != null) {
                redis.stop();
            }
        }
    }
}
