package dev.tollgate.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.EntityResolver;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The request-head deadline on frozen time (Netty's embedded event loop): counted from the head's
 * first byte and never moved by later bytes, so a slowloris client is answered 408 and closed on
 * time however steadily it trickles; a head that arrives whole schedules nothing.
 */
class HeadDeadlineTest {
    final GatewayMetrics metrics = new GatewayMetrics();
    EmbeddedChannel ch;

    EmbeddedChannel channel(String limits) {
        GatewayConfig config = ConfigLoader.fromYaml("upstream:\n  url: http://127.0.0.1:9\ndataDir: /nonexistent\nlimits:\n" + limits,
                Path.of("/"), "test.yaml");
        ManualClock clock = new ManualClock(Instant.parse("2026-11-25T00:00:00Z").toEpochMilli());
        Meter meter = new Meter(config.meter().meterConfig(), config.damages().terms(), clock, MeterListener.none());
        EntityResolver resolver = new EntityResolver(config.entities(), Directory::empty, new KeyHasher(new byte[32]));
        ProxyContext px = new ProxyContext(config, meter, resolver, new SeenIdentifiers(), metrics, Transport.nio(), null, clock);
        StrictRequestDecoder decoder = new StrictRequestDecoder(new HttpDecoderConfig());
        ProxyResponseEncoder encoder = new ProxyResponseEncoder();
        ch = new EmbeddedChannel(decoder, encoder, new FrontendHandler(px, decoder, encoder));
        ch.freezeTime();
        return ch;
    }

    @AfterEach
    void release() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    private void send(String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
    }

    private String written() {
        StringBuilder b = new StringBuilder();
        ByteBuf out;
        while ((out = ch.readOutbound()) != null) {
            b.append(out.toString(StandardCharsets.US_ASCII));
            out.release();
        }
        return b.toString();
    }

    @Test
    void slowloris_trickleOfBytes_doesNotMoveTheDeadline_408AtTenSeconds() {
        channel("  requestHeadTimeout: 10s\n  clientIdleTimeout: 60s\n");
        send("GET /2/tweets HTTP/1.1\r\n");
        for (int second = 1; second < 10; second++) {
            ch.advanceTimeBy(1, TimeUnit.SECONDS);
            ch.runScheduledPendingTasks();
            send("X-Slow-" + second + ": y\r\n"); // a whole header line every second
            assertThat(ch.isOpen()).as("still open after %d s", second).isTrue();
        }
        ch.advanceTimeBy(1, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(written()).startsWith("HTTP/1.1 408 Request Timeout\r\n").containsIgnoringCase("connection: close");
        assertThat(ch.isOpen()).isFalse();
        assertThat(new String(metrics.scrape(), StandardCharsets.UTF_8)).contains("tollgate_refusals_total{reason=\"head_timeout\"} 1.0");
    }

    @Test
    void partialRequestLine_alsoHasItsDeadline() {
        channel("  requestHeadTimeout: 2s\n");
        send("GE");
        ch.advanceTimeBy(1999, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        send("T");
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(written()).startsWith("HTTP/1.1 408");
        assertThat(ch.isOpen()).isFalse();
    }
}
