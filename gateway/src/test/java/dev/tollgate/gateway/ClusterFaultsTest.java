package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 items 4 and 6: the three-gateway scenario through faults, checked against the ground
 * truth the client kept. The Redis master holding the scraper's slot is killed with kill -9
 * (failover; the shipments it may have lost are healed by re-shipping), PostgreSQL is stopped while
 * the scraper crosses the threshold (the flag waits in the flagging gateway's ledger and reaches
 * PostgreSQL once, when it is back), and a gateway is restarted on its data directory (its restored
 * windows ship again without counting anything twice). Through it all every gateway keeps proxying
 * and stays ready. Its own Redis Cluster: the test kills one of its masters.
 */
class ClusterFaultsTest {
    static ClusterTestbed bed;

    @TempDir
    Path dir;

    @BeforeAll
    static void servers() throws Exception {
        bed = new ClusterTestbed();
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (bed != null) {
            bed.close();
        }
    }

    long sendRoundRobin(ClusterTestbed.Gateways gw, int requests) throws Exception {
        long posts = 0;
        for (int i = 0; i < requests; i++) {
            posts += gw.fetch(i % 3, "scraper-key");
        }
        return posts;
    }

    void awaitAllShow(ClusterTestbed.Gateways gw, long posts, boolean flagged, String step) {
        Await.isTrue(() -> {
            gw.tickAll();
            return gw.allShow(posts, flagged);
        }, step + ": every gateway shows posts24h = " + posts + (flagged ? ", flagged" : ", not flagged"), 45, gw::tops);
    }

    @Test
    void failover_postgresDown_andARestartedGateway_leaveTheGlobalFiguresEqualToTheTruth() throws Exception {
        try (ClusterTestbed.Gateways gw = bed.new Gateways(dir, bed.pg.newDatabase(), 1_000, 3)) {
            long truth = sendRoundRobin(gw, 30);
            awaitAllShow(gw, truth, false, "before the faults");
            String scraper = gw.admin(0, "/api/v1/entities?top=1").get(0).path("id").asText();

            // 1. kill -9 the master of the scraper's slot, once its replicas are in sync; keep serving through the failover
            bed.redis.awaitReplicasSynced();
            int killed = bed.redis.killMaster("tg:{" + scraper + "}:w");
            truth += sendRoundRobin(gw, 40);
            assertThat(truth).isEqualTo(700);
            awaitAllShow(gw, truth, false, "after the failover of " + killed);

            // 2. PostgreSQL down while the scraper crosses the threshold: gateways serve, stay ready, name the link
            bed.pg.stop();
            truth += sendRoundRobin(gw, 50);
            awaitAllShow(gw, truth, true, "PostgreSQL down");
            Await.isTrue(() -> {
                gw.tickAll();
                JsonNode ready = gw.admin(0, "/readyz");
                return ready.path("status").asText().equals("ready") && ready.path("degraded").has("postgres");
            }, "readyz ready, naming postgres as degraded", 30, () -> gw.admin(0, "/readyz").toString());
            assertThat(gw.adminStatus(1, "/readyz")).isEqualTo(200);

            bed.pg.start();
            Await.isTrue(() -> {
                gw.tickAll();
                for (int g = 0; g < 3; g++) {
                    JsonNode inc;
                    try {
                        inc = gw.admin(g, "/api/v1/incidents");
                    } catch (AssertionError e) {
                        return false;
                    }
                    if (!inc.isArray() || inc.size() != 1) {
                        return false;
                    }
                }
                return true;
            }, "one incident on every gateway once PostgreSQL is back", 45, gw::tops);
            assertThat(gw.records("flag")).as("flag records in the cluster chain").isEqualTo(1);
            assertThat(gw.admin(2, "/api/v1/incidents").get(0).path("entity").asText()).isEqualTo(scraper);

            // 3. a gateway restarted on its data directory ships its restored windows again: nothing counted twice
            gw.stop(2);
            gw.start(2);
            awaitAllShow(gw, truth, true, "after gw-3 restarted");
            truth += sendRoundRobin(gw, 3);
            awaitAllShow(gw, truth, true, "after more traffic");
            assertThat(gw.records("flag")).isEqualTo(1);
        }
    }
}
