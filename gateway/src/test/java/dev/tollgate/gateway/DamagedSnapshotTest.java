package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A window snapshot that fails its check stops {@code serve} with one line that says what to do
 * (keep the file, check the disk, restore it; move it aside only to accept losing its counts),
 * never "remove it", and the file is left where it was.
 */
class DamagedSnapshotTest {
    @TempDir
    Path dir;

    @Test
    void serve_withADamagedSnapshot_refusesToStart_withAdviceThatLosesNothing() throws Exception {
        Path windows = Files.createDirectories(dir.resolve("data").resolve("windows"));
        Path snapshot = windows.resolve("snapshot-3.tsv");
        Files.writeString(snapshot, "net:127.0.0.0/24\t1795478400000\t500\t5\nEND\t1\t0\n");
        Files.writeString(dir.resolve("tollgate.yaml"), "listen: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:9\nadmin:\n"
                + "  listen: 127.0.0.1:0\ndataDir: data\n");
        CommandLineTest.Run r = CommandLineTest.run("serve", "--config", dir.resolve("tollgate.yaml").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().strip()).startsWith("tollgate: ").contains(snapshot.toString(), "does not match its check line",
                "does not start rather than lose", "Keep the file", "accept losing").doesNotContain("\n", "\tat ", "remove it");
        assertThat(snapshot).exists();
    }
}
