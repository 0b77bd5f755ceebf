package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * HTTP/1.1 request framing, clause by clause (RFC 9112, RFC 9110, RFC 3986), over real loopback
 * sockets: each shape is sent as raw bytes, and the recording upstream proves what was forwarded.
 * A refused shape gets its 4xx, the connection is closed and not one byte reaches the upstream;
 * an accepted shape reaches the upstream as exactly the normalized request. Shapes already in
 * {@link RequestValidationTest} (CL+TE, duplicate CL, TE lists, TE in HTTP/1.0, missing or
 * repeated Host, oversized heads…) are not repeated here.
 */
@ExtendWith(LeakCheck.class)
class RequestFramingConformanceTest {
    private static final String H = "Host: t\r\n";

    @TempDir
    Path dir;
    ScriptedUpstream upstream;
    Gateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new ScriptedUpstream();
        gateway = GatewayFixture.startGateway(dir, upstream.url(), "limits:\n  clientIdleTimeout: 5s\n",
                new ManualClock(GatewayFixture.T0), MeterListener.none());
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        upstream.close();
    }

    static Stream<Arguments> refusedShapes() {
        return Stream.of(
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (two SP after the method)",
                        "GET  /p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (two SP before the version)",
                        "GET /p  HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (HTAB, not SP)",
                        "GET\t/p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (vertical tab)",
                        "GET /p\u000bHTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (form feed)",
                        "GET\f/p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (bare CR as a separator)",
                        "GET\r/p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3: request-line = method SP request-target SP HTTP-version (whitespace before the method)",
                        " GET /p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3.2: a request-target contains no control characters (NUL)",
                        "GET /p\u0000q HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3.2: a request-target contains no control characters (BEL)",
                        "GET /p\u0007 HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3.2: a request-target contains no control characters (BS)",
                        "GET /p\bq HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §3.2: a request-target contains no control characters (DEL)",
                        "GET /p\u007fq HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 3986 §2: a request-target is ASCII (a raw 0xE9 byte)",
                        "GET /caf\u00e9 HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9110 §9.1: method = token (a NUL in the method)",
                        "GE\u0000T /p HTTP/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §2.3: HTTP-name = %s\"HTTP\", case-sensitive",
                        "GET /p http/1.1\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §2.3: HTTP-version = HTTP-name \"/\" DIGIT \".\" DIGIT (two digits)",
                        "GET /p HTTP/1.10\r\n" + H + "\r\n", "malformed"),
                Arguments.of("RFC 9112 §2.2: a bare LF as a line terminator is refused (the safe choice)",
                        "GET /p HTTP/1.1\n" + H.replace("\r\n", "\n") + "\n", "malformed"),
                Arguments.of("RFC 9112 §2.2: a bare CR in a field line is refused",
                        "GET /p HTTP/1.1\r\n" + H + "X-A: 1\rX-B: 2\r\n\r\n", "malformed"),
                Arguments.of("RFC 9110 §5.5: a field value contains no control characters (NUL)",
                        "GET /p HTTP/1.1\r\n" + H + "X-A: a\u0000b\r\n\r\n", "malformed"),
                Arguments.of("RFC 9110 §5.5: a field value contains no control characters (BEL)",
                        "GET /p HTTP/1.1\r\n" + H + "X-A: a\u0007b\r\n\r\n", "malformed"),
                Arguments.of("RFC 9110 §5.5: a field value contains no control characters (DEL)",
                        "GET /p HTTP/1.1\r\n" + H + "X-A: a\u007fb\r\n\r\n", "malformed"),
                Arguments.of("RFC 9110 §5.1: field-name = token (a control character in the name)",
                        "GET /p HTTP/1.1\r\n" + H + "X-\u0001A: 1\r\n\r\n", "malformed"),
                Arguments.of("RFC 9112 §5.1: no whitespace between the field name and colon (HTAB)",
                        "GET /p HTTP/1.1\r\n" + H + "X-A\t: 1\r\n\r\n", "malformed"),
                Arguments.of("RFC 9112 §5.2: obs-fold is refused (an indented Content-Length would change the framing)",
                        "POST /p HTTP/1.1\r\n" + H + "X-A: 1\r\n Content-Length: 5\r\n\r\nhello", "malformed"),
                Arguments.of("RFC 9112 §5.2: obs-fold is refused (an HTAB continuation line)",
                        "GET /p HTTP/1.1\r\n" + H + "X-A: 1\r\n\tmore\r\n\r\n", "malformed"),
                Arguments.of("RFC 9110 §7.2: Host = uri-host [\":\" port] (a space in the host)",
                        "GET /p HTTP/1.1\r\nHost: bad host\r\n\r\n", "host"),
                Arguments.of("RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ) (a slash)",
                        "GET /p HTTP/1.1\r\nHost: a/b\r\n\r\n", "host"),
                Arguments.of("RFC 3986 §3.2.3: port = *DIGIT",
                        "GET /p HTTP/1.1\r\nHost: a:80x\r\n\r\n", "host"),
                Arguments.of("RFC 3986 §3.2.2: IP-literal = \"[\" ( IPv6address / IPvFuture ) \"]\" (unclosed)",
                        "GET /p HTTP/1.1\r\nHost: [::1\r\n\r\n", "host"),
                Arguments.of("RFC 9112 §6.1 (CL.TE smuggling): an obfuscated 'Transfer-Encoding : chunked' with Content-Length",
                        "POST /p HTTP/1.1\r\n" + H + "Content-Length: 6\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nG", "malformed"),
                Arguments.of("RFC 9112 §6.1 (TE.TE smuggling): 'Transfer-Encoding: chunked' and a second, bogus Transfer-Encoding",
                        "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n\r\n0\r\n\r\n", "framing"),
                Arguments.of("RFC 9112 §6.1 (TE.TE smuggling): a Transfer-Encoding value folded onto a second line",
                        "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", "malformed"),
                Arguments.of("RFC 9112 §6.1: a transfer coding other than chunked is refused (gzip, chunked)",
                        "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "framing"),
                Arguments.of("RFC 9112 §6.3: Content-Length = 1*DIGIT (a negative length)",
                        "POST /p HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", "framing"),
                Arguments.of("RFC 9112 §3.2.2 with RFC 9110 §4.2: absolute-form with a scheme other than http or https is refused",
                        "GET ftp://t/p HTTP/1.1\r\n" + H + "\r\n", "target"),
                Arguments.of("RFC 9110 §4.2.4: a recipient SHOULD treat userinfo in an http(s) target as an error",
                        "GET http://user:pw@t/p HTTP/1.1\r\n" + H + "\r\n", "target"),
                Arguments.of("RFC 9110 §4.2.1: a recipient that processes an http URI with an empty host MUST reject it as invalid",
                        "GET http:///p HTTP/1.1\r\n" + H + "\r\n", "target"),
                Arguments.of("RFC 9110 §4.2.1 with RFC 3986 §3.2.2: an absolute-form authority must be host[:port] (a bad pct-encoding)",
                        "GET http://a%zz/p HTTP/1.1\r\n" + H + "\r\n", "target"),
                Arguments.of("RFC 9112 §3.2.3: authority-form is only for CONNECT",
                        "GET t:80 HTTP/1.1\r\n" + H + "\r\n", "target"),
                Arguments.of("RFC 9112 §3.2: a server MUST respond 400 to any HTTP/1.1 request that lacks a Host header field (absolute-form too)",
                        "GET http://t/p HTTP/1.1\r\n\r\n", "host"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedShapes")
    void refused_400_closed_nothingForwarded(String clause, String raw, String reason) throws Exception {
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send(raw.getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.header("Connection")).isEqualTo("close");
            assertThat(c.closedByPeer()).as("connection closed").isTrue();
        }
        assertThat(upstream.received).as("nothing reached the upstream").isEmpty();
        assertThat(metrics()).contains("tollgate_refusals_total{reason=\"" + reason + "\"} 1.0");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkGarbage")
    void malformedChunk_400_nothingCompleteForwarded(String clause, String raw) throws Exception {
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send(raw);
            assertThat(c.read(false).status()).isEqualTo(400);
            assertThat(c.closedByPeer()).isTrue();
        }
        // the head may have gone ahead of the body, but the upstream never saw a complete request
        assertThat(upstream.received).isEmpty();
    }

    static Stream<Arguments> chunkGarbage() {
        String head = "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n";
        return Stream.of(
                Arguments.of("RFC 9112 §7.1: chunk-size = 1*HEXDIG (a '0x' prefix)", head + "0x5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("RFC 9112 §7.1: chunk-size = 1*HEXDIG (a negative size)", head + "-5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("RFC 9112 §7.1: chunk-size too large for any body (overflow)", head + "fffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("RFC 9112 §7.1: chunk-data is followed by CRLF", head + "5\r\nhelloXX\r\n0\r\n\r\n"));
    }

    @Test
    @DisplayName("RFC 9112 §3.2: the request-target is forwarded as received; RFC 9110 §7.6.3: Via added, hop-by-hop fields removed")
    void acceptedRequest_forwardedNormalized() throws Exception {
        RawHttp.Response r = accept("GET /2/tweets?q=a%20b HTTP/1.1\r\nHost: api.example:8443\r\nX-Keep: v\r\nConnection: x-hop\r\nX-Hop: gone\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /2/tweets?q=a%20b HTTP/1.1\r\n");
        assertThat(got.header("Host")).isEqualTo("api.example:8443");
        assertThat(got.header("X-Keep")).isEqualTo("v");
        assertThat(got.hasHeader("X-Hop")).isFalse();
        assertThat(got.header("Via")).isEqualTo("1.1 tollgate");
    }

    @Test
    @DisplayName("RFC 9112 §3.2.2: a server MUST accept the absolute-form; it MUST ignore the received Host and use the target's host: forwarded in origin-form")
    void absoluteForm_forwardedInOriginForm_withTheTargetsAuthorityAsHost() throws Exception {
        RawHttp.Response r = accept("GET http://api.example:8443/2/tweets?q=a%20b HTTP/1.1\r\nHost: other.example\r\nX-Keep: v\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /2/tweets?q=a%20b HTTP/1.1\r\n");
        assertThat(got.header("Host")).isEqualTo("api.example:8443");
        assertThat(got.head().split("(?i)\r\nhost:", -1)).as("exactly one Host line").hasSize(2);
        assertThat(got.header("X-Keep")).isEqualTo("v");
    }

    @Test
    @DisplayName("RFC 9112 §3.2.1: an empty path is sent as \"/\" in origin-form; RFC 3986 §3.1: the scheme is case-insensitive")
    void absoluteForm_emptyPath_isSlash_schemeAnyCase() throws Exception {
        assertThat(accept("GET HTTPS://[::1]:8443?x=1 HTTP/1.1\r\nHost: t\r\n\r\n").status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /?x=1 HTTP/1.1\r\n");
        assertThat(got.header("Host")).isEqualTo("[::1]:8443");
    }

    @Test
    @DisplayName("RFC 9112 §3.2.4: an OPTIONS request in absolute-form with an empty path and no query is forwarded with a request-target of \"*\"")
    void absoluteForm_optionsWithAnEmptyPath_isAsterisk() throws Exception {
        assertThat(accept("OPTIONS http://api.example:8080 HTTP/1.1\r\nHost: t\r\n\r\n").status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("OPTIONS * HTTP/1.1\r\n");
        assertThat(got.header("Host")).isEqualTo("api.example:8080");
    }

    @Test
    @DisplayName("RFC 9112 §3.2.2 with §3.2: an HTTP/1.0 absolute-form request needs no Host; the target's is sent")
    void absoluteForm_http10WithoutHost_forwardedWithTheTargetsHost() throws Exception {
        assertThat(accept("GET http://api.example/p HTTP/1.0\r\n\r\n").status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /p HTTP/1.1\r\n");
        assertThat(got.header("Host")).isEqualTo("api.example");
    }

    @Test
    @DisplayName("RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received prior to the request-line")
    void emptyLinesBeforeTheRequestLine_ignored() throws Exception {
        assertThat(accept("\r\n\r\nGET /p HTTP/1.1\r\n" + H + "\r\n").status()).isEqualTo(200);
        assertThat(upstream.received.get(0).head()).startsWith("GET /p HTTP/1.1\r\n");
    }

    @Test
    @DisplayName("RFC 9110 §5.5, §5.6.3: OWS (SP and HTAB) around a field value is not part of the value")
    void optionalWhitespaceAroundValues_trimmed() throws Exception {
        assertThat(accept("GET /p HTTP/1.1\r\nHost:\t t \t\r\nX-A:  1\r\n\r\n").status()).isEqualTo(200);
        assertThat(upstream.received.get(0).head()).contains("\r\nHost: t\r\n", "\r\nX-A: 1\r\n");
    }

    @Test
    @DisplayName("RFC 3986 §3.2.2: Host may be an IP-literal with a port")
    void ipLiteralHost_accepted() throws Exception {
        assertThat(accept("GET /p HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").status()).isEqualTo(200);
        assertThat(upstream.received.get(0).header("Host")).isEqualTo("[::1]:8080");
    }

    @Test
    @DisplayName("RFC 9112 §7.1.1: a recipient MUST ignore unrecognized chunk extensions")
    void chunkExtensions_ignored_bodyForwarded() throws Exception {
        RawHttp.Response r = accept("POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6 ; x=\"q\"\r\n world\r\n0;last\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        assertThat(new String(upstream.received.get(0).body(), StandardCharsets.US_ASCII)).isEqualTo("hello world");
    }

    @Test
    @DisplayName("RFC 9110 §6.5.1: trailer fields are not merged into the header section: request trailers (even Host) are dropped")
    void requestTrailers_dropped_neverForwarded() throws Exception {
        RawHttp.Response r = accept("POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\nHost: evil.example\r\nX-Trailer: 1\r\nContent-Length: 999\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(new String(got.body(), StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(got.header("Host")).isEqualTo("t");
        assertThat(upstream.trailers).as("no trailer field forwarded").isEmpty();
    }

    @Test
    @DisplayName("RFC 9110 §10.1.1: 'Expect: 100-continue': a 100 before the body, the request forwarded without Expect")
    void expectContinue_interimResponse_thenForwardedWithoutExpect() throws Exception {
        upstream.then(ScriptedUpstream.json("{\"data\":[]}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send("POST /p HTTP/1.1\r\n" + H + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(100);
            c.send("hello");
            assertThat(c.read(false).status()).isEqualTo(200);
        }
        assertThat(upstream.received.get(0).hasHeader("Expect")).isFalse();
        assertThat(upstream.received.get(0).body()).isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    @DisplayName("RFC 9112 §3.2: Host is required in HTTP/1.1 only; an HTTP/1.0 request without it is served")
    void http10WithoutHost_forwardedWithAHost() throws Exception {
        assertThat(accept("GET /p HTTP/1.0\r\n\r\n").status()).isEqualTo(200);
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /p HTTP/1.1\r\n");
        assertThat(got.hasHeader("Host")).as("the forwarded HTTP/1.1 request has a Host").isTrue();
    }

    @Test
    @DisplayName("RFC 9112 §9.3.2: a server MUST send its responses in the same order that the requests were received")
    void pipelinedRequests_answeredInOrder_forwardedInOrder() throws Exception {
        for (int i = 1; i <= 3; i++) {
            upstream.then(ScriptedUpstream.json("{\"n\":" + i + "}"));
        }
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send(RawHttp.get("/1") + "POST /2 HTTP/1.1\r\n" + H + "Content-Length: 3\r\n\r\nabc" + RawHttp.get("/3"));
            for (int i = 1; i <= 3; i++) {
                assertThat(c.read(false).text()).isEqualTo("{\"n\":" + i + "}");
            }
        }
        assertThat(upstream.received).extracting(x -> x.head().substring(0, x.head().indexOf(' ', 5)))
                .containsExactly("GET /1", "POST /2", "GET /3");
        assertThat(upstream.received.get(1).body()).isEqualTo("abc".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    @DisplayName("RFC 9112 §9.6: a client that half-closes after a complete request gets its response")
    void halfClosedClient_getsItsResponse() throws Exception {
        upstream.then(ScriptedUpstream.json("{\"data\":[1]}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send("OPTIONS * HTTP/1.1\r\n" + H + "\r\n");
            c.halfClose();
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("{\"data\":[1]}");
            assertThat(c.closedByPeer()).as("then closed").isTrue();
        }
        assertThat(upstream.received.get(0).head()).startsWith("OPTIONS * HTTP/1.1\r\n");
    }

    @Test
    @DisplayName("RFC 9112 §9.6 with §9.3.2: a half-closed client gets the responses of all the requests it pipelined, in order")
    void halfClosedClient_getsAllItsPipelinedResponses() throws Exception {
        upstream.then(ScriptedUpstream.json("{\"n\":1}")).then(ScriptedUpstream.json("{\"n\":2}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send(RawHttp.get("/1") + RawHttp.get("/2"));
            c.halfClose();
            assertThat(c.read(false).text()).isEqualTo("{\"n\":1}");
            assertThat(c.read(false).text()).isEqualTo("{\"n\":2}");
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(upstream.received).hasSize(2);
    }

    @Test
    @DisplayName("RFC 9112 §5.2 with §6.3: after a refused obs-fold, the bytes that follow are not read as a request")
    void afterARefusal_followingBytesAreNotARequest() throws Exception {
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send("GET /p HTTP/1.1\r\n" + H + "X-A: 1\r\n\tContent-Length: 0\r\n\r\n" + RawHttp.get("/smuggled"));
            assertThat(c.read(false).status()).isEqualTo(400);
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    @DisplayName("RFC 9112 §5.2: a head split across many reads is checked as a whole (an obs-fold in the last piece)")
    void headArrivingInPieces_stillChecked() throws Exception {
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            for (String piece : new String[] {"GE", "T /p HT", "TP/1.1\r", "\nHost: t\r\nX-A: a", "\r\n\tfolded\r\n\r\n"}) {
                c.send(piece);
            }
            assertThat(c.read(false).status()).isEqualTo(400);
        }
        assertThat(upstream.received).isEmpty();
        upstream.then(ScriptedUpstream.json("{}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            for (String piece : new String[] {"GE", "T /p HT", "TP/1.1\r", "\nHost: t\r\nX-A: a", "\r\n\r\n"}) {
                c.send(piece);
            }
            assertThat(c.read(false).status()).isEqualTo(200);
        }
    }

    private RawHttp.Response accept(String raw) throws IOException {
        upstream.then(ScriptedUpstream.json("{\"data\":[]}"));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            c.send(raw.getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response r = c.read(raw.startsWith("HEAD"));
            assertThat(upstream.received).hasSize(1);
            return r;
        }
    }

    private String metrics() {
        return new String(gateway.metrics().scrape(), StandardCharsets.UTF_8);
    }
}
