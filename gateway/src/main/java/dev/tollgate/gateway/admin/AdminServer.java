package dev.tollgate.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.gateway.proxy.Problem;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.report.DamageReport;
import dev.tollgate.meter.report.ReportFormat;
import java.time.Clock;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API (SPEC §7) on its own port: {@code /healthz} for anyone; everything else needs
 * {@code Authorization: Bearer <admin token>}.
 */
public final class AdminServer {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    private final AdminToken token;
    private final GatewayMetrics metrics;
    private final AdminViews views;
    private final BooleanSupplier ready;
    private final Ledger ledger;
    private final Clock clock;
    private final Transport transport;
    private Channel server;
    /** More parts of {@code /readyz} (name → "ok" or what fails), added before {@link #start}. */
    private final Map<String, Supplier<String>> readinessParts = new LinkedHashMap<>();

    public AdminServer(AdminToken token, GatewayMetrics metrics, Meter meter, Supplier<Directory> directory, SeenIdentifiers seen,
            BooleanSupplier ready, Ledger ledger, Clock clock, Transport transport) {
        this.token = token;
        this.metrics = metrics;
        this.views = new AdminViews(meter, directory, seen);
        this.ready = ready;
        this.ledger = ledger;
        this.clock = clock;
        this.transport = transport;
    }

    /** Shows {@code name} in {@code /readyz}: "ok", or what fails. Call before {@link #start}. */
    public void readinessPart(String name, Supplier<String> state) {
        readinessParts.put(name, state);
    }

    public InetSocketAddress start(InetSocketAddress listen, EventLoopGroup group) throws InterruptedException {
        server = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(), new HttpObjectAggregator(65536),
                                new Handler());
                    }
                })
                .bind(listen)
                .sync()
                .channel();
        return (InetSocketAddress) server.localAddress();
    }

    public void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r;
            try {
                r = route(ctx, req);
            } catch (BadParameter | IllegalArgumentException e) {
                r = Problem.response(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, e.getMessage());
            } catch (RuntimeException e) {
                log.error("admin API {} failed", req.uri(), e);
                r = Problem.response(ctx.alloc(), HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error; see the gateway's log");
            }
            boolean keepAlive = io.netty.handler.codec.http.HttpUtil.isKeepAlive(req);
            io.netty.handler.codec.http.HttpUtil.setKeepAlive(r, keepAlive);
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private FullHttpResponse route(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            String path = q.path();
            if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                return Problem.response(ctx.alloc(), HttpResponseStatus.METHOD_NOT_ALLOWED, "the admin API is read-only: use GET");
            }
            if (path.equals("/healthz")) {
                return text(HttpResponseStatus.OK, "text/plain; charset=utf-8", "ok\n");
            }
            if (!token.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
                FullHttpResponse r = Problem.response(ctx.alloc(), HttpResponseStatus.UNAUTHORIZED,
                        "send Authorization: Bearer <admin token> (see admin.tokenFile, TOLLGATE_ADMIN_TOKEN or <dataDir>/admin.token)");
                r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"tollgate-admin\"");
                return r;
            }
            if (path.equals("/readyz")) {
                boolean ok = ready.getAsBoolean();
                ObjectNode body = AdminViews.JSON.createObjectNode().put("status", ok ? "ready" : "not ready")
                        .put("ledger", ledger.failing() ? "failing: records cannot be written; see the log" : "ok")
                        .put("ledgerRecords", ledger.size());
                readinessParts.forEach((name, state) -> body.put(name, state.get()));
                return json(ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
            }
            if (path.equals("/metrics")) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(metrics.scrape()));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, metrics.contentType());
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                return r;
            }
            if (path.equals("/api/v1/entities")) {
                return json(HttpResponseStatus.OK, views.top(intParam(q, "top", 50, 1, 100_000)));
            }
            if (path.startsWith("/api/v1/entities/")) {
                String id = QueryStringDecoder.decodeComponent(path.substring("/api/v1/entities/".length()));
                if (!views.known(id)) {
                    return Problem.response(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "no entity '" + id + "' in the directory or the window");
                }
                return json(HttpResponseStatus.OK, views.one(id));
            }
            if (path.equals("/api/v1/incidents")) {
                return json(HttpResponseStatus.OK, views.incidents(timeParam(q, "from", Long.MIN_VALUE), timeParam(q, "to", Long.MAX_VALUE)));
            }
            if (path.equals("/api/v1/reports/damages")) {
                ReportFormat format = ReportFormat.of(q.parameters().getOrDefault("format", List.of("json")).get(0), "format");
                String entity = q.parameters().containsKey("entity") ? q.parameters().get("entity").get(0) : null;
                DamageReport report;
                try {
                    report = DamageReport.fromLedger(ledger.records(), Instant.ofEpochMilli(timeParam(q, "from", DamageReport.BEGINNING.toEpochMilli())),
                            Instant.ofEpochMilli(timeParam(q, "to", DamageReport.END.toEpochMilli())), entity, clock.instant());
                } catch (java.io.IOException e) {
                    log.error("damages report: the ledger cannot be read", e);
                    return Problem.response(ctx.alloc(), HttpResponseStatus.SERVICE_UNAVAILABLE, "the ledger cannot be read: " + e.getMessage());
                }
                byte[] body = format.render(report);
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, format.contentType());
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                return r;
            }
            return Problem.response(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "no such admin resource: " + path);
        }
    }

    private static final class BadParameter extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadParameter(String message) {
            super(message, null, false, false);
        }
    }

    private static int intParam(QueryStringDecoder q, String name, int dflt, int min, int max) {
        List<String> v = q.parameters().get(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            int x = Integer.parseInt(v.get(0));
            if (x >= min && x <= max) {
                return x;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadParameter(name + ": '" + v.get(0) + "' (expected: a whole number in " + min + ".." + max + ")");
    }

    /** A time parameter, as a report's bounds are written ({@link DamageReport#bound}); {@code dflt} when absent. */
    static long timeParam(QueryStringDecoder q, String name, long dflt) {
        List<String> v = q.parameters().get(name);
        Instant t = DamageReport.bound(name, v == null || v.isEmpty() ? null : v.get(0), null);
        return t == null ? dflt : t.toEpochMilli();
    }

    private static FullHttpResponse json(HttpResponseStatus status, JsonNode body) {
        try {
            return text(status, "application/json", AdminViews.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FullHttpResponse text(HttpResponseStatus status, String type, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
        return r;
    }
}
