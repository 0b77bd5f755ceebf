package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed, oversized and smuggling-shaped requests are answered with a 4xx and the connection
 * closed; none of their bytes reaches the upstream, and the gateway goes on serving others.
 */
@ExtendWith(LeakCheck.class)
class RequestValidationTest {
    @TempDir
    Path dir;
    ScriptedUpstream upstream;
    Gateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new ScriptedUpstream();
        gateway = GatewayFixture.startGateway(dir, upstream.url(),
                "limits:\n  maxInitialLineLength: 1024\n  maxHeaderSize: 4096\n  maxHeaderCount: 20\n  clientIdleTimeout: 400ms\n  requestHeadTimeout: 400ms\n",
                new ManualClock(GatewayFixture.T0), MeterListener.none());
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        upstream.close();
    }

    static Stream<Arguments> refused() {
        String h = "Host: t\r\n";
        return Stream.of(
                Arguments.of("CL and TE", "POST /p HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE and CL", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("duplicate CL, same value", "POST /p HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
                Arguments.of("duplicate CL, other values", "POST /p HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
                Arguments.of("CL list", "POST /p HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\nhello", 400),
                Arguments.of("CL not a number", "POST /p HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", 400),
                Arguments.of("TE not chunked last", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE unknown coding", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE twice", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE in HTTP/1.0", "POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("space before colon", "POST /p HTTP/1.1\r\n" + h + "Content-Length : 5\r\n\r\nhello", 400),
                Arguments.of("bad chunk size", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("no Host in HTTP/1.1", "GET /p HTTP/1.1\r\n\r\n", 400),
                Arguments.of("two Hosts", "GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
                Arguments.of("absolute form, not http(s)", "GET gopher://evil.example/p HTTP/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\n" + h + "\r\n", 405),
                Arguments.of("HTTP/2 preface version", "GET /p HTTP/2.0\r\n" + h + "\r\n", 505),
                Arguments.of("garbage request line", "HELLO\r\n\r\n", 400),
                Arguments.of("request line too long", "GET /" + "a".repeat(2000) + " HTTP/1.1\r\n" + h + "\r\n", 414),
                Arguments.of("headers too large", "GET /p HTTP/1.1\r\n" + h + "X-Big: " + "b".repeat(5000) + "\r\n\r\n", 431),
                Arguments.of("too many headers", "GET /p HTTP/1.1\r\n" + h + "X-A: 1\r\n".repeat(25) + "\r\n", 431),
                Arguments.of("unknown expectation", "GET /p HTTP/1.1\r\n" + h + "Expect: teapot\r\n\r\n", 417));
    }

    @ParameterizedTest(name = "{0} → {2}")
    @MethodSource("refused")
    void refused_neverForwarded_connectionClosed(String what, String raw, int status) throws Exception {
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            RawHttp.Response r = c.exchange(raw);
            assertThat(r.status()).isEqualTo(status);
            assertThat(r.header("Content-Type")).isEqualTo("application/problem+json");
            assertThat(c.closedByPeer()).as("connection closed").isTrue();
        }
        assertThat(upstream.received).as("nothing reached the upstream").isEmpty();
        // and others are still served
        upstream.then(ScriptedUpstream.json("{\"data\":[1]}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            assertThat(c.exchange(RawHttp.get("/ok")).status()).isEqualTo(200);
        }
    }

    @Test
    void smuggledSecondRequest_inABody_isNotForwardedAsARequest() throws Exception {
        upstream.then(ScriptedUpstream.json("{\"data\":[1]}"));
        String inner = "GET /admin HTTP/1.1\r\nHost: t\r\n\r\n";
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            RawHttp.Response r = c.exchange("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: " + inner.length() + "\r\n\r\n" + inner);
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(upstream.received).hasSize(1);
        assertThat(new String(upstream.received.get(0).body())).isEqualTo(inner);
    }

    @Test
    void slowClient_neverFinishingItsHeaders_getsA408AndIsClosed_andNothingIsForwarded() throws Exception {
        try (RawHttp slow = new RawHttp(gateway.proxyAddress()); RawHttp other = new RawHttp(gateway.proxyAddress())) {
            slow.send("GET /2/tweets/search/recent HTTP/1.1\r\nHost: t\r\nX-Slow: ");
            upstream.then(ScriptedUpstream.json("{\"data\":[1]}"));
            assertThat(other.exchange(RawHttp.get("/ok")).status()).as("others are served meanwhile").isEqualTo(200);
            // the head deadline (400 ms here) ends it; the read waits for that, bounded by the socket timeout
            RawHttp.Response r = slow.read(false);
            assertThat(r.status()).isEqualTo(408);
            assertThat(slow.closedByPeer()).isTrue();
        }
        assertThat(upstream.received).hasSize(1);
        assertThat(upstream.received.get(0).head()).startsWith("GET /ok ");
    }

    @Test
    void idleKeepAliveConnection_isClosedQuietly() throws Exception {
        upstream.then(ScriptedUpstream.json("{\"data\":[1]}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            assertThat(c.exchange(RawHttp.get("/ok")).status()).isEqualTo(200);
            assertThat(c.closedByPeer()).as("closed after the idle timeout, without a response").isTrue();
        }
    }
}
