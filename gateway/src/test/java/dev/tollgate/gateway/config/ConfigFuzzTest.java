package dev.tollgate.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Fuzzes the configuration loader: any text is either a configuration or a ConfigException whose
 * message is one line naming the file and the key (or line) at fault, never another exception.
 */
class ConfigFuzzTest {

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void anyText_configOrOneLineError(byte[] input) {
        String yaml = new String(input, StandardCharsets.UTF_8);
        try {
            assertThat(ConfigLoader.fromYaml(yaml, Path.of("/nonexistent/base"), "fuzz.yaml")).isNotNull();
        } catch (ConfigException e) {
            assertThat(e.getMessage()).startsWith("fuzz.yaml: ").doesNotContain("\n", "\r");
        }
    }
}
