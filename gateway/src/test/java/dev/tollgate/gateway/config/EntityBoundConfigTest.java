package dev.tollgate.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.meter.MeterConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code meter.maxEntities} and {@code meter.evictionProtectShare}: defaults, values, one-line errors. */
class EntityBoundConfigTest {
    @TempDir
    Path dir;

    private GatewayConfig load(String meter) {
        return ConfigLoader.fromYaml("upstream: {url: 'http://h:1'}\nmeter: " + meter + "\n", dir, "tollgate.yaml");
    }

    @Test
    void defaults_sizeTheTableFromTheHeap() {
        MeterConfig m = load("{}").meter().meterConfig();
        assertThat(m.maxEntities()).isEqualTo(MeterConfig.defaultMaxEntities());
        assertThat(m.evictionProtectShare()).isEqualTo(0.1);
    }

    @Test
    void values_areTaken() {
        MeterConfig m = load("{maxEntities: 5000, evictionProtectShare: 0.25}").meter().meterConfig();
        assertThat(m.maxEntities()).isEqualTo(5000);
        assertThat(m.evictionProtectShare()).isEqualTo(0.25);
    }

    @Test
    void badValues_areRejected_namingTheKey() {
        assertThatThrownBy(() -> load("{maxEntities: -5}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("meter.maxEntities: -5 (expected: a positive number of entities");
        assertThatThrownBy(() -> load("{maxEntities: many}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("meter.maxEntities: 'many' (expected: a whole number)");
        assertThatThrownBy(() -> load("{evictionProtectShare: 2}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("meter.evictionProtectShare: 2.0 (expected: a share of the threshold above 0 and at most 1");
    }
}
