package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.cluster.redis.RedisClusterFixture;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §9 and issue 12 item 4, with one plain Redis the test starts and stops: gateways start while
 * Redis is unreachable (they serve and stay ready, naming the degraded link), replay their counts
 * when it comes up, and while it is down again a gateway flags from what it knows for certain (its
 * own count above the threshold); when Redis is back the global figures are the truth and the
 * crossing is billed once.
 */
class ClusterRedisDownTest {
    static int redisPort;
    static ClusterTestbed bed;
    static RedisClusterFixture redis;

    @TempDir
    Path dir;

    @BeforeAll
    static void servers() throws Exception {
        redisPort = RedisClusterFixture.freePort();
        bed = ClusterTestbed.withRedisAt(redisPort);
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (redis != null) {
            redis.stop();
        }
        if (bed != null) {
            bed.close();
        }
    }

    long send(ClusterTestbed.Gateways gw, int g, int requests) throws Exception {
        long posts = 0;
        for (int i = 0; i < requests; i++) {
            posts += gw.fetch(g, "scraper-key");
        }
        return posts;
    }

    boolean readyButDegraded(ClusterTestbed.Gateways gw, int g, String link) {
        JsonNode ready = gw.admin(g, "/readyz");
        return ready.path("status").asText().equals("ready") && ready.path("degraded").has(link);
    }

    @Test
    void redisDownAtStart_andAgainMidRun_countsReplayed_flagFromOwnCount_billedOnce() throws Exception {
        try (ClusterTestbed.Gateways gw = bed.new Gateways(dir, bed.pg.newDatabase(), 1_000, 2)) {
            // Redis unreachable at start: both serve, stay ready, and name the link
            long truth = send(gw, 0, 60) + send(gw, 1, 20);
            Await.isTrue(() -> {
                gw.tickAll();
                return readyButDegraded(gw, 0, "redis") && readyButDegraded(gw, 1, "redis");
            }, "ready, with redis degraded, on both gateways", 30, gw::tops);

            // Redis comes up: the counts kept locally are replayed, nothing lost
            redis = RedisClusterFixture.startAt(redisPort);
            long t1 = truth;
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.allShow(t1, false);
            }, "global " + t1 + " on both once Redis is up", 45, gw::tops);
            assertThat(gw.admin(0, "/readyz").has("degraded")).isFalse();

            // Redis down mid-run; gw-1 alone serves enough to be above the threshold: it flags from its own count
            redis.stop();
            redis = null;
            truth += send(gw, 0, 50);
            Await.value(() -> gw.gateways.get(0).meter().top(1).get(0).posts24h(), 1_100, "gw-1's own count"); // charged just after each response
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.admin(0, "/api/v1/entities?top=1").get(0).path("flagged").asBoolean();
            }, "gw-1 flags from its own count while Redis is down", 45, gw::tops);
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.admin(1, "/api/v1/entities?top=1").get(0).path("flagged").asBoolean();
            }, "gw-2 learns the flag from the cluster ledger", 45, gw::tops);

            // Redis back (empty: a restarted Redis without persistence): replayed again, the flag adopted, billed once
            redis = RedisClusterFixture.startAt(redisPort);
            truth += send(gw, 1, 10);
            long t2 = truth;
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.allShow(t2, true);
            }, "global " + t2 + " and flagged on both once Redis is back", 45, gw::tops);
            truth += send(gw, 0, 5) + send(gw, 1, 5);
            long t3 = truth;
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.allShow(t3, true);
            }, "global " + t3 + " after more traffic", 45, gw::tops);
            gw.awaitRecords("flag", 1);
            Await.isTrue(() -> {
                gw.tickAll();
                JsonNode a = gw.admin(0, "/api/v1/incidents");
                JsonNode b = gw.admin(1, "/api/v1/incidents");
                return a.isArray() && a.size() == 1 && b.isArray() && b.size() == 1;
            }, "one incident on both gateways", 30, gw::tops);
        }
    }
}
