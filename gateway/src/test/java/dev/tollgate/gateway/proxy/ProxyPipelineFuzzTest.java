package dev.tollgate.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
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
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the proxy's two parsers an attacker reaches, in the gateway's own pipeline on Netty's
 * embedded channels (frozen time, no sockets): the client side (StrictRequestDecoder,
 * FrontendHandler, ProxyResponseEncoder) with any bytes in any split, and the upstream side
 * (UpstreamResponseDecoder, BackendHandler, Exchange) with any response bytes. The upstream connections
 * are embedded channels put in the pool, behind a recorder that decodes exactly what was
 * forwarded. Every buffer comes from an allocator that remembers it: after each input, all of
 * them must be released (besides the paranoid leak detector of the test run).
 *
 * <p>Oracles: nothing is thrown out of either pipeline; every request the upstream received is a
 * well-formed, complete request whose answer reached the client (so nothing refused was
 * forwarded, and nothing forwarded went unanswered); no buffer outlives the connection.
 */
class ProxyPipelineFuzzTest {
    /** Marks the upstream's responses; the fuzzer cannot write it itself. */
    private static final String MARK = "x-fuzz-" + UUID.randomUUID();
    private static final String GET = "GET /2/tweets/search/recent?query=a HTTP/1.1\r\nHost: api.example\r\n\r\n";

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void clientBytes_neverThrow_neverLeak_refusedNeverForwarded(FuzzedDataProvider data) {
        Random splits = new Random(data.consumeLong());
        boolean late = data.consumeBoolean();
        byte[] input = data.consumeRemainingAsBytes();
        try (Rig rig = new Rig(4)) {
            for (int at = 0; at < input.length && rig.client.isOpen();) { // a closed socket reads nothing more
                int n = 1 + splits.nextInt(Math.min(input.length - at, splits.nextBoolean() ? 16 : 2048));
                rig.client.writeInbound(rig.alloc.heapBuffer(n).writeBytes(input, at, n));
                at += n;
                rig.pump(null);
            }
            if (late && rig.client.isOpen()) {
                rig.client.advanceTimeBy(10, TimeUnit.MINUTES); // every deadline passes
                rig.client.runScheduledPendingTasks();
                rig.pump(null);
            }
            rig.client.checkException();
            // a header line of an upstream answer (the fuzzer can learn MARK, and an error detail may quote it, JSON-escaped)
            int relayed = count(rig.output(), "\r\n" + MARK + ": 1\r\n");
            int forwarded = 0;
            for (Upstream u : rig.upstreams) {
                assertThat(u.malformed).as("a malformed request was forwarded").isZero();
                forwarded += u.complete;
            }
            assertThat(relayed).as("requests forwarded = upstream answers relayed").isEqualTo(forwarded);
        }
    }

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void upstreamBytes_neverThrow_neverLeak(FuzzedDataProvider data) {
        Random splits = new Random(data.consumeLong());
        boolean closeAfter = data.consumeBoolean();
        boolean twoRequests = data.consumeBoolean();
        byte[] answer = data.consumeRemainingAsBytes();
        try (Rig rig = new Rig(1)) {
            Upstream up = rig.upstreams.get(0);
            up.script = (u) -> {
                for (int at = 0; at < answer.length && u.channel.isOpen();) {
                    int n = 1 + splits.nextInt(Math.min(answer.length - at, splits.nextBoolean() ? 8 : 1024));
                    u.channel.writeInbound(rig.alloc.heapBuffer(n).writeBytes(answer, at, n));
                    at += n;
                    rig.client.runPendingTasks();
                }
                if (closeAfter) {
                    u.channel.close();
                }
            };
            String req = twoRequests ? GET + GET : GET;
            byte[] b = req.getBytes(StandardCharsets.US_ASCII);
            rig.client.writeInbound(rig.alloc.heapBuffer(b.length).writeBytes(b));
            rig.pump(null);
            rig.client.advanceTimeBy(10, TimeUnit.MINUTES); // the response timeout, if still waiting
            rig.client.runScheduledPendingTasks();
            rig.pump(null);
            rig.client.checkException();
            String out = rig.output();
            if (!out.isEmpty()) {
                assertThat(out).startsWith("HTTP/1.1 ");
            }
        }
    }

    /** The rig itself: a valid request reaches the recording upstream once and its answer the client. */
    @Test
    void rig_forwardsAValidRequest_andRelaysTheAnswer() {
        try (Rig rig = new Rig(2)) {
            byte[] b = (GET + "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nPOST /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
            rig.client.writeInbound(rig.alloc.heapBuffer(b.length).writeBytes(b));
            rig.pump(null);
            String out = rig.output();
            assertThat(rig.upstreams.get(0).complete + rig.upstreams.get(1).complete).isEqualTo(2);
            assertThat(count(out, "\r\n" + MARK + ": 1\r\n")).isEqualTo(2);
            assertThat(out).contains("HTTP/1.1 400 ");
        }
    }

    static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    /** A client connection and the pooled upstream connections it may use. */
    static final class Rig implements AutoCloseable {
        final TrackingAllocator alloc = new TrackingAllocator();
        final EmbeddedChannel client;
        final List<Upstream> upstreams = new ArrayList<>();
        private final ByteArrayOutputStream written = new ByteArrayOutputStream();

        Rig(int pooled) {
            GatewayConfig config = ConfigLoader.fromYaml("upstream:\n  url: http://127.0.0.1:9\ndataDir: /nonexistent\n", Path.of("/"),
                    "fuzz.yaml");
            ManualClock clock = new ManualClock(Instant.parse("2026-11-25T00:00:00Z").toEpochMilli());
            Meter meter = new Meter(config.meter().meterConfig(), config.damages().terms(), clock, MeterListener.none());
            EntityResolver resolver = new EntityResolver(config.entities(), Directory::empty, new KeyHasher(new byte[32]));
            ProxyContext px = new ProxyContext(config, meter, resolver, new SeenIdentifiers(), new GatewayMetrics(), Transport.nio(), null,
                    clock);
            StrictRequestDecoder decoder = new StrictRequestDecoder(
                    new HttpDecoderConfig().setMaxInitialLineLength(512).setMaxHeaderSize(1024).setMaxChunkSize(256));
            ProxyResponseEncoder encoder = new ProxyResponseEncoder();
            client = new EmbeddedChannel() {
                @Override
                protected SocketAddress remoteAddress0() {
                    return new InetSocketAddress("192.0.2.7", 40_000);
                }
            };
            client.config().setAllocator(alloc);
            client.pipeline().addLast(decoder, encoder, new FrontendHandler(px, decoder, encoder));
            client.freezeTime();
            UpstreamPool pool = px.pool(client.eventLoop());
            for (int i = 0; i < pooled; i++) {
                EmbeddedChannel up = new EmbeddedChannel();
                up.config().setAllocator(alloc);
                UpstreamResponseDecoder responses = new UpstreamResponseDecoder(px.upstreamDecoder); // as Exchange builds it
                up.pipeline().addLast(responses, new HttpRequestEncoder(), new BackendHandler(pool, responses, px.metrics));
                up.freezeTime();
                upstreams.add(new Upstream(up, alloc));
                pool.offer(up);
            }
        }

        /** Moves bytes between the client, the proxy and the upstreams until nothing moves. */
        void pump(Object unused) {
            for (int round = 0; round < 10_000; round++) {
                client.runPendingTasks();
                boolean moved = drainClient();
                for (Upstream u : upstreams) {
                    moved |= u.pump(client);
                }
                if (!moved) {
                    return;
                }
            }
            throw new AssertionError("the pipeline never settles");
        }

        private boolean drainClient() {
            boolean moved = false;
            Object o;
            while ((o = client.readOutbound()) != null) {
                moved = true;
                if (o instanceof ByteBuf b) {
                    byte[] x = new byte[b.readableBytes()];
                    b.getBytes(b.readerIndex(), x);
                    written.writeBytes(x);
                }
                ReferenceCountUtil.release(o);
            }
            return moved;
        }

        String output() {
            drainClient();
            return written.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() {
            client.finishAndReleaseAll();
            for (Upstream u : upstreams) {
                u.channel.finishAndReleaseAll();
                u.recorder.finishAndReleaseAll();
            }
            alloc.assertAllReleased();
        }
    }

    /** One pooled upstream connection: what it receives is decoded by a recorder and answered by its script. */
    static final class Upstream {
        final EmbeddedChannel channel;
        final EmbeddedChannel recorder = new EmbeddedChannel(new HttpRequestDecoder());
        final TrackingAllocator alloc;
        java.util.function.Consumer<Upstream> script = Upstream::answer;
        int complete;
        int malformed;
        private boolean head;

        Upstream(EmbeddedChannel channel, TrackingAllocator alloc) {
            this.channel = channel;
            this.alloc = alloc;
            recorder.config().setAllocator(alloc);
        }

        boolean pump(EmbeddedChannel client) {
            boolean moved = false;
            Object o;
            while ((o = channel.readOutbound()) != null) {
                moved = true;
                if (o instanceof ByteBuf b && b.isReadable()) {
                    recorder.writeInbound(b);
                } else {
                    ReferenceCountUtil.release(o);
                }
            }
            while ((o = recorder.readInbound()) != null) {
                if (o instanceof io.netty.handler.codec.DecoderResultProvider r && r.decoderResult().isFailure()) {
                    malformed++;
                }
                if (o instanceof HttpRequest r) {
                    head = r.method().name().equals("HEAD");
                }
                boolean last = o instanceof LastHttpContent;
                ReferenceCountUtil.release(o);
                if (last && malformed == 0) {
                    complete++;
                    script.accept(this);
                    client.runPendingTasks();
                }
            }
            channel.runPendingTasks();
            return moved;
        }

        private void answer() {
            String body = "{\"data\":[{\"id\":\"1\"}]}";
            String r = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + MARK + ": 1\r\ncontent-length: " + body.length() + "\r\n\r\n"
                    + (head ? "" : body);
            byte[] b = r.getBytes(StandardCharsets.US_ASCII);
            channel.writeInbound(alloc.heapBuffer(b.length).writeBytes(b));
        }
    }

    /** Unpooled buffers, each remembered, so a test can prove every one was released. */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        private final List<ByteBuf> made = new ArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            made.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
            made.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        void assertAllReleased() {
            long live = made.stream().filter(b -> b.refCnt() > 0).count();
            made.clear();
            assertThat(live).as("buffers never released").isZero();
        }
    }
}
