package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The cap on pending bytes per connection ({@code limits.maxPendingBytes}) over real sockets: a
 * client that reads a large response 1 KiB at a time, or sends a large body to an upstream that
 * reads it 1 KiB at a time, never makes the gateway hold more than the cap of that connection's
 * bytes ({@code tollgate_pending_bytes}, sampled after every KiB); the transfer still completes,
 * byte for byte. A client that takes nothing for {@code upstream.idleTimeout} is cut
 * ({@code slow_reader}), not blamed on the upstream.
 */
class PendingBytesTest extends ScriptedGatewayTest {
    static final int CAP = 16384;
    static final int SIZE = 24 << 20;

    private double metric(String line) {
        for (String l : new String(gateway.metrics().scrape(), StandardCharsets.UTF_8).split("\n")) {
            if (l.startsWith(line + " ")) {
                return Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    private double pending() {
        return metric("tollgate_pending_bytes");
    }

    private static byte[] body() {
        byte[] b = new byte[SIZE];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    private static byte[] response(byte[] body) {
        byte[] head = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    private Socket slowClient() throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096); // small, so the gateway feels the slow reader soon
        s.connect(gateway.proxyAddress(), 2000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static void skipHead(InputStream in) throws Exception {
        int matched = 0;
        while (matched < 4) {
            int c = in.read();
            assertThat(c).isNotNegative();
            matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : c == '\r' ? 1 : 0;
        }
    }

    @Test
    void clientReading1KiBAtATime_gatewayHoldsAtMostTheCap_responseComplete() throws Exception {
        start("limits:\n  maxPendingBytes: " + CAP + "\n");
        byte[] body = body();
        upstream.then(ScriptedUpstream.respond(response(body)));
        try (Socket s = slowClient()) {
            s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            skipHead(in);
            Await.isTrue(() -> pending() > 0, "the gateway holds bytes the client has not taken");
            byte[] got = new byte[SIZE];
            int off = 0;
            double max = 0;
            for (int i = 0; i < 2000; i++) { // 2 MB, a KiB per read, the cap checked after each
                int n = in.read(got, off, 1024);
                assertThat(n).isPositive();
                off += n;
                max = Math.max(max, pending());
                assertThat(pending()).as("pending bytes after %d bytes read", off).isLessThanOrEqualTo(CAP);
            }
            assertThat(max).isPositive();
            while (off < SIZE) {
                int n = in.read(got, off, SIZE - off);
                assertThat(n).isPositive();
                off += n;
            }
            assertThat(got).isEqualTo(body);
        }
        Await.isTrue(() -> pending() == 0, "nothing pending once the response is through");
    }

    @Test
    void clientSendingFastToAnUpstreamReading1KiBAtATime_gatewayHoldsAtMostTheCap() throws Exception {
        byte[] body = body();
        AtomicLong maxSeen = new AtomicLong();
        // the upstream: reads the head, then the body a KiB at a time for the first 2 MB, checking the cap
        try (java.net.ServerSocket slow = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            AtomicLong received = new AtomicLong();
            Thread t = new Thread(() -> {
                try (Socket u = slow.accept()) {
                    InputStream in = u.getInputStream();
                    skipHead(in);
                    byte[] buf = new byte[64 << 10];
                    long read = 0;
                    while (read < SIZE) {
                        int n = in.read(buf, 0, read < (2 << 20) ? 1024 : buf.length);
                        if (n < 0) {
                            break;
                        }
                        read += n;
                        if (read < (2 << 20)) {
                            maxSeen.accumulateAndGet((long) pending(), Math::max);
                        }
                    }
                    received.set(read);
                    OutputStream out = u.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    in.read();
                } catch (Exception e) {
                    // the test sees what the gateway did
                }
            }, "slow-reading-upstream");
            t.setDaemon(true);
            t.start();
            start("http://127.0.0.1:" + slow.getLocalPort(), "limits:\n  maxPendingBytes: " + CAP + "\n");
            try (RawHttp c = client()) {
                c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + SIZE + "\r\n\r\n");
                c.send(body); // blocks while the gateway holds back
                assertThat(c.read(false).status()).isEqualTo(200);
            }
            assertThat(received.get()).isEqualTo(SIZE);
            assertThat(maxSeen.get()).isPositive().isLessThanOrEqualTo(CAP);
        }
    }

    @Test
    void clientTakingNothing_isCutAfterTheUpstreamIdleTimeout_countedAsASlowReader() throws Exception {
        upstream = new ScriptedUpstream();
        // the fixture writes the upstream section; its idleTimeout goes on the line after the URL
        start(upstream.url() + "\n  idleTimeout: 300ms", "limits:\n  maxPendingBytes: " + CAP + "\n");
        byte[] body = body();
        upstream.then(ScriptedUpstream.respond(response(body)));
        try (Socket s = slowClient()) {
            s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Await.isTrue(() -> metric("tollgate_refusals_total{reason=\"slow_reader\"}") == 1.0, "cut as a slow reader");
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 << 10];
            long total = 0;
            for (int n; (n = in.read(buf)) >= 0; ) {
                total += n;
            }
            assertThat(total).as("the connection was cut short").isLessThan(SIZE);
        }
        assertThat(metric("tollgate_errors_total{kind=\"upstream_timeout\"}")).isEqualTo(0.0);
    }
}
