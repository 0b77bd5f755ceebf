package dev.tollgate.gateway.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Lines written one after another through the writer's one generator: each a whole JSON object on its own line, byte for byte. */
class AccessLogLinesTest {

    @Test
    void consecutiveLines_eachExact_escapesNullsAndTimes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long t = Instant.parse("2026-11-25T19:00:54.120Z").toEpochMilli();
        try (AccessLog log = AccessLog.to(bytes, 16)) {
            log.log(new AccessLog.Entry(t, "127.0.0.1", "GET", "/2/tweets?q=\"a\"\\b", 200, "forwarded", "key:ab…cd", 10, 3465,
                    123_456, 1_234_567_891));
            log.log(new AccessLog.Entry(t + 880, "::1", "POST", "/x\u0001", 400, "rejected", null, 0, 0, -1, 5_000));
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(
                "{\"time\":\"2026-11-25T19:00:54.120Z\",\"client\":\"127.0.0.1\",\"method\":\"GET\",\"target\":\"/2/tweets?q=\\\"a\\\"\\\\b\","
                        + "\"status\":200,\"outcome\":\"forwarded\",\"entity\":\"key:ab…cd\",\"posts\":10,\"bytes\":3465,"
                        + "\"upstreamTime\":0.000123,\"totalTime\":1.234567}\n"
                        + "{\"time\":\"2026-11-25T19:00:55Z\",\"client\":\"::1\",\"method\":\"POST\",\"target\":\"/x\\u0001\","
                        + "\"status\":400,\"outcome\":\"rejected\",\"entity\":null,\"posts\":0,\"bytes\":0,"
                        + "\"upstreamTime\":null,\"totalTime\":0.000005}\n");
    }
}
