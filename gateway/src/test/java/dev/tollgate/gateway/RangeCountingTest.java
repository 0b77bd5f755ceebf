package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.gateway.config.ConfigException;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.counting.TestCodings;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Byte ranges cannot dodge the count: by default {@code Range} and {@code If-Range} never reach the
 * upstream, so each answer is the whole page, counted whole; with {@code counting.ranges: pass} a
 * 206 is charged the upstream's post-count header, else nothing and a metric says so.
 */
class RangeCountingTest extends ScriptedGatewayTest {

    long posts() {
        return gateway.meter().posts24h(ME);
    }

    /** The page split as a range-honouring upstream would answer four Range requests. */
    static ScriptedUpstream.Action partial(byte[] page, int from, int to, String... extra) {
        StringBuilder h = new StringBuilder("HTTP/1.1 206 Partial Content\r\nContent-Type: application/json\r\n")
                .append("Content-Range: bytes ").append(from).append('-').append(to - 1).append('/').append(page.length).append("\r\n")
                .append("Content-Length: ").append(to - from).append("\r\n");
        for (String x : extra) {
            h.append(x).append("\r\n");
        }
        byte[] head = h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[head.length + to - from];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(page, from, all, head.length, to - from);
        return ScriptedUpstream.respond(all);
    }

    @Test
    void byDefault_rangesAreStripped_soFourRangeRequestsAreFourWholePages_countedWhole() throws Exception {
        start("");
        String page = TestCodings.page(100, 12);
        int quarter = page.length() / 4;
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            for (int i = 0; i < 4; i++) {
                upstream.then(ScriptedUpstream.json(page));
                RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent?max_results=100",
                        "Range: bytes=" + i * quarter + "-" + ((i + 1) * quarter - 1), "If-Range: \"v1\""));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).isEqualTo(page);
            }
        }
        for (ScriptedUpstream.Received got : upstream.received) {
            assertThat(got.hasHeader("Range")).isFalse();
            assertThat(got.hasHeader("If-Range")).isFalse();
        }
        Await.value(this::posts, 400, "every post delivered is counted");
    }

    @Test
    void ranges_pass_forwardsRange_andCharges206ByTheHeader_elseZeroWithAMetric() throws Exception {
        start("counting:\n  ranges: pass\n");
        byte[] page = TestCodings.page(100, 12).getBytes(StandardCharsets.UTF_8);
        int half = page.length / 2;
        upstream.then(partial(page, 0, half, "X-Post-Count: 50"));
        upstream.then(partial(page, half, page.length));
        try (RawHttp c = new RawHttp(gateway.proxyAddress())) {
            RawHttp.Response a = c.exchange(RawHttp.get("/p", "Range: bytes=0-" + (half - 1)));
            RawHttp.Response b = c.exchange(RawHttp.get("/p", "Range: bytes=" + half + "-", "If-Range: \"v1\""));
            assertThat(a.status()).isEqualTo(206);
            assertThat(b.status()).isEqualTo(206);
            assertThat(a.header("X-Post-Count")).isNull();
        }
        assertThat(upstream.received.get(0).header("Range")).isEqualTo("bytes=0-" + (half - 1));
        assertThat(upstream.received.get(1).header("If-Range")).isEqualTo("\"v1\"");
        Await.value(() -> gateway.meter().requests24h(ME), 2, "requests");
        assertThat(posts()).as("the header's 50; the unlabelled piece counts nothing").isEqualTo(50);
        assertThat(new String(gateway.metrics().scrape(), StandardCharsets.UTF_8))
                .contains("tollgate_errors_total{kind=\"partial_content\"} 1.0");
    }

    @Test
    void countingRanges_badValue_isAOneLineError() {
        assertThatThrownBy(() -> ConfigLoader.fromYaml("upstream: {url: 'http://127.0.0.1:1'}\ncounting:\n  ranges: sometimes\n",
                dir, "t.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("t.yaml: counting.ranges: 'sometimes' (expected: strip or pass)");
        assertThatThrownBy(() -> ConfigLoader.fromYaml("upstream: {url: 'http://127.0.0.1:1'}\ncounting:\n  maxDecodedBytes: 10\n",
                dir, "t.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("t.yaml: counting.maxDecodedBytes: 10 (expected: at least 65536)");
    }
}
