package dev.tollgate.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API (SPEC §7) on its own port: the probes {@code /healthz} and {@code /readyz} for
 * anyone (load balancers and Kubernetes cannot send a token; they learn up/down and the name of a
 * failing part, nothing more); everything else needs {@code Authorization: Bearer <admin token>}.
 */
public final class AdminServer {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    private final AdminToken token;
    private final GatewayMetrics metrics;
    private final AdminViews views;
    private final Readiness readiness;
    private final Ledger ledger;
    private final Clock clock;
    private final Transport transport;
    private Channel server;

    /**
     * {@code view}: what the API shows of each entity and of the incidents ({@code local} itself for
     * a single gateway); {@code local}: this gateway's meter (its hourly series); {@code cluster}:
     * null for a single gateway.
     */
    public AdminServer(AdminToken token, GatewayMetrics metrics, dev.tollgate.meter.MeterView view, Meter local, ClusterView cluster,
            Supplier<Directory> directory, SeenIdentifiers seen, Readiness readiness, Ledger ledger, Clock clock, Transport transport,
            java.util.function.BiFunction<dev.tollgate.meter.Incident, Instant, dev.tollgate.meter.report.DamagePeriod> periodOf) {
        this.token = token;
        this.metrics = metrics;
        this.views = new AdminViews(view, local, cluster, directory, seen, ledger, periodOf);
        this.readiness = readiness;
        this.ledger = ledger;
        this.clock = clock;
        this.transport = transport;
    }

    public InetSocketAddress start(InetSocketAddress listen, EventLoopGroup group) throws InterruptedException {
        server = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .childHandler(pipeline())
                .bind(listen)
                .sync()
                .channel();
        return (InetSocketAddress) server.localAddress();
    }

    /** The pipeline of each admin connection (the gateway binds the socket before it opens its data directory). */
    public ChannelInitializer<Channel> pipeline() {
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(), new HttpObjectAggregator(65536),
                        new Handler());
            }
        };
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
            } catch (java.io.UncheckedIOException e) {
                log.error("admin API {}: the ledger cannot be read", req.uri(), e);
                r = Problem.response(ctx.alloc(), HttpResponseStatus.SERVICE_UNAVAILABLE, "the ledger cannot be read: " + e.getCause().getMessage());
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
            if (path.equals("/readyz")) {
                var failing = readiness.failing();
                var body = AdminViews.JSON.createObjectNode().put("status", failing.isEmpty() ? "ready" : "not ready");
                if (!failing.isEmpty()) {
                    var names = body.putArray("failing");
                    failing.keySet().forEach(names::add);
                }
                var degraded = readiness.degraded();
                if (!degraded.isEmpty()) {
                    var links = body.putObject("degraded"); // still ready: a shared link is down, the proxy serves (SPEC §9)
                    degraded.forEach(links::put);
                }
                return json(failing.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
            }
            if (!token.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
                FullHttpResponse r = Problem.response(ctx.alloc(), HttpResponseStatus.UNAUTHORIZED,
                        "send Authorization: Bearer <admin token> (see admin.tokenFile, TOLLGATE_ADMIN_TOKEN or <dataDir>/admin.token)");
                r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"tollgate-admin\"");
                return r;
            }
            if (path.equals("/api/v1/status")) {
                var failing = readiness.failing();
                var body = AdminViews.JSON.createObjectNode().put("status", failing.isEmpty() ? "ready" : "not ready");
                var parts = body.putObject("parts");
                for (String name : readiness.names()) {
                    parts.put(name, failing.getOrDefault(name, "ok"));
                }
                if (!readiness.linkNames().isEmpty()) {
                    var degraded = readiness.degraded();
                    var links = body.putObject("links");
                    for (String name : readiness.linkNames()) {
                        links.put(name, degraded.getOrDefault(name, "ok"));
                    }
                }
                body.put("ledgerRecords", ledger.size());
                body.put("ledgerPendingRecords", ledger.pending());
                body.put("ledgerHead", ledger.head().hash());
                return json(HttpResponseStatus.OK, body);
            }
            if (path.equals("/metrics")) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(metrics.scrape()));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, metrics.contentType());
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                return r;
            }
            // one instant for each view, sent with it: X-Tollgate-As-Of (and asOf in the JSON documents)
            Instant now = clock.instant();
            if (path.equals("/api/v1/entities")) {
                return asOf(json(HttpResponseStatus.OK, views.top(intParam(q, "top", 50, 1, 100_000), now)), now);
            }
            if (path.startsWith("/api/v1/entities/")) {
                String id = QueryStringDecoder.decodeComponent(path.substring("/api/v1/entities/".length()));
                if (!views.known(id)) {
                    return Problem.response(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "no entity '" + id + "' in the directory or the window");
                }
                return asOf(json(HttpResponseStatus.OK, views.one(id, now)), now);
            }
            if (path.equals("/api/v1/incidents")) {
                DamageReport report = views.snapshot(timeParam(q, "from", DamageReport.BEGINNING), timeParam(q, "to", DamageReport.END), null, now);
                return asOf(json(HttpResponseStatus.OK, AdminViews.incidents(report)), report.asOf());
            }
            if (path.equals("/api/v1/reports/damages")) {
                ReportFormat format = ReportFormat.of(q.parameters().getOrDefault("format", List.of("json")).get(0), "format");
                String entity = q.parameters().containsKey("entity") ? q.parameters().get("entity").get(0) : null;
                DamageReport report = views.snapshot(timeParam(q, "from", DamageReport.BEGINNING), timeParam(q, "to", DamageReport.END), entity, now);
                byte[] body = format.render(report);
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, format.contentType());
                r.headers().set("Tollgate-Ledger-Head", report.ledgerHead().records() + " " + report.ledgerHead().hash());
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                return asOf(r, report.asOf());
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
    static Instant timeParam(QueryStringDecoder q, String name, Instant dflt) {
        List<String> v = q.parameters().get(name);
        return DamageReport.bound(name, v == null || v.isEmpty() ? null : v.get(0), dflt);
    }

    /** The header that says as of when a view's figures hold (the CSV report has no other place for it). */
    static final String AS_OF_HEADER = "X-Tollgate-As-Of";

    private static FullHttpResponse asOf(FullHttpResponse r, Instant t) {
        r.headers().set(AS_OF_HEADER, t.toString());
        return r;
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
