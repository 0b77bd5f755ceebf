package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every refusal is counted under exactly one reason of {@code tollgate_refusals_total} (SPEC §8):
 * one gateway, each refusal shape in turn over a real socket, and after each the metric's deltas
 * are exactly {reason: 1} — no other reason moved, none counted twice — and a refused request is
 * also one {@code tollgate_requests_total{outcome="rejected"}} with its status. The walk covers
 * every reason the metric declares, so a new reason without a shape here fails the test.
 */
class RefusalReasonsTest extends ScriptedGatewayTest {
    private static final String H = "Host: t\r\n";
    private static final String LIMITS = "limits:\n  maxInitialLineLength: 1024\n  maxHeaderSize: 4096\n  maxHeaderCount: 20\n"
            + "  requestHeadTimeout: 300ms\n  requestBodyTimeout: 600ms\n  clientIdleTimeout: 600ms\n  maxConnectionsPerClient: 2\n";

    /** The reasons walked so far. */
    private final Set<String> walked = new TreeSet<>();

    @Test
    void eachRefusal_countedUnderExactlyOneReason_andTheWalkCoversEveryDeclaredReason() throws Exception {
        start(LIMITS);
        Set<String> declared = refusals().keySet();

        request("malformed", 400, "GET /p\u0007 HTTP/1.1\r\n" + H + "\r\n");
        request("malformed", 400, "POST /p HTTP/1.1\r\n" + H + "X-A: 1\r\n Content-Length: 5\r\n\r\nhello");
        request("host", 400, "GET /p HTTP/1.1\r\nHost: bad host\r\n\r\n");
        request("host", 400, "GET /p HTTP/1.1\r\n\r\n");
        request("framing", 400, "POST /p HTTP/1.1\r\n" + H + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        request("framing", 400, "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
        request("target", 400, "GET ftp://t/p HTTP/1.1\r\n" + H + "\r\n");
        request("method", 405, "CONNECT t:443 HTTP/1.1\r\n" + H + "\r\n");
        request("version", 505, "GET /p HTTP/2.0\r\n" + H + "\r\n");
        request("expectation", 417, "GET /p HTTP/1.1\r\n" + H + "Expect: teapot\r\n\r\n");
        request("uri_too_long", 414, "GET /" + "a".repeat(2000) + " HTTP/1.1\r\n" + H + "\r\n");
        request("headers_too_large", 431, "GET /p HTTP/1.1\r\n" + H + "X-Big: " + "b".repeat(5000) + "\r\n\r\n");
        request("headers_too_large", 431, "GET /p HTTP/1.1\r\n" + H + "X-A: 1\r\n".repeat(25) + "\r\n");
        request("malformed_body", 400, "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
        // the head deadline: a head never finished
        request("head_timeout", 408, "GET /p HTTP/1.1\r\n" + H + "X-Slow: ");
        // the body that stops: a head whose promised body never comes (no later than clientIdleTimeout)
        request("body_timeout", 408, "POST /p HTTP/1.1\r\n" + H + "Content-Length: 10\r\n\r\nabc");
        perClientCap();

        // max_connections needs a gateway of its own (its cap would refuse this walk's connections): the test below
        Set<String> expected = new TreeSet<>(declared);
        expected.remove("max_connections");
        assertThat(walked).as("every declared reason has a shape in this walk").isEqualTo(expected);
        assertThat(upstream.received).as("no refused request reached the upstream complete")
                .allSatisfy(r -> assertThat(r.head()).startsWith("POST /p ").contains("Content-Length: 10"));
    }

    @Test
    void theConnectionCap_countedUnderMaxConnectionsAlone() throws Exception {
        start("limits:\n  maxConnections: 2\n");
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                held.add(connect("127.0.0.1"));
            }
            awaitOpen(2);
            Map<String, Double> before = refusals();
            try (Socket third = connect("127.0.0.1")) {
                assertThat(third.getInputStream().read()).as("closed at once").isEqualTo(-1);
            }
            assertExactlyOne(before, "max_connections");
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    /** Sends {@code raw} on a new connection: one response of {@code status}, the connection closed, one count under {@code reason}. */
    private void request(String reason, int status, String raw) throws Exception {
        Map<String, Double> before = refusals();
        double rejected = metric("tollgate_requests_total", "outcome=\"rejected\"", "code=\"" + status + "\"");
        try (RawHttp c = client()) {
            c.send(raw.getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).as(reason).isEqualTo(status);
            assertThat(c.closedByPeer()).as(reason + ": closed").isTrue();
        }
        assertExactlyOne(before, reason);
        Await.isTrue(() -> metric("tollgate_requests_total", "outcome=\"rejected\"", "code=\"" + status + "\"") == rejected + 1,
                reason + ": one rejected request of status " + status);
    }

    /** A third connection from one address, past maxConnectionsPerClient: 2, is closed at once and counted. */
    private void perClientCap() throws Exception {
        try (Socket a = connect("127.0.0.2"); Socket b = connect("127.0.0.2")) {
            awaitOpen(2);
            Map<String, Double> before = refusals();
            try (Socket c = connect("127.0.0.2")) {
                assertThat(c.getInputStream().read()).as("closed at once").isEqualTo(-1);
            }
            assertExactlyOne(before, "max_connections_per_client");
        }
    }

    /** The refusal counters moved from {@code before} by exactly one, under {@code reason}. */
    private void assertExactlyOne(Map<String, Double> before, String reason) {
        walked.add(reason);
        Await.isTrue(() -> refusals().getOrDefault(reason, 0.0) >= before.getOrDefault(reason, 0.0) + 1, reason + " counted");
        Map<String, Double> delta = new TreeMap<>();
        refusals().forEach((k, v) -> {
            double d = v - before.getOrDefault(k, 0.0);
            if (d != 0) {
                delta.put(k, d);
            }
        });
        assertThat(delta).as("refusal counters moved by " + reason).isEqualTo(Map.of(reason, 1.0));
    }

    /** tollgate_refusals_total by reason. */
    private Map<String, Double> refusals() {
        Map<String, Double> m = new HashMap<>();
        for (String line : metrics().split("\n")) {
            if (line.startsWith("tollgate_refusals_total{reason=\"")) {
                int q = line.indexOf('"', 32);
                m.put(line.substring(32, q), Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return m;
    }

    private Socket connect(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(gateway.proxyAddress(), 2000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Until the gateway has taken in {@code n} connections (accepting is asynchronous). */
    private void awaitOpen(int n) {
        Await.isTrue(() -> metrics().contains("\ntollgate_open_connections " + n + ".0"), n + " connections open");
    }
}
