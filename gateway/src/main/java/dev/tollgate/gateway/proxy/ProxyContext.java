package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.entity.EntityResolver;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.Meter;
import dev.tollgate.gateway.access.AccessLog;
import dev.tollgate.gateway.access.RateLimitedWarning;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import java.util.concurrent.ConcurrentHashMap;

/** What every connection of one gateway shares: configuration, meter, resolver, metrics, upstream pools. */
final class ProxyContext {
    final GatewayConfig config;
    final Meter meter;
    final EntityResolver resolver;
    final SeenIdentifiers seen;
    final GatewayMetrics metrics;
    final Transport transport;
    final Enforcement enforcement;
    /** An {@code AsciiString}: its hash is computed once, not per response. */
    final io.netty.util.AsciiString postCountHeader;
    final boolean countJson;
    /** False: a plain pass-through that meters nothing (benchmarks, P3). */
    final boolean metering;
    /**
     * How upstream responses are decoded: header names must be tokens and values free of control
     * characters (a NUL, an empty name from a folded line): a 502, never forwarded (SPEC §8).
     */
    final io.netty.handler.codec.http.HttpDecoderConfig upstreamDecoder;
    private final ConcurrentHashMap<EventExecutor, UpstreamPool> pools = new ConcurrentHashMap<>();
    /** Exchanges whose charge was recorded (forwarded, aborted or blocked). */
    final java.util.concurrent.atomic.LongAdder charged = new java.util.concurrent.atomic.LongAdder();
    /** Null when the access log is off. */
    final AccessLog accessLog;
    final java.time.Clock clock;
    /**
     * Bytes read from one side of a proxied connection and not yet handed to the other side's
     * socket, over all connections (the {@code tollgate_pending_bytes} gauge). Each connection
     * holds at most {@code limits.maxPendingBytes} per direction, plus a response head.
     */
    final java.util.concurrent.atomic.LongAdder pendingBytes = new java.util.concurrent.atomic.LongAdder();
    /**
     * Reads of at most {@code limits.maxPendingBytes}, on client and upstream connections alike:
     * with a side read again only once the previous read was handed over in full (see
     * {@link Exchange}), one read is all a connection holds per direction.
     */
    final io.netty.channel.RecvByteBufAllocator reads;
    final RateLimitedWarning refusals = new RateLimitedWarning(LoggerFactory.getLogger("dev.tollgate.gateway.refusals"), 10, TimeUnit.SECONDS);
    final RateLimitedWarning upstreamFailures = new RateLimitedWarning(LoggerFactory.getLogger("dev.tollgate.gateway.upstream"), 10,
            TimeUnit.SECONDS);

    ProxyContext(GatewayConfig config, Meter meter, EntityResolver resolver, SeenIdentifiers seen, GatewayMetrics metrics,
            Transport transport, AccessLog accessLog, java.time.Clock clock) {
        this(config, meter, meter, resolver, seen, metrics, transport, accessLog, clock);
    }

    ProxyContext(GatewayConfig config, Meter meter, dev.tollgate.meter.MeterView view, EntityResolver resolver, SeenIdentifiers seen,
            GatewayMetrics metrics, Transport transport, AccessLog accessLog, java.time.Clock clock) {
        this.accessLog = accessLog;
        this.clock = clock;
        this.config = config;
        this.meter = meter;
        this.resolver = resolver;
        this.seen = seen;
        this.metrics = metrics;
        this.transport = transport;
        this.enforcement = new Enforcement(config.meter().mode(), view);
        this.postCountHeader = io.netty.util.AsciiString.of(config.counting().postCountHeader());
        this.countJson = config.counting().json();
        this.metering = config.counting().enabled();
        int cap = config.limits().maxPendingBytes();
        this.reads = new io.netty.channel.AdaptiveRecvByteBufAllocator(64, Math.min(2048, cap), cap);
        this.upstreamDecoder = new io.netty.handler.codec.http.HttpDecoderConfig().setMaxInitialLineLength(8192).setMaxHeaderSize(65536)
                .setMaxChunkSize(config.limits().maxChunkSize())
                .setHeadersFactory(io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(true));
    }

    /** The idle upstream connections of {@code loop}; call from that loop only. */
    UpstreamPool pool(EventExecutor loop) {
        return pools.computeIfAbsent(loop, l -> new UpstreamPool(config.upstream().maxIdlePerLoop()));
    }

    int idleUpstreamConnections() {
        int n = 0;
        for (UpstreamPool p : pools.values()) {
            n += p.size();
        }
        return n;
    }
}
