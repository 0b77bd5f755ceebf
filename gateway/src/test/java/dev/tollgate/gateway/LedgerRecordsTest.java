package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.config.CanonicalJson;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.ledger.Ledger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records are data (SPEC §6), read as someone without our code would read them: the config record
 * holds the settings whose canonical JSON hashes to its version (checked with jq and sha256sum where
 * installed), and the directory records, folded in order, give the directory in force and its
 * version, with API keys only in their hashed form.
 */
@ExtendWith(LeakCheck.class)
class LedgerRecordsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DIRECTORY_YAML = "entities:\n  directory: entities.yaml\n";

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(GatewayFixture.T0);

    Gateway start() throws Exception {
        return GatewayFixture.startGateway(dir, "http://127.0.0.1:9", DIRECTORY_YAML, clock, MeterListener.none());
    }

    List<JsonNode> records(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(Ledger.fileIn(dir.resolve("data")))) {
            JsonNode r = JSON.readTree(l);
            if (type == null || r.get("type").asText().equals(type)) {
                out.add(r);
            }
        }
        return out;
    }

    @Test
    void configRecord_settingsHashToTheVersion_asJqAndSha256sumSeeThem() throws Exception {
        Files.writeString(dir.resolve("entities.yaml"), "entities: []\n");
        try (Gateway g = start()) {
            JsonNode config = records("config").get(0);
            assertThat(config.get("settings").get("dataDir").asText()).isEqualTo("data");
            assertThat(config.get("settings").at("/entities/directory").asText()).isEqualTo("entities.yaml");
            assertThat(config.get("settings").at("/meter/bucket").asText()).isEqualTo("1m");
            assertThat(config.get("configVersion").asText()).isEqualTo(g.configVersion())
                    .isEqualTo(CanonicalJson.sha256(config.get("settings")));
            assertThat(records("start").get(0).get("configVersion").asText()).isEqualTo(g.configVersion());
            assertThat(Files.readString(Ledger.fileIn(dir.resolve("data")))).doesNotContain(g.adminToken(), dir.toString());

            Assumptions.assumeTrue(installed("jq") && installed("sha256sum"), "jq and sha256sum are not installed");
            String line = Files.readAllLines(Ledger.fileIn(dir.resolve("data"))).get(0);
            Process p = new ProcessBuilder("sh", "-c", "jq -cjS .settings | sha256sum").start();
            p.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(out.split(" ")[0]).isEqualTo(g.configVersion());
        }
    }

    @Test
    void directoryRecords_atStartAndOnEachAcceptedReload_addedAndRemovedPerEntity_hashedKeysOnly() throws Exception {
        Path file = dir.resolve("entities.yaml");
        Files.writeString(file, """
                entities:
                  - id: acme
                    name: Acme Data Ltd
                    apiKeys: [k-acme-1, k-acme-2]
                    accounts: ["4242"]
                    networks: [198.51.100.0/24]
                  - id: beta
                    name: Beta Corp
                    apiKeys: [k-beta-1]
                """);
        try (Gateway g = start()) {
            KeyHasher hasher = KeyHasher.open(null, dir.resolve("data"));
            String acme1 = hasher.show("k-acme-1");
            String acme2 = hasher.show("k-acme-2");
            String acme3 = hasher.show("k-acme-3");
            assertThat(acme1).startsWith("key:").endsWith(":me-1");
            List<String> types = new ArrayList<>();
            records(null).forEach(r -> types.add(r.get("type").asText()));
            assertThat(types).containsExactly("config", "directory", "start");
            JsonNode first = records("directory").get(0);
            assertThat(first.get("reason").asText()).isEqualTo("start");
            assertThat(first.get("entities").asInt()).isEqualTo(2);
            assertThat(first.get("changes")).hasSize(2);
            JsonNode acme = first.get("changes").get(0);
            assertThat(acme.get("entity").asText()).isEqualTo("acme");
            assertThat(acme.get("change").asText()).isEqualTo("added");
            assertThat(acme.get("name").asText()).isEqualTo("Acme Data Ltd");
            assertThat(texts(acme.get("added"))).containsExactlyInAnyOrder(acme1, acme2, "account:4242", "net:198.51.100.0/24");
            assertThat(acme.get("removed")).isEmpty();
            assertThat(records("start").get(0).get("directoryVersion").asText()).isEqualTo(first.get("version").asText());

            Files.writeString(file, """
                    entities:
                      - id: acme
                        name: Acme Data Limited
                        apiKeys: [k-acme-1, k-acme-3]
                        accounts: ["4242"]
                        networks: [198.51.100.0/24]
                      - id: gamma
                        name: Gamma
                        accounts: ["77"]
                    """);
            g.tick();
            JsonNode reload = records("directory").get(1);
            assertThat(reload.get("reason").asText()).isEqualTo("reload");
            assertThat(reload.get("changes")).hasSize(3);
            JsonNode changed = reload.get("changes").get(0);
            assertThat(changed.get("entity").asText()).isEqualTo("acme");
            assertThat(changed.get("change").asText()).isEqualTo("changed");
            assertThat(changed.get("previousName").asText()).isEqualTo("Acme Data Ltd");
            assertThat(texts(changed.get("added"))).containsExactly(acme3);
            assertThat(texts(changed.get("removed"))).containsExactly(acme2);
            JsonNode beta = reload.get("changes").get(1);
            assertThat(beta.get("change").asText()).isEqualTo("removed");
            assertThat(texts(beta.get("removed"))).hasSize(1).allMatch(k -> k.startsWith("key:") && k.endsWith(":ta-1"));
            assertThat(reload.get("changes").get(2).get("change").asText()).isEqualTo("added");

            Files.writeString(file, "entities:\n  - id: acme\n    apiKeys: [k-beta-1]\n  - id: acme\n"); // rejected: no record
            g.tick();
            assertThat(records("directory")).hasSize(2);
        }
        String ledger = Files.readString(Ledger.fileIn(dir.resolve("data")));
        assertThat(ledger).doesNotContain("k-acme-1", "k-acme-2", "k-acme-3", "k-beta-1");

        // the fold of the records is the directory in force, and hashes to the last version
        assertThat(versionOfFold(records("directory"))).isEqualTo(records("directory").get(records("directory").size() - 1).get("version").asText());

        // a restart with the same directory writes none; a directory changed while stopped is recorded at the next start
        int before = records("directory").size();
        String inForce = """
                entities:
                  - id: acme
                    name: Acme Data Limited
                    apiKeys: [k-acme-1, k-acme-3]
                    accounts: ["4242"]
                    networks: [198.51.100.0/24]
                  - id: gamma
                    name: Gamma
                    accounts: ["77"]
                """;
        Files.writeString(file, inForce);
        try (Gateway g = start()) {
            assertThat(records("directory")).hasSize(before);
        }
        Files.writeString(file, inForce.replace("accounts: [\"77\"]", "accounts: [\"77\", \"78\"]"));
        try (Gateway g = start()) {
            List<JsonNode> dirs = records("directory");
            assertThat(dirs).hasSize(before + 1);
            JsonNode last = dirs.get(dirs.size() - 1);
            assertThat(last.get("reason").asText()).isEqualTo("start");
            assertThat(last.get("changes")).hasSize(1);
            assertThat(texts(last.get("changes").get(0).get("added"))).containsExactly("account:78");
            assertThat(versionOfFold(dirs)).isEqualTo(last.get("version").asText());
        }
    }

    /** What a reader without our code does: apply each record's changes in order, then hash the canonical JSON. */
    static String versionOfFold(List<JsonNode> directoryRecords) {
        Map<String, Object[]> state = new TreeMap<>();
        for (JsonNode r : directoryRecords) {
            for (JsonNode c : r.get("changes")) {
                String id = c.get("entity").asText();
                if (c.get("change").asText().equals("removed")) {
                    state.remove(id);
                    continue;
                }
                @SuppressWarnings("unchecked")
                TreeSet<String> ids = state.containsKey(id) ? (TreeSet<String>) state.get(id)[1] : new TreeSet<>();
                c.get("added").forEach(x -> ids.add(x.asText()));
                c.get("removed").forEach(x -> ids.remove(x.asText()));
                state.put(id, new Object[] {c.get("name").asText(), ids});
            }
        }
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        state.forEach((id, v) -> {
            ObjectNode e = o.putObject(id);
            e.put("name", (String) v[0]);
            ArrayNode a = e.putArray("identifiers");
            @SuppressWarnings("unchecked")
            TreeSet<String> ids = (TreeSet<String>) v[1];
            ids.forEach(a::add);
        });
        return CanonicalJson.sha256(o);
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(x -> out.add(x.asText()));
        return out;
    }

    static boolean installed(String tool) {
        try {
            return new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
