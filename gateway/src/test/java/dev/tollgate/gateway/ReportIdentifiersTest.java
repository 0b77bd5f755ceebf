package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ledger.Ledger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A directory entity flagged through a real gateway: its period's ledger record, the JSON report and
 * the HTML report tell the identifier the directory joined into it (its API key) from the network
 * merely seen with it (the loopback network the key was used from).
 */
@ExtendWith(LeakCheck.class)
class ReportIdentifiersTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void identifiersJoinedByTheDirectory_apartFromThoseSeen_inTheLedgerAndTheReports() throws Exception {
        Files.writeString(dir.resolve("entities.yaml"), """
                entities:
                  - id: acme
                    name: Acme Data Ltd
                    apiKeys: [k-acme-1]
                    networks: [198.51.100.0/24]
                """);
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(),
                "entities:\n  directory: entities.yaml\nmeter:\n  threshold: 150\n")) {
            f.get("/2/tweets/search/recent?max_results=100", "X-Api-Key", "k-acme-1");
            f.get("/2/tweets/search/recent?max_results=100", "X-Api-Key", "k-acme-1");
            Await.value(() -> f.gateway.meter().incidents().size(), 1, "flagged");
            assertThat(f.gateway.ledger().awaitWritten(5000)).isTrue();
            String key = KeyHasher.open(null, dir.resolve("data")).show("k-acme-1");

            List<JsonNode> provisional = new ArrayList<>();
            for (String l : Files.readAllLines(Ledger.fileIn(dir.resolve("data")))) {
                JsonNode r = JSON.readTree(l);
                if (r.get("type").asText().equals("provisional")) {
                    provisional.add(r);
                }
            }
            assertThat(provisional).hasSize(1);
            assertThat(provisional.get(0).get("identifiers").toString()).isEqualTo("[\"" + key + "\",\"net:127.0.0.0/24\"]");
            assertThat(provisional.get(0).get("directoryIdentifiers").toString()).isEqualTo("[\"" + key + "\"]");

            JsonNode report = JSON.readTree(f.admin("/api/v1/reports/damages?format=json").body());
            assertThat(report.get("periods").get(0).get("directoryIdentifiers").toString()).isEqualTo("[\"" + key + "\"]");
            assertThat(report.get("from").isNull()).as("an open bound").isTrue();
            JsonNode entity = JSON.readTree(f.admin("/api/v1/entities/acme").body());
            assertThat(entity.get("directoryIdentifiers").toString()).isEqualTo("[\"" + key + "\"]");
            String html = f.admin("/api/v1/reports/damages?format=html").body();
            assertThat(html).contains("<dt>Joined by the directory</dt><dd class=\"ids joined\">" + key + "</dd>",
                    "<dt>Seen with it</dt><dd class=\"ids seen\">net:127.0.0.0/24 ");
        }
    }
}
