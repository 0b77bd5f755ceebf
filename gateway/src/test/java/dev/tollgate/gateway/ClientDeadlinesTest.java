package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The body progress deadline and the idle keep-alive timeout over real sockets, on wall-clock
 * time with short configured durations: a stalled body is answered 408 and the upstream never
 * sees a whole request; a body with pauses shorter than the gap, or held up by a slow upstream,
 * is served; the idle timeout runs between requests only.
 *
 * <p>Where a peer must be slow, it pauses for a fixed time well beyond the deadline under test
 * ({@link #slowPeer}): that models the slow peer, and no assertion depends on how long it took.
 */
class ClientDeadlinesTest extends ScriptedGatewayTest {
    static final String PAGE = "{\"data\":[{\"id\":\"1\",\"text\":\"a\"}],\"meta\":{\"result_count\":1}}";

    private static void slowPeer(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private double refusals(String reason) {
        String metrics = new String(gateway.metrics().scrape(), StandardCharsets.UTF_8);
        for (String line : metrics.split("\n")) {
            if (line.startsWith("tollgate_refusals_total{reason=\"" + reason + "\"}")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    private static String post(int length) {
        return "POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n";
    }

    @Test
    void stalledBody_408AfterTheGap_connectionClosed_upstreamNeverSeesAWholeRequest_counted() throws Exception {
        start("limits:\n  requestBodyTimeout: 200ms\n  clientIdleTimeout: 60s\n");
        try (RawHttp c = client()) {
            c.send(post(100) + "0123456789"); // 10 of 100 bytes, then nothing
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(r.text()).contains("request body made no progress for 200ms");
            assertThat(c.closedByPeer()).isTrue();
        }
        // the upstream read the head and 10 bytes, then the end of its connection: the request was cut
        Await.isTrue(() -> upstream.received.size() == 1, "the upstream's connection ended");
        assertThat(upstream.received.get(0).body()).hasSize(10);
        assertThat(refusals("body_timeout")).isEqualTo(1.0);
    }

    @Test
    void stalledBody_onAKeepAliveConnection_withAPooledUpstreamConnection_alsoTimesOut() throws Exception {
        // the pooled upstream connection takes the request at once, so the body part is written and more
        // is asked for within the read that brought it: the deadline must still run
        start("limits:\n  requestBodyTimeout: 200ms\n");
        upstream.then(ScriptedUpstream.json(PAGE));
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/2/tweets/search/recent"));
            assertThat(c.read(false).status()).isEqualTo(200);
            c.send(post(100) + "0123456789");
            assertThat(c.read(false).status()).isEqualTo(408);
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(refusals("body_timeout")).isEqualTo(1.0);
    }

    @Test
    void stalledChunkedBody_midChunkSizeLine_alsoTimesOut() throws Exception {
        start("limits:\n  requestBodyTimeout: 200ms\n");
        try (RawHttp c = client()) {
            c.send("POST /2/tweets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1"); // a size line, unfinished
            assertThat(c.read(false).status()).isEqualTo(408);
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(refusals("body_timeout")).isEqualTo(1.0);
    }

    @Test
    void bodyWithPausesLongerThanTheIdleTimeout_butShorterThanTheGap_isServed() throws Exception {
        // before the body deadline, the idle timeout ran during bodies too and cut this upload at 150 ms
        start("limits:\n  requestBodyTimeout: 5s\n  clientIdleTimeout: 150ms\n");
        upstream.then(ScriptedUpstream.json(PAGE));
        byte[] body = "{\"text\":\"a slow upload\"}".getBytes(StandardCharsets.US_ASCII);
        try (RawHttp c = client()) {
            c.send(post(body.length));
            for (int i = 0; i < body.length; i += 8) {
                slowPeer(400);
                c.send(java.util.Arrays.copyOfRange(body, i, Math.min(body.length, i + 8)));
            }
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(upstream.received.get(0).body()).isEqualTo(body);
        assertThat(refusals("body_timeout")).isEqualTo(0.0);
    }

    @Test
    void slowUploadLongerThanTheUpstreamIdleTimeout_isServed_theUpstreamOwesNothingBeforeTheRequestIsComplete() throws Exception {
        // before, the upstream connection's idle timeout ran while the body was arriving: 504 "stopped sending"
        upstream = new ScriptedUpstream();
        // the fixture writes the upstream section; its idleTimeout goes on the line after the URL
        start(upstream.url() + "\n  idleTimeout: 200ms", "limits:\n  requestBodyTimeout: 5s\n");
        upstream.then(ScriptedUpstream.json(PAGE));
        byte[] body = "{\"text\":\"slow\"}".getBytes(StandardCharsets.US_ASCII);
        try (RawHttp c = client()) {
            c.send(post(body.length));
            for (int i = 0; i < body.length; i += 6) {
                slowPeer(300);
                c.send(java.util.Arrays.copyOfRange(body, i, Math.min(body.length, i + 6)));
            }
            assertThat(c.read(false).status()).isEqualTo(200);
        }
        assertThat(upstream.received.get(0).body()).isEqualTo(body);
    }

    @Test
    void slowUpstream_holdingUpTheBody_isNotHeldAgainstTheClient() throws Exception {
        // an upstream that takes its time before reading a body of 4 MiB: the gateway stops reading the
        // client meanwhile (backpressure), and that wait is not a stall of the client's
        AtomicLong bodyRead = new AtomicLong();
        try (ServerSocket slow = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> serveSlowly(slow, bodyRead), "slow-upstream");
            t.setDaemon(true);
            t.start();
            start("http://127.0.0.1:" + slow.getLocalPort(), "limits:\n  requestBodyTimeout: 200ms\n");
            int length = 4 << 20;
            try (RawHttp c = client()) {
                c.send(post(length));
                byte[] part = new byte[64 << 10];
                java.util.Arrays.fill(part, (byte) 'x');
                for (int sent = 0; sent < length; sent += part.length) {
                    c.send(part);
                }
                assertThat(c.read(false).status()).isEqualTo(200);
            }
            assertThat(bodyRead.get()).isEqualTo(length);
            assertThat(refusals("body_timeout")).isEqualTo(0.0);
        }
    }

    /** Reads a head, pauses 600 ms three times while reading the body, answers 200. */
    private static void serveSlowly(ServerSocket server, AtomicLong bodyRead) {
        try (Socket s = server.accept()) {
            InputStream in = s.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                head.write(in.read());
            }
            String h = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT);
            int at = h.indexOf("content-length:") + 15;
            long length = Long.parseLong(h.substring(at, h.indexOf("\r\n", at)).trim());
            byte[] buf = new byte[8192];
            long read = 0;
            int pauses = 0;
            while (read < length) {
                if (pauses < 3 && read >= pauses * (length / 3)) {
                    pauses++;
                    slowPeer(600);
                }
                int n = in.read(buf, 0, (int) Math.min(buf.length, length - read));
                if (n < 0) {
                    break;
                }
                read += n;
            }
            bodyRead.set(read);
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + PAGE.length() + "\r\n\r\n" + PAGE)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            in.read(); // until the gateway closes or pools the connection and the test ends
        } catch (IOException e) {
            // the test sees what the gateway did
        }
    }

    @Test
    void idleTimeout_runsBetweenRequestsOnly_aSlowResponseDoesNotUseItUp() throws Exception {
        start("limits:\n  clientIdleTimeout: 200ms\n");
        upstream.then(ScriptedUpstream.all((s, out) -> slowPeer(600), ScriptedUpstream.json(PAGE)));
        upstream.then(ScriptedUpstream.json(PAGE));
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/2/tweets/search/recent"));
            assertThat(c.read(false).status()).isEqualTo(200);
            c.send(RawHttp.get("/2/tweets/search/recent")); // at once: the idle time starts at the end of the response
            assertThat(c.read(false).status()).isEqualTo(200);
            long before = System.nanoTime();
            assertThat(c.closedByPeer()).as("closed after 200 ms without a request").isTrue();
            assertThat(System.nanoTime() - before).isGreaterThanOrEqualTo(150_000_000L);
        }
        assertThat(refusals("body_timeout")).isEqualTo(0.0);
    }

    @Test
    void newConnection_thatNeverSendsAByte_isClosedAtTheIdleTimeout() throws Exception {
        start("limits:\n  clientIdleTimeout: 200ms\n");
        try (RawHttp c = client()) {
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(refusals("head_timeout")).isEqualTo(0.0);
    }
}
