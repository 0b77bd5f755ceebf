package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.MeterListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An upstream that breaks HTTP (SPEC §8): exactly one response per request, in order, whatever it
 * sends; a bodiless response stays bodiless; a connection that sent extra bytes or broke framing
 * is closed, never reused; each fault is a 502/504 to that request only (or the client's
 * connection cut once the response started), counted by kind, charged nothing undelivered, and
 * the next request (same client connection where it stays open) is served on a fresh connection.
 */
class UpstreamFaultsTest extends ScriptedGatewayTest {

    void start(String upstreamUrl) throws Exception {
        start(upstreamUrl, "");
    }

    static String page(int posts) {
        return ProxyFaultTest.page(posts);
    }

    /** Serves a request after a fault on the same client connection: a fresh upstream connection answers. */
    void nextRequestIsServed(RawHttp c, int posts) throws IOException {
        RawHttp.Response r = c.exchange(RawHttp.get("/next"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).contains("\"result_count\":" + posts);
    }

    // ---- body after a bodiless response ---------------------------------------------------------

    @Test
    @DisplayName("RFC 9112 §6.3: any response to a HEAD request is terminated by the first empty line after the header fields: a body sent after it never reaches the client, that connection is not reused")
    void headResponseWithABody_bodyNeverReachesTheClient_andTheNextRequestGoesOnAFreshConnection() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello")));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            RawHttp.Response head = c.exchange("HEAD /2/tweets HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(head.status()).isEqualTo(200);
            RawHttp.Response next = c.exchange(RawHttp.get("/2/tweets"));
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).startsWith("{\"data\"").contains("\"result_count\":2");
        }
        assertThat(ports).hasSize(2);
        assertThat(ports.get(1)).as("not the connection that sent a body after HEAD").isNotEqualTo(ports.get(0));
        Await.value(() -> gateway.meter().posts24h(ME), 2, "only the page's posts");
        assertThat(errors("upstream_extra_bytes")).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9112 §6.3 with §9.3.2: a 204 ends with its header section; bytes after it are no response: pipelined requests get one response each, in order")
    void noContentWithABody_pipelined_oneResponsePerRequest_inOrder() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 204 No Content\r\n\r\n{\"data\":[{\"id\":\"1\"}]}\r\n")));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        upstream.then(on(ScriptedUpstream.json(page(3))));
        start(upstream.url());
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/a") + RawHttp.get("/b"));
            assertThat(c.read(false).status()).isEqualTo(204);
            RawHttp.Response b = c.read(false);
            assertThat(b.status()).isEqualTo(200);
            assertThat(b.text()).contains("\"result_count\":1");
            // a third request's response is the next thing on the wire: nothing extra came before it
            nextRequestIsServed(c, 3);
        }
        assertThat(ports).hasSize(3);
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(ports.get(2)).as("a clean connection is reused").isEqualTo(ports.get(1));
        assertThat(errors("upstream_extra_bytes")).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9112 §6.3: a 304 ends with its header section: a second response sent after it (response splitting) is dropped, never relayed")
    void notModifiedFollowedByASecondResponse_theSmuggledResponseIsDropped() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"x\":666}")));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/a", "If-None-Match: \"v1\"")).status()).isEqualTo(304);
            RawHttp.Response next = c.exchange(RawHttp.get("/b"));
            assertThat(next.text()).doesNotContain("666").contains("\"result_count\":2");
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(errors("upstream_extra_bytes")).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9110 §15.2: 1xx responses are interim, the final response follows: relayed alone, a body after the final 204 dropped")
    void interimResponsesAreNotForwarded_andABodyAfterTheFinal204IsDropped() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\ntrailing junk\r\n\r\n")));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        start(upstream.url());
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).isEqualTo(204);
            assertThat(r.header("X-A")).isEqualTo("1");
            nextRequestIsServed(c, 1);
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
    }

    @Test
    @DisplayName("RFC 9112 §9.3: bytes an upstream sends with no request outstanding close that pooled connection; the next request goes on a fresh one")
    void bytesSentOnAnIdlePooledConnection_closeIt_andTheNextRequestIsServed() throws Exception {
        CountDownLatch answered = new CountDownLatch(1);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.all(ScriptedUpstream.json(page(1)), ScriptedUpstream.waitFor(answered),
                ScriptedUpstream.respond("junk"))));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/a")).status()).isEqualTo(200);
            answered.countDown();
            Await.isTrue(() -> errors("upstream_extra_bytes") == 1.0, "the idle connection's junk noticed");
            nextRequestIsServed(c, 2);
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
    }

    // ---- an early answer --------------------------------------------------------------------------

    @Test
    @DisplayName("RFC 9112 §9.3 with §9.6: a response that arrives before the request body is complete is relayed with Connection: close; the rest of the body is not forwarded and both connections close")
    void earlyAnswerWhileTheBodyArrives_isRelayedWithClose_andTheRestOfTheBodyIsNotForwarded() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> seen = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    while (!got.toString(StandardCharsets.ISO_8859_1).contains("first-part")) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        got.write(b);
                    }
                    s.getOutputStream().write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!"
                            .getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                    in.transferTo(got); // until the gateway closes this connection
                    seen.complete(got.toString(StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    seen.completeExceptionally(e);
                }
            });
            t.setDaemon(true);
            t.start();
            start("http://127.0.0.1:" + server.getLocalPort());
            try (RawHttp c = client()) {
                c.send("POST /2/tweets HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\nfirst-part");
                RawHttp.Response r = c.read(false);
                assertThat(r.status()).isEqualTo(413);
                assertThat(r.text()).isEqualTo("big!");
                assertThat(r.header("Connection")).isEqualTo("close");
                try {
                    c.send("second-part".repeat(100));
                } catch (IOException e) {
                    // the gateway may have closed already
                }
                assertThat(c.closedByPeer()).isTrue();
            }
            String upstreamGot = seen.get(10, TimeUnit.SECONDS);
            assertThat(upstreamGot).as("the upstream connection was closed, with no more of the body").contains("first-part")
                    .doesNotContain("second-part");
        }
        assertThat(errors("upstream_early_response")).isEqualTo(1.0);
        assertThat(gateway.meter().posts24h(ME)).isZero();
    }

    // ---- faults: 502/504 for that request only, the connection goes on ----------------------------

    static Stream<Arguments> malformedHeads() {
        return Stream.of(
                Arguments.of("RFC 9112 §4: status-code = 3DIGIT (letters O for zeros)",
                        "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9112 §4: status-code = 3DIGIT (two digits)",
                        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9110 §15: a status code outside 100–599",
                        "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9112 §2.3: HTTP-version = HTTP-name \"/\" DIGIT \".\" DIGIT, major version 1 (HTTP/2.0 in an HTTP/1.1 stream)",
                        "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9112 §2.2: a bare LF as the line terminator of a response is refused (the safe choice)",
                        "HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
                Arguments.of("RFC 9112 §5: field-line = field-name \":\" OWS field-value OWS (no colon)",
                        "HTTP/1.1 200 OK\r\nNo-Colon-Here\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9112 §5.2: obs-fold (a field line starting with whitespace, right after the status line)",
                        "HTTP/1.1 200 OK\r\n Folded: first line\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9110 §5.5: a field value contains no control characters (NUL)",
                        "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9110 §5.1: field-name = token (a control character in the name)",
                        "HTTP/1.1 200 OK\r\nX\u0001A: b\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("RFC 9112 §6.3: several Content-Length values that differ are an unrecoverable error",
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\n{}{\"data\":[]}"),
                Arguments.of("RFC 9112 §6.3: an invalid Content-Length is an unrecoverable error",
                        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n{}"),
                Arguments.of("RFC 9112 §6.3: Transfer-Encoding with Content-Length ought to be handled as an error (response splitting)",
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeads")
    void malformedStatusLineOrHeaders_is502_andTheNextRequestIsServed(String clause, String response) throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond(response.getBytes(StandardCharsets.ISO_8859_1))));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.text()).contains("malformed response");
            nextRequestIsServed(c, 2);
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(errors("upstream_malformed")).isEqualTo(1.0);
        assertThat(upstreamErrors(502)).isEqualTo(1.0);
        Await.value(() -> gateway.meter().posts24h(ME), 2, "only the served page");
    }

    @Test
    @DisplayName("SPEC §8: a response head larger than this gateway accepts (64 KiB) is a 502 for that request only; the next request is served")
    void oversizedResponseHead_is502_andTheNextRequestIsServed() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nX-Big: " + "x".repeat(70_000) + "\r\nContent-Length: 0\r\n\r\n")));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        start(upstream.url());
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.text()).contains("larger than this gateway accepts");
            nextRequestIsServed(c, 1);
        }
        assertThat(errors("upstream_too_large")).isEqualTo(1.0);
        assertThat(upstreamErrors(502)).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9112 §7.1 with §8: a chunk-size that is not 1*HEXDIG after the response started: the client connection is cut without a terminating chunk; only delivered posts charged")
    void brokenChunking_cutsTheClientConnection_withoutATerminatingChunk_andChargesOnlyWhatWasDelivered() throws Exception {
        String body = page(5);
        int cut = body.indexOf("{\"id\":\"2\"");
        String first = body.substring(0, cut);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(first.length()) + "\r\n" + first + "\r\nZZ-not-a-size\r\n" + body.substring(cut) + "\r\n0\r\n\r\n")));
        upstream.then(on(ScriptedUpstream.json(page(3))));
        start(upstream.url());
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/a"));
            String got = new String(c.input().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).startsWith("HTTP/1.1 200").contains("\"post 1\"").doesNotContain("\"post 2\"");
            assertThat(got).as("no terminating chunk: the client knows the body is incomplete").doesNotEndWith("0\r\n\r\n");
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the cut request");
        assertThat(gateway.meter().posts24h(ME)).as("posts 0 and 1 were delivered").isEqualTo(2);
        assertThat(errors("upstream_malformed")).isEqualTo(1.0);
        assertThat(upstreamErrors(200)).isEqualTo(1.0);
        try (RawHttp c = client()) {
            nextRequestIsServed(c, 3);
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
    }

    @Test
    @DisplayName("RFC 9112 §8: a message that uses a valid Content-Length is incomplete if fewer octets are received: the client connection is cut, not completed")
    void contentLengthLongerThanTheBodyThenClose_cutsTheClientConnection_andTheNextConnectionIsServed() throws Exception {
        String body = page(4);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.all(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + (body.length() + 100) + "\r\n\r\n" + body), (s, out) -> s.close())));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        start(upstream.url());
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/a"));
            String got = new String(c.input().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).startsWith("HTTP/1.1 200").endsWith(body);
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the cut request");
        assertThat(errors("upstream_reset")).isEqualTo(1.0);
        assertThat(upstreamErrors(200)).isEqualTo(1.0);
        try (RawHttp c = client()) {
            nextRequestIsServed(c, 1);
        }
    }

    @Test
    @DisplayName("RFC 9112 §8 with SPEC §8: a reset mid-body leaves the response incomplete: the client connection is cut; only complete posts charged")
    void resetMidBody_cutsTheClientConnection_andChargesOnlyCompletePosts() throws Exception {
        String body = page(6);
        int cut = body.indexOf("{\"id\":\"3\"") + 4;
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.all(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, cut)), ScriptedUpstream.reset())));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        start(upstream.url());
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/a"));
            c.readTimeout(5000);
            String got = new String(c.input().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).doesNotContain("\"post 3\"");
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the cut request");
        assertThat(gateway.meter().posts24h(ME)).isEqualTo(3);
        assertThat(upstreamErrors(200)).isEqualTo(1.0);
        try (RawHttp c = client()) {
            nextRequestIsServed(c, 1);
        }
    }

    @Test
    @DisplayName("SPEC §8: no response head within upstream.responseTimeout is a 504 for that request only; the next request is served on a fresh connection")
    void hungUpstream_is504_forThatRequestOnly_andTheNextRequestIsServed() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.waitFor(never)));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).isEqualTo(504);
            nextRequestIsServed(c, 2);
        } finally {
            never.countDown();
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(errors("upstream_timeout")).isEqualTo(1.0);
        assertThat(upstreamErrors(504)).isEqualTo(1.0);
        Await.value(() -> gateway.meter().posts24h(ME), 2, "only the served page");
    }

    /**
     * The response deadline is one task per client connection (ResponseDeadline): an exchange
     * answered in time leaves it pending, and the next exchange on the connection, which hangs,
     * still gets its 504 a full responseTimeout (2 s here) after its own request, not at the
     * first exchange's deadline.
     */
    @Test
    void answeredThenHung_onOneConnection_theHungRequestGets504_aFullTimeoutAfterItsOwnRequest() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.json(page(1))));
        upstream.then(on(ScriptedUpstream.waitFor(never)));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        start(upstream.url());
        try (RawHttp c = client()) {
            nextRequestIsServed(c, 1);
            long sent = System.nanoTime();
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            long waited = System.nanoTime() - sent;
            assertThat(r.status()).isEqualTo(504);
            assertThat(waited).as("nanoseconds until the 504").isGreaterThanOrEqualTo(java.util.concurrent.TimeUnit.SECONDS.toNanos(2));
            nextRequestIsServed(c, 2);
        } finally {
            never.countDown();
        }
        assertThat(errors("upstream_timeout")).isEqualTo(1.0);
        Await.value(() -> gateway.meter().posts24h(ME), 3, "the two served pages");
    }

    @Test
    @DisplayName("SPEC §8: an upstream silent mid-body for upstream.idleTimeout: the client connection is cut; the posts delivered are charged")
    void upstreamSilentMidBody_pastTheIdleTimeout_cutsTheClientConnection_andChargesWhatWasDelivered() throws Exception {
        String body = page(5);
        int cut = body.indexOf("{\"id\":\"3\"");
        CountDownLatch never = new CountDownLatch(1);
        upstream = new ScriptedUpstream();
        upstream.then(on(ScriptedUpstream.all(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, cut)), ScriptedUpstream.waitFor(never))));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        java.nio.file.Path file = dir.resolve("tollgate.yaml");
        java.nio.file.Files.writeString(file, "listen: 127.0.0.1:0\nupstream:\n  url: " + upstream.url()
                + "\n  connectTimeout: 1s\n  responseTimeout: 2s\n  idleTimeout: 500ms\nadmin:\n  listen: 127.0.0.1:0\ndataDir: data\n");
        gateway = Gateway.start(dev.tollgate.gateway.config.ConfigLoader.load(file),
                Gateway.Options.defaults().withClock(clock).withListener(MeterListener.none()).manualTicks());
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/a"));
            String got = new String(c.input().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).startsWith("HTTP/1.1 200").contains("\"post 2\"").doesNotContain("\"post 3\"");
        } finally {
            never.countDown();
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the cut request");
        assertThat(gateway.meter().posts24h(ME)).isEqualTo(3);
        assertThat(errors("upstream_timeout")).isEqualTo(1.0);
        assertThat(upstreamErrors(200)).isEqualTo(1.0);
        try (RawHttp c = client()) {
            nextRequestIsServed(c, 1);
        }
    }

    @Test
    @DisplayName("SPEC §8: an upstream that refuses the connection is a 502, counted as upstream_connect; nothing charged; the client connection goes on")
    void refusedConnection_is502_countedAsConnect_andChargesNothing() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        start("http://127.0.0.1:" + port);
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/a")).status()).isEqualTo(502);
            assertThat(c.exchange(RawHttp.get("/b")).status()).as("the client connection goes on").isEqualTo(502);
        }
        assertThat(errors("upstream_connect")).isEqualTo(2.0);
        assertThat(upstreamErrors(502)).isEqualTo(2.0);
        assertThat(gateway.meter().posts24h(ME)).isZero();
    }
}
