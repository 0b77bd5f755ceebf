package dev.tollgate.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger's config record is data (SPEC §6): the effective settings in the configuration's own
 * syntax (its YAML keys, durations as written, paths relative to the file), no secret, and a
 * version that is the SHA-256 of its canonical JSON, unchanged by how a same setting is written.
 */
class ConfigRecordTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;

    ConfigRecord of(String yaml) throws Exception {
        Path file = dir.resolve("conf/tollgate.yaml");
        Files.createDirectories(file.getParent());
        Files.writeString(file, yaml);
        return ConfigRecord.of(ConfigLoader.load(file));
    }

    @Test
    void settings_inTheConfigurationsOwnSyntax_withRelativePaths_andEveryDefault() throws Exception {
        Files.createDirectories(dir.resolve("conf"));
        Files.writeString(dir.resolve("conf/entities.yaml"), "entities: []\n");
        Files.writeString(dir.resolve("conf/admin.token"), "the-admin-token-itself\n");
        Files.writeString(dir.resolve("conf/hash.secret"), "the-key-hash-secret-itself\n");
        ConfigRecord r = of("upstream:\n  url: http://127.0.0.1:8081\nadmin:\n  tokenFile: admin.token\nentities:\n"
                + "  keyHashSecretFile: hash.secret\nmeter:\n  bucket: 60s\n");
        JsonNode s = r.settings();
        assertThat(s.get("listen").asText()).isEqualTo("0.0.0.0:8080");
        assertThat(s.at("/upstream/url").asText()).isEqualTo("http://127.0.0.1:8081");
        assertThat(s.at("/upstream/connectTimeout").asText()).isEqualTo("2s");
        assertThat(s.at("/meter/bucket").asText()).as("60s is written as the config's shortest form").isEqualTo("1m");
        assertThat(s.at("/meter/window").asText()).isEqualTo("24h");
        assertThat(s.at("/meter/threshold").asLong()).isEqualTo(1_000_000);
        assertThat(s.get("dataDir").asText()).isEqualTo("../data");
        assertThat(s.at("/entities/directory").asText()).isEqualTo("entities.yaml");
        assertThat(s.at("/admin/tokenFile").asText()).isEqualTo("admin.token");
        assertThat(s.at("/entities/keyHashSecretFile").asText()).isEqualTo("hash.secret");
        assertThat(s.at("/entities/trustedProxies/0").asText()).isEqualTo("127.0.0.1/32");
        assertThat(s.at("/damages/price").isNumber()).isTrue();
        assertThat(s.at("/damages/price").asText()).isEqualTo("15000");
        assertThat(s.at("/damages/rounding").asText()).isEqualTo("prorated");
        String text = CanonicalJson.text(s);
        assertThat(text).doesNotContain(dir.toString(), "PT", "the-admin-token-itself", "the-key-hash-secret-itself", "Upstream[");
    }

    @Test
    void version_isTheSha256OfTheCanonicalJson_sortedKeysNoWhitespace() throws Exception {
        ConfigRecord r = of("upstream:\n  url: http://127.0.0.1:8081\n");
        String text = CanonicalJson.text(r.settings());
        assertThat(text).doesNotContain(" ", "\n").startsWith("{\"accessLog\":{\"enabled\":true},\"admin\":{\"listen\":\"127.0.0.1:9090\"},\"counting\":{");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        assertThat(r.version()).isEqualTo(sha).hasSize(64);
        assertThat(r.settings().toString()).as("the record holds the settings already in canonical order").isEqualTo(text);
    }

    @Test
    void version_followsTheSettings_notHowTheyAreWritten() throws Exception {
        String a = of("upstream:\n  url: http://127.0.0.1:8081\nmeter:\n  bucket: 1m\n  threshold: 1000000\ndamages:\n  price: 15000\n").version();
        String b = of("damages:\n  price: 15000.00\nmeter:\n  threshold: 1000000\n  bucket: 60000ms\nupstream:\n  url: http://127.0.0.1:8081\n")
                .version();
        String c = of("upstream:\n  url: http://127.0.0.1:8081\nmeter:\n  bucket: 5m\n").version();
        assertThat(b).isEqualTo(a);
        assertThat(c).isNotEqualTo(a);
    }

    /** Every key the commented example configuration shows is in the record, under the same name (a new key must be added to both). */
    @Test
    void everyKeyOfTheExampleConfiguration_isInTheRecord_underItsOwnName() throws Exception {
        Path example = Path.of("..", "config", "tollgate.yaml");
        ConfigRecord r = ConfigRecord.of(ConfigLoader.load(example));
        List<String> missing = new ArrayList<>();
        keys(YAML.readTree(Files.readString(example)), "", r.settings(), missing);
        assertThat(missing).isEmpty();
        List<String> extra = new ArrayList<>();
        keys(r.settings(), "", YAML.readTree(Files.readString(example)), extra);
        assertThat(extra).as("keys in the record that the example does not show").isEmpty();
    }

    /**
     * The same for the example's commented-out cluster block, uncommented as its comment says
     * (the first '#' of each line up to the "##" line that ends it; optional lines stay comments).
     */
    @Test
    void everyKeyOfTheExampleClusterBlock_isInTheRecord() throws Exception {
        String example = Files.readString(Path.of("..", "config", "tollgate.yaml"));
        StringBuilder yaml = new StringBuilder();
        boolean inBlock = false;
        for (String line : example.split("\n")) {
            if (line.startsWith("#cluster:")) {
                inBlock = true;
            } else if (line.startsWith("## end of the cluster block")) {
                inBlock = false;
            }
            yaml.append(inBlock ? line.substring(1) : line).append('\n');
        }
        Path conf = dir.resolve("cluster-conf");
        Files.createDirectories(conf);
        Files.writeString(conf.resolve("redis.password"), "r-secret\n");
        Files.writeString(conf.resolve("pg.password"), "pg-secret\n");
        Files.writeString(conf.resolve("tollgate.yaml"), yaml.toString());
        Files.writeString(conf.resolve("entities.yaml"), "entities: []\n");
        GatewayConfig config = ConfigLoader.load(conf.resolve("tollgate.yaml"));
        assertThat(config.clustered()).isTrue();
        ConfigRecord r = ConfigRecord.of(config);
        List<String> missing = new ArrayList<>();
        keys(YAML.readTree(yaml.toString()), "", r.settings(), missing);
        assertThat(missing).isEmpty();
        List<String> extra = new ArrayList<>();
        keys(r.settings(), "", YAML.readTree(yaml.toString()), extra);
        assertThat(extra).isEmpty();
        assertThat(r.settings().toString()).doesNotContain("secret");
        assertThat(r.settings().at("/cluster/postgres/passwordFile").asText()).isEqualTo("pg.password");
    }

    private static void keys(JsonNode node, String path, JsonNode other, List<String> missing) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            String p = path.isEmpty() ? k : path + "." + k;
            if (!other.has(k)) {
                missing.add(p);
            } else if (node.get(k).isObject()) {
                keys(node.get(k), p, other.get(k), missing);
            }
        }
    }
}
