package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
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
class ClusterFaultsTest extends OnClusterTestbed {

    @TempDir
    Path dir;

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
            gw.awaitRecords("flag", 1); // it waited in the flagging gateway's ledger: it reaches PostgreSQL once, now
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

    /**
     * Two gateway processes on the system clock; one is killed with kill -9 once its counts are
     * shipped and journaled, and restarted on its data directory: its restored windows ship again,
     * max-merged with what Redis holds, so the global count stays the truth, and grows by exactly
     * the posts served after the restart.
     */
    @Test
    void aGatewayKilledWithKill9_andRestarted_countsNothingTwice() throws Exception {
        String database = bed.pg.newDatabase();
        java.util.List<Path> configs = new java.util.ArrayList<>();
        java.util.List<Integer> ports = new java.util.ArrayList<>();
        java.util.List<Integer> adminPorts = new java.util.ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            Path d = dir.resolve("p" + i);
            java.nio.file.Files.createDirectories(d);
            java.nio.file.Files.writeString(d.resolve("pg.password"), dev.tollgate.cluster.postgres.PostgresFixture.PASSWORD + "\n");
            java.nio.file.Files.writeString(d.resolve("key-hash.secret"), "one secret for the whole cluster\n");
            int port = GatewayProcess.freePort();
            int admin = GatewayProcess.freePort();
            ports.add(port);
            adminPorts.add(admin);
            Path config = d.resolve("tollgate.yaml");
            java.nio.file.Files.writeString(config, "listen: 127.0.0.1:" + port + "\nupstream:\n  url: http://127.0.0.1:"
                    + bed.upstreamAddress.getPort() + "\nadmin:\n  listen: 127.0.0.1:" + admin + "\ndataDir: data\n"
                    + "meter:\n  threshold: 1000000\nentities:\n  keyHashSecretFile: key-hash.secret\n"
                    + "cluster:\n  nodeId: proc-" + i + "\n  redis:\n    nodes: [" + String.join(", ", bed.redis.uris()) + "]\n"
                    + "    flushInterval: 200ms\n    nearThresholdFlushInterval: 50ms\n"
                    + "  postgres:\n    url: " + database + "\n    user: " + dev.tollgate.cluster.postgres.PostgresFixture.USER
                    + "\n    passwordFile: pg.password\n");
            configs.add(config);
        }
        GatewayProcess one = GatewayProcess.start(configs.get(0), dir.resolve("p1.log"), adminPorts.get(0));
        GatewayProcess two = GatewayProcess.start(configs.get(1), dir.resolve("p2.log"), adminPorts.get(1));
        try {
            long truth = 0;
            for (int i = 0; i < 40; i++) {
                truth += fetchFrom(ports.get(i % 2), "killed-key");
            }
            long t = truth;
            one.awaitTrue(30, "the global count " + t + " on both gateways", () -> globalPosts(one) == t && globalPosts(two) == t);
            long served = System.currentTimeMillis();
            // the journal has everything served (its last flush after the last response), and Redis has it too: kill -9 now
            one.awaitTrue(10, "the journal flushed after the last request",
                    () -> metric(one, "tollgate_journal_last_flush_timestamp_seconds") * 1000 > served);
            one.kill9();
            GatewayProcess again = GatewayProcess.start(configs.get(0), dir.resolve("p1-again.log"), adminPorts.get(0));
            try {
                again.awaitTrue(30, "the restarted gateway's global count " + t, () -> globalPosts(again) == t);
                for (int i = 0; i < 10; i++) {
                    truth += fetchFrom(ports.get(i % 2), "killed-key");
                }
                long t2 = truth;
                again.awaitTrue(30, "the global count " + t2 + " on both gateways, nothing counted twice",
                        () -> globalPosts(again) == t2 && globalPosts(two) == t2);
            } finally {
                again.close();
            }
        } finally {
            one.close();
            two.close();
        }
    }

    long fetchFrom(int port, String key) throws Exception {
        var r = bed.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                + "/2/tweets/search/recent?max_results=10")).header("X-Api-Key", key).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return ClusterTestbed.JSON.readTree(r.body()).path("data").size();
    }

    static long globalPosts(GatewayProcess g) {
        try {
            JsonNode top = ClusterTestbed.JSON.readTree(g.admin("/api/v1/entities?top=1"));
            return top.isArray() && top.size() > 0 ? top.get(0).path("posts24h").asLong() : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    static double metric(GatewayProcess g, String name) {
        try {
            for (String line : g.admin("/metrics").split("\n")) {
                if (line.startsWith(name + " ")) {
                    return Double.parseDouble(line.substring(line.indexOf(' ') + 1));
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }
}
