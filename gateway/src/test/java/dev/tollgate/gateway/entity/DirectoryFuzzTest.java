package dev.tollgate.gateway.entity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tollgate.gateway.config.ConfigException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the entity directory loader: any text is either a directory or an
 * IllegalArgumentException/ConfigException whose message is one line naming the file and the
 * entry or key at fault, never another exception.
 */
class DirectoryFuzzTest {

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void anyText_directoryOrOneLineError(byte[] input) {
        String yaml = new String(input, StandardCharsets.UTF_8);
        try {
            assertThat(Directory.parse(yaml, "fuzz-entities.yaml")).isNotNull();
        } catch (ConfigException | IllegalArgumentException e) {
            assertThat(e.getMessage()).startsWith("fuzz-entities.yaml").doesNotContain("\n", "\r");
        }
    }
}
