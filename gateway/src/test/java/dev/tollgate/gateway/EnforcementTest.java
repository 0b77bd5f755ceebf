package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The modes of SPEC §5: meter never interferes, warn adds RateLimit headers, block answers 429. */
@ExtendWith(LeakCheck.class)
class EnforcementTest {
    static final String ME = "net:127.0.0.0/24";
    static final long HOUR = 3_600_000;

    @TempDir
    Path dir;

    static String page(int n) {
        return RawHttp.get("/2/tweets/search/recent?max_results=" + n);
    }

    @Test
    void meterMode_addsNothing_andNeverBlocks() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 100\n");
             RawHttp c = f.raw()) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Response r = c.exchange(page(100));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("RateLimit")).isNull();
                assertThat(r.header("RateLimit-Policy")).isNull();
            }
            Await.value(() -> f.posts(ME), 300, "posts");
            assertThat(f.gateway.ledger().awaitWritten(5000)).as("the flag is durable").isTrue();
            assertThat(f.gateway.meter().flagged(ME)).isTrue();
        }
    }

    @Test
    void warnMode_addsRateLimitHeaders_butServes() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 100\n  mode: warn\n");
             RawHttp c = f.raw()) {
            RawHttp.Response first = c.exchange(page(60));
            assertThat(first.header("RateLimit-Policy")).isEqualTo("\"posts-24h\";q=100;w=86400");
            assertThat(first.header("RateLimit")).isEqualTo("\"posts-24h\";r=100;t=0");
            Await.value(() -> f.posts(ME), 60, "charged before the clock moves");
            f.clock.advance(HOUR);
            RawHttp.Response second = c.exchange(page(60));
            assertThat(second.header("RateLimit")).isEqualTo("\"posts-24h\";r=40;t=" + (23 * 3600));
            RawHttp.Response third = c.exchange(page(10));
            assertThat(third.status()).isEqualTo(200);
            assertThat(third.header("RateLimit")).as("over the threshold: back to the threshold when the first page leaves")
                    .isEqualTo("\"posts-24h\";r=0;t=" + (23 * 3600));
        }
    }

    @Test
    void blockMode_answers429_untilTheCountFallsBelowTheThreshold() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 100\n  mode: block\n");
             RawHttp c = f.raw()) {
            assertThat(c.exchange(page(60)).status()).isEqualTo(200);
            Await.value(() -> f.posts(ME), 60, "charged before the clock moves");
            f.clock.advance(HOUR);
            assertThat(c.exchange(page(60)).status()).as("the crossing request itself is served").isEqualTo(200);
            Await.value(() -> f.posts(ME), 120, "posts");
            // the count shows a moment before the meter raises the flag: wait for the flag itself (visible once durable)
            Await.isTrue(() -> f.gateway.meter().flagged(ME), "the flag is durable: block mode shows it from then on");
            assertThat(f.gateway.ledger().awaitWritten(5000)).isTrue();
            long upstreamBefore = f.upstream.requests();

            RawHttp.Response blocked = c.exchange(page(10));
            assertThat(blocked.status()).isEqualTo(429);
            assertThat(blocked.header("Content-Type")).isEqualTo("application/problem+json");
            assertThat(blocked.header("Retry-After")).isEqualTo(Long.toString(23 * 3600));
            assertThat(blocked.text()).contains("\"status\":429");
            assertThat(f.upstream.requests()).as("a blocked request is not forwarded").isEqualTo(upstreamBefore);
            // the connection stays usable and the block is still there
            assertThat(c.exchange(page(10)).status()).isEqualTo(429);
            Await.value(() -> f.requests(ME), 4, "blocked requests are counted as requests");

            f.clock.advance(23 * HOUR);
            assertThat(c.exchange(page(10)).status()).as("the first page left the window: 60 posts").isEqualTo(200);
        }
    }
}
