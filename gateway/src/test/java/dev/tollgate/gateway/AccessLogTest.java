package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.access.RateLimitedWarning;
import dev.tollgate.gateway.upstream.PostApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The access log: one JSON line per answered request, on by default, off by config; refusals warned at a bounded rate. */
@ExtendWith(LeakCheck.class)
class AccessLogTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void oneJsonLinePerRequest_forwardedRefusedAndFailed() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            assertThat(f.get("/2/tweets/search/recent?max_results=7", "X-Api-Key", "k-someone").statusCode()).isEqualTo(200);
            assertThat(f.get("/2/tweets/missing").statusCode()).isEqualTo(404);
            try (RawHttp raw = f.raw()) {
                assertThat(raw.exchange("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status()).isEqualTo(400);
            }
            Path file = dir.resolve("data/access.log");
            List<JsonNode> lines = awaitLines(file, 3);
            // each line is written when its response is complete on the gateway's side; a client may see its
            // response first and send the next request, so lines of different connections come in either order
            lines.sort(java.util.Comparator.comparingInt(l -> l.get("status").asInt()));
            JsonNode ok = lines.get(0);
            assertThat(ok.get("method").asText()).isEqualTo("GET");
            assertThat(ok.get("target").asText()).isEqualTo("/2/tweets/search/recent?max_results=7");
            assertThat(ok.get("status").asInt()).isEqualTo(200);
            assertThat(ok.get("outcome").asText()).isEqualTo("forwarded");
            assertThat(ok.get("entity").asText()).startsWith("key:").endsWith(":eone");
            assertThat(ok.get("posts").asLong()).isEqualTo(7);
            assertThat(ok.get("bytes").asLong()).isPositive();
            assertThat(ok.get("client").asText()).isEqualTo("127.0.0.1");
            assertThat(ok.get("upstreamTime").decimalValue()).isPositive();
            assertThat(ok.get("totalTime").decimalValue()).isGreaterThanOrEqualTo(ok.get("upstreamTime").decimalValue());
            assertThat(ok.get("time").asText()).isEqualTo(f.clock.instant().toString());
            assertThat(lines.get(2).get("status").asInt()).isEqualTo(404);
            assertThat(lines.get(2).get("posts").asLong()).isZero();
            JsonNode refused = lines.get(1);
            assertThat(refused.get("status").asInt()).isEqualTo(400);
            assertThat(refused.get("outcome").asText()).isEqualTo("rejected");
            assertThat(refused.get("upstreamTime").isNull()).isTrue();
            assertThat(f.admin("/metrics").body()).contains("tollgate_access_log_lines_total 3.0");
        }
    }

    @Test
    void refusalsByTheHeadValidator_logTheirMethodTargetAndBytes() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            try (RawHttp raw = f.raw()) { // a control byte in the target: refused before Netty parses the head
                assertThat(raw.exchange("GET /2/tweets/a\u0000b?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
            }
            try (RawHttp raw = f.raw()) { // no request line to speak of
                assertThat(raw.exchange("\u0001\u0002 HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
            }
            List<JsonNode> lines = awaitLines(dir.resolve("data/access.log"), 2);
            lines.sort(java.util.Comparator.comparing(l -> l.get("method").asText()));
            assertThat(lines.get(1).get("method").asText()).isEqualTo("GET"); // was GET /bad-request for both
            assertThat(lines.get(1).get("target").asText()).isEqualTo("/2/tweets/a%00b?x=1");
            assertThat(lines.get(0).get("method").asText()).isEqualTo("-");
            assertThat(lines.get(0).get("target").asText()).isEqualTo("-");
            for (JsonNode l : lines) {
                assertThat(l.get("outcome").asText()).isEqualTo("rejected");
                assertThat(l.get("bytes").asLong()).as("the problem's bytes").isPositive(); // was 0
            }
        }
    }

    @Test
    void off_byConfig_writesNothing() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "accessLog:\n  enabled: false\n")) {
            assertThat(f.get("/2/tweets/search/recent?max_results=1").statusCode()).isEqualTo(200);
            assertThat(f.admin("/metrics").body()).doesNotContain("tollgate_access_log_lines_total");
        }
        assertThat(dir.resolve("data/access.log")).doesNotExist();
    }

    @Test
    void warnings_atMostOncePerInterval_withWhatWasSuppressed() {
        Logger logger = (Logger) LoggerFactory.getLogger("access-log-test");
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        logger.addAppender(seen);
        RateLimitedWarning w = new RateLimitedWarning(logger, 10, TimeUnit.SECONDS);
        long t = 1_000_000_000L;
        for (int i = 0; i < 1000; i++) {
            w.warn(t + i * 1_000_000L, "refused {}", i); // 1000 in one second
        }
        w.warn(t + TimeUnit.SECONDS.toNanos(11), "refused {}", "late");
        assertThat(seen.list).extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly("refused 0", "refused late (999 more like it since the last line)");
    }

    private static List<JsonNode> awaitLines(Path file, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            List<JsonNode> lines = new ArrayList<>();
            if (Files.exists(file)) {
                for (String l : Files.readAllLines(file)) {
                    lines.add(JSON.readTree(l));
                }
            }
            if (lines.size() >= n || System.nanoTime() > deadline) {
                assertThat(lines).as("access log lines").hasSize(n);
                return lines;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
