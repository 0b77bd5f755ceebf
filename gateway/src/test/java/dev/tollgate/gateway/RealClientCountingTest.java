package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real HTTP clients that ask for compression, as scrapers do by default — curl {@code --compressed}
 * and Python {@code requests} — through the gateway in front of the built-in post API compressing
 * its pages. Each is skipped, saying why, where the client is not installed.
 */
@ExtendWith(LeakCheck.class)
class RealClientCountingTest {
    static final String ME = "net:127.0.0.0/24";
    static final String PAGE = "/2/tweets/search/recent?max_results=100";

    @TempDir
    Path dir;

    static PostApiServer.Options compressing() {
        return new PostApiServer.Options(10, false, false, true);
    }

    record Run(int exit, String out) {
    }

    static Run run(Path dir, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }

    static boolean available(Path dir, String... probe) {
        try {
            return run(dir, List.of(probe)).exit() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void curlCompressed_everyCoding_isCountedExactly() throws Exception {
        assumeTrue(available(dir, "curl", "--version"), "curl is not installed: skipped");
        try (GatewayFixture f = new GatewayFixture(dir, compressing(), "")) {
            long expected = 0;
            for (String coding : new String[] {"gzip", "deflate", "br", "zstd"}) {
                Path headers = dir.resolve(coding + ".headers");
                Run r = run(dir, List.of("curl", "-sS", "--compressed", "-H", "Accept-Encoding: " + coding, "-D", headers.toString(),
                        f.url(PAGE).toString()));
                assertThat(r.exit()).as("curl for %s: %s", coding, r.out()).isZero();
                assertThat(Files.readString(headers).toLowerCase(java.util.Locale.ROOT)).contains("content-encoding: " + coding);
                assertThat(r.out()).as(coding).startsWith("{\"data\":[").contains("\"result_count\":100");
                expected += 100;
                long want = expected;
                Await.value(() -> f.posts(ME), want, "posts after curl " + coding);
            }
        }
    }

    @Test
    void pythonRequests_defaultAcceptEncoding_isCountedExactly() throws Exception {
        assumeTrue(available(dir, "python3", "-c", "import requests"), "python3 with requests is not installed: skipped");
        try (GatewayFixture f = new GatewayFixture(dir, compressing(), "")) {
            String script = "import requests, sys\n"
                    + "r = requests.get(sys.argv[1])\n"
                    + "print(r.status_code, r.headers.get('Content-Encoding'), len(r.json()['data']), r.request.headers['Accept-Encoding'])\n";
            Run r = run(dir, List.of("python3", "-c", script, f.url(PAGE).toString()));
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(r.out()).as("status, coding, posts decoded by requests").startsWith("200 gzip 100 ");
            Await.value(() -> f.posts(ME), 100, "posts after python requests");
        }
    }
}
