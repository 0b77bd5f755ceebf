package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.counting.ContentCoding;
import dev.tollgate.gateway.counting.TestCodings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Counting that a client cannot dodge with compression: every coding, framed by length or in
 * chunks, in whole writes or one byte at a time, through the real proxy over loopback; the client
 * gets exactly the bytes the upstream sent. Broken streams, codings the counter cannot read.
 */
class CompressedCountingTest extends ScriptedGatewayTest {
    static final String ALL = "gzip, deflate, br, zstd";

    long posts() {
        return gateway.meter().posts24h(ME);
    }

    String metrics() {
        return new String(gateway.metrics().scrape(), StandardCharsets.UTF_8);
    }

    static String errors(String kind, int n) {
        return "tollgate_errors_total{kind=\"" + kind + "\"} " + n + ".0";
    }

    /** A 200 JSON response in {@code coding}, framed by Content-Length or in chunks of {@code chunk} bytes, each flushed alone. */
    static ScriptedUpstream.Action coded(String coding, byte[] body, boolean chunked, int chunk, String... extraHeaders) {
        return (s, out) -> {
            s.setTcpNoDelay(true);
            StringBuilder h = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
            if (coding != null) {
                h.append("Content-Encoding: ").append(coding).append("\r\n");
            }
            for (String x : extraHeaders) {
                h.append(x).append("\r\n");
            }
            h.append(chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + body.length + "\r\n").append("\r\n");
            out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            for (int at = 0; at < body.length; at += chunk) {
                int n = Math.min(chunk, body.length - at);
                if (chunked) {
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                }
                out.write(body, at, n);
                if (chunked) {
                    out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
                out.flush();
            }
            if (chunked) {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
        };
    }

    static byte[] page(int posts) {
        return TestCodings.page(posts, 12).getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(ContentCoding.class)
    void everyCoding_chunkedOrSized_wholeOrByteByByte_isCountedExactly_andForwardedByteForByte(ContentCoding coding) throws Exception {
        start("");
        byte[] coded = TestCodings.encode(coding, page(100));
        String name = coding == ContentCoding.IDENTITY ? null : coding.name().toLowerCase(java.util.Locale.ROOT);
        long expected = 0;
        try (RawHttp c = client()) {
            for (boolean chunked : new boolean[] {false, true}) {
                for (int chunk : new int[] {coded.length, 1000, 1}) {
                    upstream.then(coded(name, coded, chunked, chunk));
                    RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: " + ALL));
                    String what = coding + (chunked ? " chunked" : " sized") + " in pieces of " + chunk;
                    assertThat(r.status()).as(what).isEqualTo(200);
                    assertThat(r.header("Content-Encoding")).as(what).isEqualTo(name);
                    assertThat(r.body()).as(what + ": the bytes the upstream sent").isEqualTo(coded);
                    expected += 100;
                    long want = expected;
                    Await.value(this::posts, want, what);
                }
            }
        }
        for (ScriptedUpstream.Received got : upstream.received) {
            assertThat(got.header("Accept-Encoding")).as("readable codings reach the upstream unchanged").isEqualTo(ALL);
        }
        assertThat(metrics()).contains(errors("decode", 0), errors("json_count", 0), errors("unreadable_encoding", 0));
    }

    @ParameterizedTest
    @EnumSource(value = ContentCoding.class, names = "IDENTITY", mode = EnumSource.Mode.EXCLUDE)
    void aBrokenCompressedStream_isCountedToTheBreak_metered_andServedAsSent(ContentCoding coding) throws Exception {
        start("");
        byte[] coded = TestCodings.encode(coding, page(100));
        byte[] broken = coded.clone();
        Arrays.fill(broken, broken.length / 2, broken.length, (byte) 0x5A); // garbage from the middle on, framing intact
        upstream.then(coded(coding.name().toLowerCase(java.util.Locale.ROOT), broken, true, 512));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: " + ALL));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(broken);
            // the request stays on one connection: the next one is counted as usual
            upstream.then(ScriptedUpstream.json(new String(page(3), StandardCharsets.UTF_8)));
            assertThat(c.exchange(RawHttp.get("/2/tweets/search/recent")).status()).isEqualTo(200);
        }
        Await.value(() -> gateway.meter().requests24h(ME), 2, "requests");
        long counted = posts() - 3;
        assertThat(counted).as("posts decodable before the break").isBetween(0L, 99L);
        if (coding != ContentCoding.ZSTD) { // zstd decodes whole blocks: this page is one block
            assertThat(counted).isPositive();
        }
        String m = metrics();
        assertThat(m.contains(errors("decode", 1)) || m.contains(errors("json_count", 1)))
                .as("an error metric ticked:\n%s", m).isTrue();
    }

    @Test
    void aTruncatedGzipBody_isCountedToTheCut_withTheDecodeMetric() throws Exception {
        start("");
        byte[] coded = TestCodings.encode(ContentCoding.GZIP, page(100));
        byte[] cut = Arrays.copyOf(coded, coded.length * 2 / 3);
        upstream.then(coded("gzip", cut, false, 700));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: gzip"));
            assertThat(r.body()).isEqualTo(cut);
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "requests");
        assertThat(posts()).isBetween(1L, 99L);
        assertThat(metrics()).contains(errors("decode", 1), errors("json_count", 0));
    }

    @Test
    void unreadableCodings_areNeverOffered_upstream() throws Exception {
        start("");
        try (RawHttp c = client()) {
            for (int i = 0; i < 3; i++) {
                upstream.then(ScriptedUpstream.json(new String(page(1), StandardCharsets.UTF_8)));
            }
            c.exchange(RawHttp.get("/a", "Accept-Encoding: compress, gzip;q=0.5, lzma, exi"));
            c.exchange(RawHttp.get("/b", "Accept-Encoding: *"));
            c.exchange(RawHttp.get("/c"));
        }
        assertThat(upstream.received.get(0).header("Accept-Encoding")).isEqualTo("gzip;q=0.5");
        assertThat(upstream.received.get(1).header("Accept-Encoding")).isEqualTo(ALL);
        assertThat(upstream.received.get(2).header("Accept-Encoding")).as("no field would allow any coding").isEqualTo("identity");
    }

    @Test
    void meteringOff_forwardsTheRequestUntouched() throws Exception {
        start("counting:\n  enabled: false\n");
        upstream.then(ScriptedUpstream.json(new String(page(1), StandardCharsets.UTF_8)));
        try (RawHttp c = client()) {
            c.exchange(RawHttp.get("/a", "Accept-Encoding: compress", "Range: bytes=0-9", "If-Range: \"v\""));
        }
        ScriptedUpstream.Received got = upstream.received.get(0);
        assertThat(got.header("Accept-Encoding")).isEqualTo("compress");
        assertThat(got.header("Range")).isEqualTo("bytes=0-9");
        assertThat(got.header("If-Range")).isEqualTo("\"v\"");
    }

    @Test
    void aResponseInAnUnreadableCoding_isServed_chargedByTheHeader_elseZeroWithAMetric() throws Exception {
        start("");
        byte[] body = "\u001f\u009d compress-coded bytes".getBytes(StandardCharsets.ISO_8859_1);
        upstream.then(coded("compress", body, false, body.length));
        upstream.then(coded("gzip, br", body, true, 5, "X-Post-Count: 7"));
        upstream.then(coded("gzip", body, false, body.length, "Content-Encoding: br"));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: gzip"));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(body);
            RawHttp.Response stacked = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: gzip"));
            assertThat(stacked.body()).isEqualTo(body);
            assertThat(stacked.header("X-Post-Count")).isNull();
            RawHttp.Response twoLines = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: gzip"));
            assertThat(twoLines.body()).isEqualTo(body);
        }
        Await.value(() -> gateway.meter().requests24h(ME), 3, "requests");
        assertThat(posts()).isEqualTo(7);
        assertThat(metrics()).contains(errors("unreadable_encoding", 2), errors("decode", 0));
    }

    @Test
    void aDecompressionBomb_isCountedToTheBound_andServed() throws Exception {
        start("counting:\n  maxDecodedBytes: 1048576\n");
        byte[] plain = new byte[32 << 20];
        Arrays.fill(plain, (byte) ' ');
        byte[] head = "{\"data\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"},".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, plain, 0, head.length);
        byte[] coded = TestCodings.encode(ContentCoding.GZIP, plain);
        upstream.then(coded("gzip", coded, true, 8192));
        try (RawHttp c = client()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: gzip"));
            assertThat(r.body()).isEqualTo(coded);
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "requests");
        assertThat(posts()).isEqualTo(3);
        assertThat(metrics()).contains(errors("decode_limit", 1));
    }

    @ParameterizedTest
    @EnumSource(value = ContentCoding.class, names = "IDENTITY", mode = EnumSource.Mode.EXCLUDE)
    void anUpstreamThatDiesMidBody_chargesThePostsDecodedSoFar_andLeaksNothing(ContentCoding coding) throws Exception {
        start("");
        byte[] coded = TestCodings.encode(coding, TestCodings.page(2000, 12).getBytes(StandardCharsets.UTF_8));
        byte[] firstPart = Arrays.copyOf(coded, coded.length / 2);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: "
                + coding.name().toLowerCase(java.util.Locale.ROOT) + "\r\nContent-Length: " + coded.length + "\r\n\r\n";
        upstream.then(ScriptedUpstream.all(ScriptedUpstream.respond(head), ScriptedUpstream.respond(firstPart), ScriptedUpstream.reset()));
        try (RawHttp c = client()) {
            c.send(RawHttp.get("/2/tweets/search/recent", "Accept-Encoding: " + ALL));
            byte[] got = c.input().readAllBytes(); // until the gateway closes: the upstream broke off
            assertThat(new String(got, StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200");
        } catch (IOException reset) {
            // the gateway may reset the connection it cannot finish: the charge is what matters
        }
        Await.value(() -> gateway.meter().requests24h(ME), 1, "the aborted exchange is charged");
        assertThat(posts()).as("posts decoded from the bytes forwarded").isBetween(0L, 1999L);
        if (coding != ContentCoding.ZSTD) {
            assertThat(posts()).isPositive();
        }
    }
}
