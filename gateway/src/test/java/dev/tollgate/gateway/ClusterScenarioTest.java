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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §9, issue 12 item 6: three gateways in front of one upstream count as one meter. A client
 * spreads a scraper's requests over them round-robin (no gateway alone sees a third of the
 * threshold... each sees a third of the traffic), ordinary users go to one each; the ground truth
 * is what the client received. Real Redis Cluster (3 masters, 3 replicas) and real PostgreSQL,
 * started once for the class.
 */
class ClusterScenarioTest {
    static final long THRESHOLD = 1_000;
    static final ObjectMapper JSON = new ObjectMapper();

    static RedisClusterFixture redis;
    static PostgresFixture pg;
    static EventLoopGroup upstreamGroup;
    static PostApiServer upstream;
    static InetSocketAddress upstreamAddress;

    @TempDir
    Path dir;

    final ManualClock clock = new ManualClock(GatewayFixture.T0);
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    final List<Gateway> gateways = new ArrayList<>();
    final List<AdminClient> admins = new ArrayList<>();

    @BeforeAll
    static void servers() throws Exception {
        redis = RedisClusterFixture.cluster();
        pg = PostgresFixture.startNew();
        upstreamGroup = Transport.nio().group(1);
        upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        upstreamAddress = upstream.start(new InetSocketAddress("127.0.0.1", 0), upstreamGroup, upstreamGroup);
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (upstream != null) {
            upstream.stop();
            upstreamGroup.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (pg != null) {
            pg.close();
        }
        if (redis != null) {
            redis.stop();
        }
    }

    void startGateways(int n, String database) throws Exception {
        for (int i = 1; i <= n; i++) {
            Path d = dir.resolve("gw" + i);
            Files.createDirectories(d);
            Files.writeString(d.resolve("pg.password"), PostgresFixture.PASSWORD + "\n");
            Files.writeString(d.resolve("key-hash.secret"), "one secret for the whole cluster\n");
            String yaml = "meter:\n  threshold: " + THRESHOLD + "\n"
                    + "entities:\n  keyHashSecretFile: key-hash.secret\n"
                    + "cluster:\n  nodeId: gw-" + i + "\n"
                    + "  redis:\n    nodes: [" + String.join(", ", redis.uris()) + "]\n    flushInterval: 200ms\n"
                    + "    nearThresholdFlushInterval: 50ms\n"
                    + "  postgres:\n    url: " + database + "\n    user: " + PostgresFixture.USER + "\n    passwordFile: pg.password\n";
            Gateway g = GatewayFixture.startGateway(d, "http://127.0.0.1:" + upstreamAddress.getPort(), yaml, clock, MeterListener.none());
            gateways.add(g);
            admins.add(new AdminClient(g.adminAddress().getPort(), g.adminToken()));
        }
    }

    @org.junit.jupiter.api.AfterEach
    void stopGateways() {
        gateways.forEach(Gateway::close);
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

    /** The entity id the gateways give {@code key}: the one entity gateway 0 counts with exactly {@code posts}. */
    String entityWith(long posts) {
        for (JsonNode e : admin(0, "/api/v1/entities?top=100")) {
            if (e.path("posts24h").asLong() == posts) {
                return e.path("id").asText();
            }
        }
        throw new AssertionError("no entity with " + posts + " posts: " + admin(0, "/api/v1/entities?top=100"));
    }

    void tickAll() {
        gateways.forEach(Gateway::tick);
    }

    @Test
    void aScraperSpreadOverThreeGateways_isFlaggedOnce_andEveryGatewayShowsTheSameIncident() throws Exception {
        String database = pg.newDatabase();
        startGateways(3, database);
        Map<String, Long> truth = new HashMap<>();
        // the scraper: 1,200 posts over three gateways, 400 each: no gateway alone ever sees the threshold
        for (int i = 0; i < 120; i++) {
            truth.merge("scraper", fetch(i % 3, "scraper-key"), Long::sum);
            if (i == 30) {
                for (int g = 0; g < 3; g++) {
                    truth.merge("user" + g, fetch(g, "user-key-" + g), Long::sum); // ordinary users, one gateway each
                }
            }
        }
        assertThat(truth.get("scraper")).isEqualTo(1_200);
        for (Gateway g : gateways) {
            assertThat(g.meter().posts24h(g.meter().top(1).get(0).id())).isLessThanOrEqualTo(400); // each alone is far below
        }
        // every gateway's admin API shows the global count (the truth), once the shipments landed
        Await.isTrue(() -> {
            tickAll();
            for (int g = 0; g < 3; g++) {
                JsonNode top = admin(g, "/api/v1/entities?top=1");
                if (top.size() == 0 || top.get(0).path("posts24h").asLong() != 1_200 || !top.get(0).path("flagged").asBoolean()) {
                    return false;
                }
            }
            return true;
        }, "global posts24h = 1200 and flagged on all three gateways", 30, () -> admin(0, "/api/v1/entities?top=3") + " / "
                + admin(1, "/api/v1/entities?top=3") + " / " + admin(1, "/api/v1/status"));
        String scraper = admin(0, "/api/v1/entities?top=1").get(0).path("id").asText();
        JsonNode one = admin(1, "/api/v1/entities/" + scraper);
        assertThat(one.path("localPosts24h").asLong()).isEqualTo(400);
        assertThat(one.path("posts24h").asLong()).isEqualTo(1_200);
        // exactly one incident, the same on every gateway (they all read the cluster ledger)
        Await.isTrue(() -> {
            tickAll();
            for (int g = 0; g < 3; g++) {
                if (admin(g, "/api/v1/incidents").size() != 1) {
                    return false;
                }
            }
            return true;
        }, "one incident on every gateway", 30);
        JsonNode first = admin(0, "/api/v1/incidents").get(0);
        assertThat(first.path("entity").asText()).isEqualTo(scraper);
        assertThat(first.path("sequence").asInt()).isEqualTo(1);
        assertThat(first.path("status").asText()).isEqualTo("provisional");
        for (int g = 1; g < 3; g++) {
            JsonNode other = admin(g, "/api/v1/incidents").get(0);
            assertThat(other.path("periodStart")).isEqualTo(first.path("periodStart"));
            assertThat(other.path("flaggedAt")).isEqualTo(first.path("flaggedAt"));
            assertThat(other.path("posts")).isEqualTo(first.path("posts"));
        }
        assertThat(flagRecords(database)).as("flag records in the cluster chain").isEqualTo(1);

        // a day later exactly one gateway finalizes the period, from the global series: all three show it
        clock.advance(Duration.ofHours(24).plusMinutes(2).toMillis());
        Await.isTrue(() -> {
            tickAll();
            for (int g = 0; g < 3; g++) {
                JsonNode inc = admin(g, "/api/v1/incidents");
                if (inc.size() != 1 || !inc.get(0).path("status").asText().equals("final")) {
                    return false;
                }
            }
            return true;
        }, "the final period on every gateway", 30);
        JsonNode fin = admin(0, "/api/v1/incidents").get(0);
        assertThat(fin.path("posts").asLong()).isEqualTo(1_200);
        assertThat(fin.path("amount").asText()).isEqualTo("18.00"); // 1,200 posts at USD 15,000 per 1,000,000
        for (int g = 1; g < 3; g++) {
            assertThat(admin(g, "/api/v1/incidents").get(0)).isEqualTo(fin);
        }
        assertThat(finalRecords(database)).as("final records in the cluster chain").isEqualTo(1);

        // offline, from any gateway's configuration: the same report and a sound chain (issue 12 item 3)
        gateways.forEach(Gateway::close);
        CommandLineTest.Run report = CommandLineTest.run("report", "--config", dir.resolve("gw2/tollgate.yaml").toString(), "--format", "json");
        assertThat(report.exit()).as(report.err()).isZero();
        JsonNode periods = JSON.readTree(report.out()).path("periods");
        assertThat(periods).hasSize(1);
        assertThat(periods.get(0).path("status").asText()).isEqualTo("final");
        assertThat(periods.get(0).path("posts").asLong()).isEqualTo(1_200);
        CommandLineTest.Run verify = CommandLineTest.run("verify-ledger", "--config", dir.resolve("gw3/tollgate.yaml").toString());
        assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("cluster ledger " + database + ": OK");
    }

    private static long flagRecords(String url) throws Exception {
        return count(url, "flag");
    }

    private static long finalRecords(String url) throws Exception {
        return count(url, "final");
    }

    private static long count(String url, String type) throws Exception {
        try (Connection c = DriverManager.getConnection(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
                Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT count(*) FROM ledger_record WHERE type = '" + type + "'")) {
            r.next();
            return r.getLong(1);
        }
    }
}
