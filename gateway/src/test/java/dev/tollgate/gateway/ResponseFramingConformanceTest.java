package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * HTTP/1.1 response framing, clause by clause (RFC 9112, RFC 9110), towards both sides: a
 * scripted upstream sends exact bytes, a raw client reads exact bytes. What the gateway must hold
 * whatever the upstream does: one response per request, in order; a bodiless response stays
 * bodiless; a message the upstream framed in a way a lenient parser would repair is a 502 for
 * that request only and its connection is closed, never reused. The faults themselves (resets,
 * silence, broken chunking, malformed heads) are {@link UpstreamFaultsTest}.
 */
class ResponseFramingConformanceTest extends ScriptedGatewayTest {

    private static String page(int posts) {
        return ProxyFaultTest.page(posts);
    }

    private void startScripted() throws Exception {
        upstream = new ScriptedUpstream();
        start(upstream.url(), "");
    }

    @Test
    @DisplayName("RFC 9112 §6.3: any response to a HEAD request is always terminated by the first empty line after the header fields (its Content-Length notwithstanding)")
    void headResponseWithContentLength_endsWithItsHead_andTheConnectionIsReused() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n")));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        try (RawHttp c = client()) {
            RawHttp.Response head = c.exchange("HEAD /2/tweets HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("Content-Length")).as("the length the GET would have").isEqualTo("1234");
            assertThat(c.exchange(RawHttp.get("/2/tweets")).text()).contains("\"result_count\":2");
        }
        assertThat(ports.get(1)).as("a clean bodiless response leaves the connection reusable").isEqualTo(ports.get(0));
        Await.value(() -> gateway.meter().posts24h(ME), 2, "only the GET's posts");
    }

    @Test
    @DisplayName("RFC 9112 §9.3.2: a server MUST send its responses in the same order that the requests were received: two pipelined requests get two responses, even when the upstream sends a body after HEAD")
    void pipelinedHeadThenGet_upstreamSendsABodyAfterHead_exactlyTwoResponses() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        try (RawHttp c = client()) {
            c.send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n" + RawHttp.get("/b"));
            c.halfClose();
            assertThat(c.read(true).status()).isEqualTo(200);
            RawHttp.Response b = c.read(false);
            assertThat(b.status()).isEqualTo(200);
            assertThat(b.text()).contains("\"result_count\":1").doesNotContain("evil");
            assertThat(c.closedByPeer()).as("then the end of the stream: no third response").isTrue();
        }
        assertThat(upstream.received).hasSize(2);
        assertThat(ports.get(1)).as("the connection that sent bytes after HEAD is not reused").isNotEqualTo(ports.get(0));
        assertThat(errors("upstream_extra_bytes")).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9110 §15.2: a client MUST be able to parse 1xx responses before the final one: interim responses are consumed here (not relayed, as nginx does), the final one relayed")
    void interimResponses_consumed_finalRelayed_connectionReused() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                + "HTTP/1.1 199 Unknown\r\nX-I: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + page(3).length() + "\r\n\r\n" + page(3))));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).as("the first thing the client reads is the final response").isEqualTo(200);
            assertThat(r.header("X-I")).isNull();
            assertThat(r.text()).contains("\"result_count\":3");
            assertThat(c.exchange(RawHttp.get("/b")).text()).contains("\"result_count\":1");
        }
        assertThat(ports.get(1)).isEqualTo(ports.get(0));
        Await.value(() -> gateway.meter().posts24h(ME), 4, "both pages");
    }

    @Test
    @DisplayName("RFC 9110 §7.8: a server MUST NOT switch to a protocol that was not indicated by the client: an upstream 101 (Upgrade is never forwarded) is a 502, that connection closed")
    void unsolicitedSwitchingProtocols_is502_andTheNextRequestGoesOnAFreshConnection() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0005hello")));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a", "Connection: Upgrade", "Upgrade: websocket"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(c.exchange(RawHttp.get("/b")).text()).contains("\"result_count\":1");
        }
        assertThat(upstream.received.get(0).hasHeader("Upgrade")).as("hop-by-hop: never forwarded").isFalse();
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(upstreamErrors(502)).isEqualTo(1.0);
    }

    @Test
    @DisplayName("RFC 9110 §10.1.1: a server that receives a 100-continue expectation in an HTTP/1.0 request MUST ignore that expectation (and §15.2: MUST NOT send a 1xx to an HTTP/1.0 client)")
    void expectContinueFromAnHttp10Client_noInterimResponse() throws Exception {
        startScripted();
        upstream.then(ScriptedUpstream.json(page(1)));
        try (RawHttp c = client()) {
            c.send("POST /p HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).as("the first response is the final one").isEqualTo(200);
            assertThat(r.text()).contains("\"result_count\":1");
        }
        assertThat(upstream.received.get(0).body()).isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    @DisplayName("RFC 9112 §6.1: a server MUST NOT send a response containing Transfer-Encoding unless the request indicates HTTP/1.1: a chunked body reaches an HTTP/1.0 client delimited by the close")
    void chunkedUpstreamBody_toAnHttp10Client_closeDelimited() throws Exception {
        startScripted();
        String body = page(2);
        upstream.then(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n"));
        try (RawHttp c = client()) {
            c.send("GET /a HTTP/1.0\r\n\r\n");
            String got = new String(c.input().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("transfer-encoding").endsWith("\r\n\r\n" + body);
        }
        Await.value(() -> gateway.meter().posts24h(ME), 2, "the page");
    }

    @Test
    @DisplayName("RFC 9112 §6.3: a response without Content-Length or chunked ends when the server closes the connection: relayed whole (chunked to an HTTP/1.1 client), that connection not reused")
    void closeDelimitedUpstreamBody_relayedChunked_andTheNextRequestGoesOnAFreshConnection() throws Exception {
        startScripted();
        String body = page(3);
        upstream.then(on(ScriptedUpstream.all(ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body),
                (s, out) -> s.close())));
        upstream.then(on(ScriptedUpstream.json(page(1))));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
            assertThat(r.text()).isEqualTo(body);
            assertThat(c.exchange(RawHttp.get("/b")).text()).contains("\"result_count\":1");
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        Await.value(() -> gateway.meter().posts24h(ME), 4, "both pages");
    }

    @Test
    @DisplayName("RFC 9112 §9.6: a client that receives a \"close\" connection option MUST cease sending requests on that connection: the client's own connection goes on")
    void upstreamConnectionClose_notReused_clientConnectionGoesOn() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.json(page(1), "Connection: close")));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.header("Connection")).as("hop-by-hop: not relayed").isNull();
            assertThat(c.exchange(RawHttp.get("/b")).text()).contains("\"result_count\":2");
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
    }

    @Test
    @DisplayName("RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]: an empty reason phrase is accepted")
    void emptyReasonPhrase_accepted() throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond("HTTP/1.1 200 \r\nContent-Type: application/json\r\nContent-Length: "
                + page(1).length() + "\r\n\r\n" + page(1))));
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/a")).text()).contains("\"result_count\":1");
        }
    }

    @Test
    @DisplayName("RFC 9112 §6.1: a transfer coding other than chunked from the upstream (gzip alone) is a 502, as nginx answers, never relayed re-framed")
    void transferCodingOtherThanChunked_is502() throws Exception {
        refusedUpstreamHead("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n\u001f\u008b\u0008\u0000");
    }

    @Test
    @DisplayName("RFC 9112 §6.3: if chunked is not the final transfer coding of a response, its length is unknown: a 502")
    void chunkedNotTheFinalCoding_is502() throws Exception {
        refusedUpstreamHead("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    }

    @Test
    @DisplayName("RFC 9112 §5.2: obs-fold in a response header (a continuation line after a field) is a 502, never unfolded")
    void obsFoldInAResponseField_is502() throws Exception {
        refusedUpstreamHead("HTTP/1.1 200 OK\r\nX-A: 1\r\n Content-Length: 9\r\nContent-Length: 2\r\n\r\n{}");
    }

    @Test
    @DisplayName("RFC 9112 §2.2: a bare CR in a response header is a 502")
    void bareCrInAResponseField_is502() throws Exception {
        refusedUpstreamHead("HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 9\r\nContent-Length: 2\r\n\r\n{}");
    }

    /** The upstream's response head is refused: 502 for that request, nothing charged, the next request on a fresh connection. */
    private void refusedUpstreamHead(String response) throws Exception {
        startScripted();
        upstream.then(on(ScriptedUpstream.respond(response.getBytes(StandardCharsets.ISO_8859_1))));
        upstream.then(on(ScriptedUpstream.json(page(2))));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/a"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("Content-Type")).isEqualTo("application/problem+json");
            nextPage(c, 2);
        }
        assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
        assertThat(errors("upstream_malformed")).isEqualTo(1.0);
        assertThat(upstreamErrors(502)).isEqualTo(1.0);
        Await.value(() -> gateway.meter().posts24h(ME), 2, "only the served page");
    }

    private static void nextPage(RawHttp c, int posts) throws IOException {
        RawHttp.Response r = c.exchange(RawHttp.get("/next"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).contains("\"result_count\":" + posts);
    }
}
