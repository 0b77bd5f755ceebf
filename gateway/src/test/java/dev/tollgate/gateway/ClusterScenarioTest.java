package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §9, issue 12 item 6: three gateways in front of one upstream count as one meter. A client
 * spreads a scraper's requests over them round-robin (each gateway sees a third of its posts,
 * far below the threshold), ordinary users go to one gateway each; the ground truth is what the
 * client received. Real Redis Cluster (3 masters, 3 replicas) and real PostgreSQL, started once.
 */
class ClusterScenarioTest extends OnClusterTestbed {

    @TempDir
    Path dir;

    @Test
    void aScraperSpreadOverThreeGateways_isFlaggedOnce_andEveryGatewayShowsTheSameIncident() throws Exception {
        String database = bed.pg.newDatabase();
        try (ClusterTestbed.Gateways gw = bed.new Gateways(dir, database, 1_000, 3)) {
            Map<String, Long> truth = new HashMap<>();
            // the scraper: 1,200 posts over three gateways, 400 each: no gateway alone ever sees the threshold
            for (int i = 0; i < 120; i++) {
                truth.merge("scraper", gw.fetch(i % 3, "scraper-key"), Long::sum);
                if (i == 30) {
                    for (int g = 0; g < 3; g++) {
                        truth.merge("user" + g, gw.fetch(g, "user-key-" + g), Long::sum); // ordinary users, one gateway each
                    }
                }
            }
            assertThat(truth.get("scraper")).isEqualTo(1_200);
            for (Gateway g : gw.gateways) {
                Await.value(() -> g.meter().top(1).get(0).posts24h(), 400, "one gateway's own count"); // each alone is far below the threshold
            }
            // every gateway's admin API shows the global count (the truth) and the flag, once the shipments landed
            Await.isTrue(() -> {
                gw.tickAll();
                return gw.allShow(1_200, true);
            }, "global posts24h = 1200 and flagged on all three gateways", 30, gw::tops);
            String scraper = gw.admin(0, "/api/v1/entities?top=1").get(0).path("id").asText();
            JsonNode one = gw.admin(1, "/api/v1/entities/" + scraper);
            assertThat(one.path("localPosts24h").asLong()).isEqualTo(400);
            assertThat(one.path("posts24h").asLong()).isEqualTo(1_200);
            String user0 = gw.admin(0, "/api/v1/entities?top=2").get(1).path("id").asText();
            JsonNode elsewhere = gw.admin(2, "/api/v1/entities/" + user0); // gw-3 never served user 0
            assertThat(elsewhere.path("posts24h").asLong()).isEqualTo(truth.get("user0"));
            assertThat(elsewhere.path("localPosts24h").asLong()).isZero();
            for (int g = 0; g < 3; g++) {
                JsonNode user = gw.admin(g, "/api/v1/entities?top=2").get(1);
                assertThat(user.path("posts24h").asLong()).isEqualTo(truth.get("user" + g));
                assertThat(user.path("flagged").asBoolean()).isFalse();
            }
            // exactly one incident, the same on every gateway (they all read the cluster ledger)
            Await.isTrue(() -> {
                gw.tickAll();
                for (int g = 0; g < 3; g++) {
                    if (gw.admin(g, "/api/v1/incidents").size() != 1) {
                        return false;
                    }
                }
                return true;
            }, "one incident on every gateway", 30, gw::tops);
            JsonNode first = gw.admin(0, "/api/v1/incidents").get(0);
            assertThat(first.path("entity").asText()).isEqualTo(scraper);
            assertThat(first.path("sequence").asInt()).isEqualTo(1);
            assertThat(first.path("status").asText()).isEqualTo("provisional");
            for (int g = 1; g < 3; g++) {
                JsonNode other = gw.admin(g, "/api/v1/incidents").get(0);
                assertThat(other.path("periodStart")).isEqualTo(first.path("periodStart"));
                assertThat(other.path("flaggedAt")).isEqualTo(first.path("flaggedAt"));
                assertThat(other.path("posts")).isEqualTo(first.path("posts"));
            }
            gw.awaitRecords("flag", 1);

            // an hour later the flagging gateway, and only it, writes the hourly provisional update (SPEC §6)
            gw.clock.advance(Duration.ofMinutes(61).toMillis());
            Await.isTrue(() -> {
                gw.tickAll();
                try {
                    return gw.records("provisional") == 2;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, "the flag's provisional record and one hourly update in the cluster chain", 30, gw::tops);
            assertThat(gw.records("superseded")).isZero();

            // a day after the flag exactly one gateway finalizes the period, from the global series: all three show it
            gw.clock.advance(Duration.ofHours(23).plusMinutes(1).toMillis());
            Await.isTrue(() -> {
                gw.tickAll();
                for (int g = 0; g < 3; g++) {
                    JsonNode inc = gw.admin(g, "/api/v1/incidents");
                    if (inc.size() != 1 || !inc.get(0).path("status").asText().equals("final")) {
                        return false;
                    }
                }
                return true;
            }, "the final period on every gateway", 30, gw::tops);
            JsonNode fin = gw.admin(0, "/api/v1/incidents").get(0);
            assertThat(fin.path("posts").asLong()).isEqualTo(1_200);
            assertThat(fin.path("amount").asText()).isEqualTo("18.00"); // 1,200 posts at USD 15,000 per 1,000,000
            for (int g = 1; g < 3; g++) {
                assertThat(gw.admin(g, "/api/v1/incidents").get(0)).isEqualTo(fin);
            }
            assertThat(gw.records("final")).as("final records in the cluster chain").isEqualTo(1);

            // offline, from any gateway's configuration: the same report and a sound chain (issue 12 item 3)
            gw.close();
            CommandLineTest.Run report = CommandLineTest.run("report", "--config", gw.configOf(1).toString(), "--format", "json");
            assertThat(report.exit()).as(report.err()).isZero();
            JsonNode periods = ClusterTestbed.JSON.readTree(report.out()).path("periods");
            assertThat(periods).hasSize(1);
            assertThat(periods.get(0).path("status").asText()).isEqualTo("final");
            assertThat(periods.get(0).path("posts").asLong()).isEqualTo(1_200);
            CommandLineTest.Run verify = CommandLineTest.run("verify-ledger", "--config", gw.configOf(2).toString());
            assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
            assertThat(verify.out()).contains("cluster ledger " + database + ": OK");
        }
    }
}
