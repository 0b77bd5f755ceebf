package dev.tollgate.gateway.entity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tollgate.gateway.config.ConfigException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the entity directory loader: any text is either a directory or an
 * IllegalArgumentException/ConfigException whose message is one line (naming the file for a
 * YAML syntax error, else the entry and key at fault), never another exception.
 */
class DirectoryFuzzTest {

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void anyText_directoryOrOneLineError(byte[] input) {
        String yaml = new String(input, StandardCharsets.UTF_8);
        try {
            assertThat(Directory.parse(yaml, "fuzz-entities.yaml")).isNotNull();
        } catch (ConfigException | IllegalArgumentException e) {
            // syntax errors name the file; the rest name the entry and key (the watcher names the file when it logs them)
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r");
        }
    }
}
