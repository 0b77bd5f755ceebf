package dev.tollgate.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    GatewayConfig load(String yaml) {
        return ConfigLoader.fromYaml(yaml, dir, "tollgate.yaml");
    }

    @Test
    void onlyUpstreamUrl_isAComplete_configurationWithTheSpecDefaults() {
        GatewayConfig c = load("upstream:\n  url: http://127.0.0.1:8081\n");
        assertThat(c.listen()).isEqualTo(new HostPort("0.0.0.0", 8080));
        assertThat(c.upstream().host()).isEqualTo("127.0.0.1");
        assertThat(c.upstream().port()).isEqualTo(8081);
        assertThat(c.upstream().connectTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.upstream().responseTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.admin().listen()).isEqualTo(new HostPort("127.0.0.1", 9090));
        assertThat(c.admin().tokenFile()).isNull();
        assertThat(c.dataDir()).isEqualTo(dir.resolve("../data").normalize());
        assertThat(c.meter().threshold()).isEqualTo(1_000_000);
        assertThat(c.meter().window()).isEqualTo(Duration.ofHours(24));
        assertThat(c.meter().bucket()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.meter().mode()).isEqualTo(GatewayConfig.Mode.METER);
        assertThat(c.counting().postCountHeader()).isEqualTo("X-Post-Count");
        assertThat(c.counting().json()).isTrue();
        assertThat(c.entities().apiKeyHeaders()).containsExactly("Authorization", "X-Api-Key");
        assertThat(c.entities().accountHeader()).isEqualTo("X-Account-Id");
        assertThat(c.entities().trustedProxies()).extracting(Object::toString).containsExactly("127.0.0.1/32");
        assertThat(c.entities().ipv4Prefix()).isEqualTo(24);
        assertThat(c.entities().ipv6Prefix()).isEqualTo(48);
        assertThat(c.entities().directory()).as("no entities.yaml next to the file: empty directory").isNull();
        assertThat(c.damages().terms().price()).isEqualByComparingTo(BigDecimal.valueOf(15_000));
        assertThat(c.damages().terms().unit()).isEqualTo(1_000_000);
        assertThat(c.damages().rounding().configName()).isEqualTo("prorated");
    }

    @Test
    void theShippedExample_loads() throws Exception {
        Path example = Path.of("..", "config", "tollgate.yaml");
        GatewayConfig c = ConfigLoader.load(example);
        assertThat(c.entities().directory()).isNotNull();
        assertThat(c.upstream().port()).isEqualTo(8081);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown top-level key       | upstream: {url: 'http://h:1'}\\nlisten2: x               | tollgate.yaml: unknown key 'listen2' (expected one of: listen, upstream, admin, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, cluster)
            unknown nested key          | upstream: {url: 'http://h:1', conectTimeout: 2s}          | unknown key 'upstream.conectTimeout' (expected one of: url, connectTimeout, responseTimeout, idleTimeout, maxIdlePerLoop)
            missing url                 | listen: 0.0.0.0:8080                                      | upstream.url: missing (expected: the post API's URL
            https url                   | upstream: {url: 'https://h'}                              | upstream.url: 'https://h' (expected: an http:// URL
            bad duration                | upstream: {url: 'http://h:1', connectTimeout: 2 secs}     | upstream.connectTimeout: '2 secs' (expected: a duration such as 500ms, 2s, 1m or 24h)
            bucket not a divisor        | upstream: {url: 'http://h:1'}\\nmeter: {bucket: 7m}        | meter.bucket: 7m (expected
            bad mode                    | upstream: {url: 'http://h:1'}\\nmeter: {mode: strict}      | meter.mode: 'strict' (expected: meter, warn or block)
            threshold not a number      | upstream: {url: 'http://h:1'}\\nmeter: {threshold: lots}   | meter.threshold: 'lots' (expected: a whole number)
            bad listen                  | listen: 8080\\nupstream: {url: 'http://h:1'}               | listen: '8080' (expected: host:port
            bad CIDR                    | upstream: {url: 'http://h:1'}\\nentities: {trustedProxies: [10.0.0.0/33]} | entities.trustedProxies: '10.0.0.0/33' (expected: a prefix length in 0..32)
            bad prefix                  | upstream: {url: 'http://h:1'}\\nentities: {ipv4Prefix: 40} | entities.ipv4Prefix: 40 (expected: 1..32)
            bad rounding                | upstream: {url: 'http://h:1'}\\ndamages: {rounding: up}    | damages.rounding: up (expected: prorated, per-started-unit or per-whole-unit)
            bad currency                | upstream: {url: 'http://h:1'}\\ndamages: {currency: XYZ1}  | damages.currency: XYZ1 (expected: an ISO 4217 code
            bad price                   | upstream: {url: 'http://h:1'}\\ndamages: {price: -3}       | damages.price: -3 (expected: a positive decimal amount)
            section not a mapping       | upstream: http://h:1                                      | upstream: 'http://h:1' (expected: a mapping of keys)
            not yaml                    | 'upstream: [unclosed'                                     | tollgate.yaml: not valid YAML at line
            cluster without redis       | upstream: {url: 'http://h:1'}\\ncluster: {nodeId: gw-1}   | cluster.redis: missing (expected: the Redis nodes
            cluster bad redis url       | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['http://h:1']}} | cluster.redis.nodes: 'http://h:1' (expected: redis://host:port
            cluster password in url     | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://:pw@h:1']}} | (expected: no password in the URL; put it in cluster.redis.passwordFile)
            cluster unknown key         | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1'], flush: 1s}} | unknown key 'cluster.redis.flush'
            cluster cold below flush    | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1'], coldFlushInterval: 500ms}} | cluster.redis.coldFlushInterval: 500ms (expected: from cluster.redis.flushInterval, 1s, to 5m)
            cluster flush too long      | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1'], flushInterval: 10m}} | cluster.redis.flushInterval: 10m (expected: at most 5m)
            cluster cold too long       | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1'], coldFlushInterval: 1h}} | cluster.redis.coldFlushInterval: 1h (expected: from cluster.redis.flushInterval
            cluster bad node id         | upstream: {url: 'http://h:1'}\\ncluster: {nodeId: 'gw 1', redis: {nodes: ['redis://h:1']}, postgres: {url: 'jdbc:postgresql://h/t', user: t, passwordFile: pw}} | cluster.nodeId: 'gw 1' (expected
            cluster no postgres         | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1']}} | cluster.postgres: missing
            cluster bad postgres url    | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1']}, postgres: {url: 'postgres://h/t', user: t}} | cluster.postgres.url: 'postgres://h/t' (expected: jdbc:postgresql://
            cluster missing pw file     | upstream: {url: 'http://h:1'}\\ncluster: {redis: {nodes: ['redis://h:1']}, postgres: {url: 'jdbc:postgresql://h/t', user: t, passwordFile: nope.pw}} | cluster.postgres.passwordFile: '
            missing directory           | upstream: {url: 'http://h:1'}\\nentities: {directory: nope.yaml} | entities.directory:
            """)
    void badInput_isRejected_namingTheKey(String what, String yaml, String message) {
        String text = yaml.replace("\\n", "\n");
        if (text.startsWith("'") && text.endsWith("'")) {
            text = text.substring(1, text.length() - 1);
        }
        String t = text;
        assertThatThrownBy(() -> load(t)).isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @Test
    void missingFile_isNamed() {
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("absent.yaml")))
                .isInstanceOf(ConfigException.class).hasMessageEndingWith("absent.yaml: no such file");
    }

    @Test
    void relativePaths_resolveAgainstTheFilesFolder() throws Exception {
        Files.writeString(dir.resolve("dir.yaml"), "entities: []\n");
        GatewayConfig c = load("upstream: {url: 'http://h:1'}\ndataDir: state\nentities: {directory: dir.yaml}\nadmin: {tokenFile: t.txt}\n");
        assertThat(c.dataDir()).isEqualTo(dir.resolve("state"));
        assertThat(c.entities().directory()).isEqualTo(dir.resolve("dir.yaml"));
        assertThat(c.admin().tokenFile()).isEqualTo(dir.resolve("t.txt"));
    }
}
