package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * What the gateway forwards and what it does when the upstream fails: header rewriting, upstream
 * down, slow, resetting before or during a response; clients that leave mid-response.
 */
class ProxyFaultTest extends ScriptedGatewayTest {

    static String page(int posts) {
        StringBuilder b = new StringBuilder("{\"data\":[");
        for (int i = 0; i < posts; i++) {
            b.append(i == 0 ? "" : ",").append("{\"id\":\"").append(i).append("\",\"text\":\"post ").append(i).append("\"}");
        }
        return b.append("],\"meta\":{\"result_count\":").append(posts).append("}}").toString();
    }

    @Test
    void hopByHopHeaders_removed_forwardingHeaders_added() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.json(page(2), "Connection: X-Internal", "X-Internal: secret", "Keep-Alive: timeout=5",
                "Proxy-Authenticate: Basic"));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange("GET /2/tweets/search/recent HTTP/1.1\r\nHost: api.example\r\n"
                    + "Connection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                    + "Upgrade: websocket\r\nProxy-Authorization: Basic abc\r\nX-Forwarded-For: 203.0.113.9\r\nX-Keep: yes\r\n\r\n");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Internal")).isNull();
            assertThat(r.header("Keep-Alive")).isNull();
            assertThat(r.header("Proxy-Authenticate")).isNull();
            assertThat(r.header("Via")).isEqualTo("1.1 tollgate");
        }
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.head()).startsWith("GET /2/tweets/search/recent HTTP/1.1\r\n");
        for (String gone : new String[] {"X-Drop-Me", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization"}) {
            assertThat(got.hasHeader(gone)).as(gone).isFalse();
        }
        assertThat(got.header("Connection")).isNull();
        assertThat(got.header("Host")).isEqualTo("api.example");
        assertThat(got.header("X-Keep")).isEqualTo("yes");
        assertThat(got.header("X-Forwarded-For")).isEqualTo("203.0.113.9, 127.0.0.1");
        assertThat(got.header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(got.header("Via")).isEqualTo("1.1 tollgate");
    }

    @Test
    void upstreamDown_is502ProblemJson_andChargesNothing() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        start("http://127.0.0.1:" + closedPort, "");
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("Content-Type")).isEqualTo("application/problem+json");
            assertThat(r.text()).contains("\"status\":502");
            // the connection stays usable
            assertThat(c.exchange(RawHttp.get("/again")).status()).isEqualTo(502);
        }
        assertThat(gateway.meter().posts24h(ME)).isZero();
        assertThat(gateway.meter().requests24h(ME)).isZero();
        assertThat(new String(gateway.metrics().scrape(), StandardCharsets.UTF_8))
                .contains("tollgate_errors_total{kind=\"upstream_connect\"} 2.0");
    }

    @Test
    void slowUpstream_is504_afterTheResponseTimeout() throws Exception {
        upstream = new ScriptedUpstream();
        CountDownLatch never = new CountDownLatch(1);
        upstream.then(ScriptedUpstream.waitFor(never));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent"));
            assertThat(r.status()).isEqualTo(504);
            assertThat(r.text()).contains("did not answer");
        } finally {
            never.countDown();
        }
        assertThat(gateway.meter().requests24h(ME)).isZero();
    }

    @Test
    void upstreamResetBeforeAnswering_is502() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.reset());
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/2/tweets/search/recent")).status()).isEqualTo(502);
        }
        assertThat(gateway.meter().posts24h(ME)).isZero();
    }

    @Test
    void upstreamResetMidBody_truncatesForClient_andChargesPostsForwarded() throws Exception {
        String body = page(10);
        int cut = body.indexOf("{\"id\":\"7\"");
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.all(
                ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                        + "\r\n\r\n" + body.substring(0, cut + 3)),
                ScriptedUpstream.reset()));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/2/tweets/search/recent"));
            c.readTimeout(5000);
            byte[] all = c.input().readAllBytes();
            String got = new String(all, StandardCharsets.UTF_8);
            assertThat(got).startsWith("HTTP/1.1 200 OK").contains("\"post 6\"").doesNotContain("\"post 7\"");
        }
        Await.value(() -> gateway.meter().posts24h(ME), 7, "posts of the 7 complete elements forwarded");
    }

    @Test
    void clientLeavingMidBody_isChargedForWhatWasForwarded() throws Exception {
        String body = page(10);
        int cut = body.indexOf("{\"id\":\"4\"");
        CountDownLatch clientGone = new CountDownLatch(1);
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.all(
                ScriptedUpstream.respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                        + "\r\n\r\n" + body.substring(0, cut)),
                ScriptedUpstream.waitFor(clientGone),
                ScriptedUpstream.respond(body.substring(cut))));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/2/tweets/search/recent"));
            StringBuilder got = new StringBuilder();
            while (!got.toString().contains("\"post 3\"}")) {
                int b = c.input().read();
                assertThat(b).as("bytes before the pause").isNotNegative();
                got.append((char) b);
            }
            assertThat(got.toString()).startsWith("HTTP/1.1 200");
        }
        clientGone.countDown();
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the aborted request");
        assertThat(gateway.meter().posts24h(ME)).as("posts 0..3 were forwarded before the client left").isEqualTo(4);
    }

    @Test
    void pooledConnectionClosedByUpstream_isRetriedOnceOnAFreshOne() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.all(ScriptedUpstream.json(page(1)), (s, out) -> s.close()));
        upstream.then(ScriptedUpstream.json(page(2)));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            assertThat(c.exchange(RawHttp.get("/a")).status()).isEqualTo(200);
            assertThat(c.exchange(RawHttp.get("/b")).status()).isEqualTo(200);
        }
        Await.value(() -> gateway.meter().posts24h(ME), 3, "posts");
    }

    @Test
    void noContentAndNotModified_passThroughWithoutBodies_andTheConnectionGoesOn() throws Exception {
        upstream = new ScriptedUpstream();
        upstream.then(ScriptedUpstream.respond("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"));
        upstream.then(ScriptedUpstream.respond("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"));
        upstream.then(ScriptedUpstream.json(page(3)));
        start(upstream.url(), "");
        try (RawHttp c = client()) {
            RawHttp.Response noContent = c.exchange(RawHttp.get("/a"));
            assertThat(noContent.status()).isEqualTo(204);
            assertThat(noContent.header("Transfer-Encoding")).isNull();
            RawHttp.Response notModified = c.exchange(RawHttp.get("/b", "If-None-Match: \"v1\""));
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("ETag")).isEqualTo("\"v1\"");
            assertThat(c.exchange(RawHttp.get("/c")).text()).contains("\"result_count\":3");
        }
        Await.value(() -> gateway.meter().posts24h(ME), 3, "only the page carried posts");
        assertThat(upstream.received.get(1).header("If-None-Match")).isEqualTo("\"v1\"");
    }
}
