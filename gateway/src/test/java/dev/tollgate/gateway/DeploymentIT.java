package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Follows the README's deployment steps as written: the shell block between
 * {@code <!-- deployment:begin -->} and {@code <!-- deployment:end -->} runs with bash from the
 * repository root, with the built jar, in a network namespace of its own (so its fixed ports
 * 8080, 8081 and 9090 are free whatever else runs here), with {@code /etc/tollgate} and
 * {@code /var/lib/tollgate} moved into a temporary directory. Nothing else of the text changes.
 */
class DeploymentIT {
    @TempDir
    Path tmp;

    @Test
    void readmeDeploymentSteps_workAsWritten() throws Exception {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        assertThat(repo.resolve("gateway/target/tollgate.jar")).as("the jar is built before integration tests").exists();
        assumeTrue(canUnshareNetwork(), "DeploymentIT SKIPPED: this machine cannot make a network namespace (unshare --net); "
                + "the README's deployment steps were NOT run");
        String readme = Files.readString(repo.resolve("README.md"));
        String block = readme.substring(readme.indexOf("<!-- deployment:begin -->"), readme.indexOf("<!-- deployment:end -->"));
        String script = block.substring(block.indexOf("```sh\n") + 6, block.lastIndexOf("```"));
        Path etc = tmp.resolve("etc/tollgate");
        Path data = tmp.resolve("var/lib/tollgate");
        String moved = script.replace("/etc/tollgate", etc.toString()).replace("/var/lib/tollgate", data.toString());
        Path file = tmp.resolve("deployment.sh");
        // what the steps start in the background is stopped whatever happens (a step that fails must not leave servers running)
        Files.writeString(file, "set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + moved);
        Path out = tmp.resolve("deployment.out");
        Process p = new ProcessBuilder("unshare", "--net", "--fork", "bash", "-c", "ip link set lo up && exec bash " + file)
                .directory(repo.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(done).as("the steps finished within 120 s:\n%s", printed).isTrue();
        assertThat(p.exitValue()).as("the steps' exit status:\n%s", printed).isZero();
        assertThat(printed).as("readyz").contains("\"status\" : \"ready\"");
        assertThat(printed).as("the proxied request").contains("\n200\n");
        assertThat(printed).as("the entity view").contains("\"id\" : \"acme\"").contains("\"posts24h\" : 100");
        assertThat(etc.resolve("tollgate.yaml")).exists();
        assertThat(etc.resolve("entities.yaml")).exists();
        LedgerVerification v = LedgerVerification.of(Ledger.fileIn(data));
        assertThat(v.ok()).as(v.reason()).isTrue();
        assertThat(v.records().get(v.records().size() - 1).type()).as("a clean stop").isEqualTo("stop");
        assertThat(data.resolve("access.log")).as("the access log, on by default").exists();
    }

    private static boolean canUnshareNetwork() {
        try {
            Process p = new ProcessBuilder("unshare", "--net", "--fork", "true").redirectErrorStream(true).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
