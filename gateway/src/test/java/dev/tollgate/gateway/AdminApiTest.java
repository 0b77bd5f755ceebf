package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.upstream.PostApiServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The admin API of SPEC §7: the bearer token, metrics, entities and incidents with their field names. */
@ExtendWith(LeakCheck.class)
class AdminApiTest {
    static final String ME = "net:127.0.0.0/24";
    static final long HOUR = 3_600_000;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void tokenRequired_exceptForTheProbes() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            String base = "http://127.0.0.1:" + f.gateway.adminAddress().getPort();
            HttpResponse<String> health = f.http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            HttpResponse<String> ready = f.http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).as("a probe sends no token").isEqualTo(200);
            assertThat(JSON.readTree(ready.body())).as("up or down, nothing more").isEqualTo(JSON.readTree("{\"status\":\"ready\"}"));
            for (String path : new String[] {"/api/v1/status", "/metrics", "/api/v1/entities", "/api/v1/incidents"}) {
                HttpResponse<String> none = f.http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(none.statusCode()).as(path).isEqualTo(401);
                HttpResponse<String> wrong = f.http.send(HttpRequest.newBuilder(URI.create(base + path))
                        .header("Authorization", "Bearer nope").build(), HttpResponse.BodyHandlers.ofString());
                assertThat(wrong.statusCode()).as(path).isEqualTo(401);
                assertThat(f.admin(path).statusCode()).as(path).isEqualTo(200);
            }
            assertThat(dir.resolve("data/admin.token")).exists();
        }
    }

    @Test
    void metrics_countRequestsPostsAndLatency() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            f.get("/2/tweets/search/recent?max_results=12");
            f.get("/2/missing");
            Await.value(() -> f.requests(ME), 2, "requests");
            String m = f.admin("/metrics").body();
            assertThat(m).contains("tollgate_requests_total{code=\"200\",outcome=\"forwarded\"} 1.0",
                    "tollgate_requests_total{code=\"404\",outcome=\"forwarded\"} 1.0", "tollgate_posts_total 12.0",
                    "tollgate_upstream_latency_seconds_count 2", "tollgate_entities_tracked 1", "tollgate_flags_total 0.0",
                    "tollgate_open_incidents 0", "tollgate_errors_total{kind=\"upstream_connect\"} 0.0");
        }
    }

    @Test
    void entitiesAndIncidents_withTheSpecFieldNames() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 150\n")) {
            f.get("/2/tweets/search/recent?max_results=100");
            Await.value(() -> f.posts(ME), 100, "charged before the clock moves");
            f.clock.advance(HOUR);
            f.get("/2/tweets/search/recent?max_results=100");
            f.get("/2/tweets/search/recent?max_results=10", "X-Forwarded-For", "203.0.113.5");
            Await.value(() -> f.requests(ME), 2, "requests");
            Await.value(() -> f.posts("net:203.0.113.0/24"), 10, "posts");
            Await.isTrue(() -> f.gateway.meter().flagged(ME), "the flag shown once its records are durable");

            JsonNode top = JSON.readTree(f.admin("/api/v1/entities?top=1").body());
            assertThat(top.isArray()).isTrue();
            assertThat(top).hasSize(1);
            JsonNode e = top.get(0);
            assertThat(e.get("id").asText()).isEqualTo(ME);
            assertThat(e.get("name").asText()).isEqualTo(ME);
            assertThat(e.get("posts24h").asLong()).isEqualTo(200);
            assertThat(e.get("requests24h").asLong()).isEqualTo(2);
            assertThat(e.get("flagged").asBoolean()).isTrue();
            assertThat(e.get("identifiers").isArray()).isTrue();
            JsonNode inc = e.get("incidents").get(0);
            assertThat(inc.get("entity").asText()).isEqualTo(ME);
            assertThat(inc.get("flaggedAt").asText()).isEqualTo("2026-11-24T01:00:00Z");
            assertThat(inc.get("status").asText()).isEqualTo("provisional");
            assertThat(inc.get("periodStart").asText()).isEqualTo("2026-11-23T01:01:00Z");
            assertThat(inc.get("posts").asLong()).isEqualTo(200);
            assertThat(inc.get("amount").isTextual()).isTrue();
            assertThat(inc.get("amount").asText()).isEqualTo("3.00");
            assertThat(inc.get("currency").asText()).isEqualTo("USD");

            JsonNode one = JSON.readTree(f.admin("/api/v1/entities/" + java.net.URLEncoder.encode(ME, "UTF-8")).body());
            assertThat(one.get("hourly")).hasSize(49);
            assertThat(f.admin("/api/v1/entities/nobody").statusCode()).isEqualTo(404);

            Await.value(f.gateway::meteredRequests, 3, "all charged before the clock moves");
            f.clock.advance(24 * HOUR);
            f.gateway.tick();
            assertThat(f.gateway.ledger().awaitWritten(5000)).as("the final record is durable").isTrue();
            JsonNode incidents = JSON.readTree(f.admin("/api/v1/incidents?from=2026-11-24&to=2026-11-25").body());
            assertThat(incidents).hasSize(1);
            assertThat(incidents.get(0).get("status").asText()).isEqualTo("final");
            assertThat(JSON.readTree(f.admin("/api/v1/incidents?from=2026-11-25").body())).isEmpty();
            HttpResponse<String> bad = f.admin("/api/v1/incidents?from=yesterday");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("from: 'yesterday' (expected: a date like 2026-11-01");
        }
    }
}
