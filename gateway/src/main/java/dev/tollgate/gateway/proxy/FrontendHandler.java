package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.access.AccessLog;
import dev.tollgate.gateway.admin.GatewayMetrics.ErrorKind;
import dev.tollgate.gateway.entity.Resolution;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of a connection: checks each request, resolves its entity, applies the
 * enforcement mode and hands it to an {@link Exchange}. One exchange at a time; requests the client
 * pipelines meanwhile wait in order. A client that half-closes (shuts down its write side) after
 * its requests gets all their responses, then the connection is closed. Trailer fields of a
 * chunked request are dropped, never forwarded (RFC 9110 §6.5.1: they may not be merged into the
 * header section). Runs on the connection's event loop only.
 *
 * <h2>Deadlines on the client</h2>
 * Three, each running only while the gateway waits for the client, never while it waits for the
 * upstream or for the client to read: between requests, {@code limits.clientIdleTimeout} (a new
 * or keep-alive connection that starts no request is closed, silently); from the first byte of a
 * head, {@code limits.requestHeadTimeout} for the whole head (not moved by later bytes: 408); and
 * during a body, {@code limits.requestBodyTimeout} as the longest gap between two reads while
 * the gateway wants more (nginx's {@code client_body_timeout}: 408, as the slowest legitimate
 * upload still sends something every few seconds, where a total deadline would cut large bodies
 * on slow links). Each refusal is counted in {@code tollgate_refusals_total}.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);

    private final ProxyContext px;
    private final ProxyResponseEncoder encoder;
    private final StrictRequestDecoder decoder;
    private final ArrayDeque<Object> pipelined = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Exchange current;
    private boolean http11 = true;
    private boolean closing;
    /** The client shut down its write side: no more requests; close once those received are answered. */
    private boolean inputShut;
    /** The gateway is stopping: finish the exchange under way, then close. */
    private boolean draining;
    /** The head number a deadline was set for, so that each head gets one. */
    private long headDeadlineFor;
    /** When the last exchange ended (executor's ticker): a head that arrived meanwhile was not read by its fault. */
    private long freeSinceNanos = Long.MIN_VALUE;
    /** When the head of the request being answered arrived ({@link System#nanoTime()}); 0 when none is. */
    private long requestStartNanos;
    private String method;
    private String target;
    private String entity;
    private long chargedPosts;
    private long bodyBytes;
    private long upstreamNanos = -1;
    private String client;
    /** Between requests: how long the client may keep the connection without starting one (limits.clientIdleTimeout). */
    private WaitDeadline idle;
    /** During a request body: the longest gap while the gateway waits for its bytes (limits.requestBodyTimeout). */
    private WaitDeadline body;
    /** A read brought a part of a body (reset at the end of each read). */
    private boolean contentRead;
    private ResponseDeadline responseDeadline;
    private dev.tollgate.gateway.counting.ScanScratch scanScratch;

    FrontendHandler(ProxyContext px, StrictRequestDecoder decoder, ProxyResponseEncoder encoder) {
        this.px = px;
        this.decoder = decoder;
        this.encoder = encoder;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        var limits = px.config.limits();
        idle = new WaitDeadline(ctx.executor(), limits.clientIdleTimeout().toNanos(), this::idleExpired);
        body = new WaitDeadline(ctx.executor(), limits.requestBodyTimeout().toNanos(), this::bodyExpired);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        idle.waiting();
        ctx.read();
    }

    /**
     * After each read: a request head still incomplete gets a deadline (once per head, from its
     * first byte, never moved by later bytes), so a client sending a byte now and then cannot hold
     * the connection; a complete head in one read, the usual case, schedules nothing.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (current != null || decoder.hasPartialRequest() || !pipelined.isEmpty()) {
            idle.stop(); // a request began: its head and body deadlines take over
        }
        if (body.isWaiting() && !contentRead) {
            body.restart(); // bytes short of a part (a chunk-size line): progress; the decoder reads on
        }
        contentRead = false;
        armHeadDeadline();
        ctx.fireChannelReadComplete();
    }

    /** No request began within limits.clientIdleTimeout of the connection's opening or the last response. */
    private void idleExpired() {
        if (current == null && !decoder.hasPartialRequest() && pipelined.isEmpty() && !closing) {
            closeNow();
        }
    }

    /**
     * The client stopped sending the body of the request being served while the gateway was
     * waiting for it: the upstream's connection is cut (it never sees a complete request), the
     * client gets 408 and the connection closes. Once the upstream has begun answering (an early
     * answer), the response goes on: the connection closes after it anyway.
     */
    private void bodyExpired() {
        Exchange x = current;
        if (x == null || closing || x.requestDone() || x.responseStarted()) {
            return;
        }
        current = null;
        x.requestBroken();
        px.metrics.error(ErrorKind.BAD_REQUEST);
        px.metrics.refused("body_timeout");
        refuse("rejected", HttpResponseStatus.REQUEST_TIMEOUT, "the request body made no progress for "
                + dev.tollgate.gateway.config.Durations.format(px.config.limits().requestBodyTimeout()), null);
    }

    /** The deadline of the head in progress, if it has none yet; counted from its first byte or from when this connection was free to read it. */
    private void armHeadDeadline() {
        if (current == null && !closing && decoder.hasPartialRequest() && headDeadlineFor != decoder.headNumber()) {
            long head = decoder.headNumber();
            headDeadlineFor = head;
            long start = Math.max(decoder.headStartNanos(), freeSinceNanos);
            long left = start + px.config.limits().requestHeadTimeout().toNanos() - ctx.executor().ticker().nanoTime();
            ctx.executor().schedule(() -> headDeadline(head), Math.max(0, left), java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    private void headDeadline(long head) {
        if (current == null && !closing && decoder.hasPartialRequest() && decoder.headNumber() == head) {
            px.metrics.error(ErrorKind.BAD_REQUEST);
            px.metrics.refused("head_timeout");
            refuse("rejected", HttpResponseStatus.REQUEST_TIMEOUT, "the request head was not sent within "
                    + dev.tollgate.gateway.config.Durations.format(px.config.limits().requestHeadTimeout()), null);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpContent) {
            // a part arrived: no longer waiting for the client, until the exchange has written it
            // upstream and asks for more (readMore; possibly at once, before this read ends)
            contentRead = true;
            body.stop();
        }
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (current != null && (current.requestDone() || msg instanceof HttpRequest) || !pipelined.isEmpty()) {
            pipelined.add(msg); // a pipelined request: served when the one before it is done
            return;
        }
        dispatch(msg);
    }

    private void dispatch(Object msg) {
        if (msg instanceof HttpRequest req) {
            try {
                startRequest(req);
            } finally {
                if (msg instanceof HttpContent c && current == null) {
                    c.release(); // an invalid message the decoder produced as a full request
                } else if (msg instanceof HttpContent c) {
                    current.requestContent(dropTrailers(c));
                }
            }
        } else if (msg instanceof HttpContent c) {
            if (current == null) {
                c.release(); // the rest of a body whose request was refused
            } else if (c.decoderResult().isFailure()) {
                // a malformed body (a bad chunk): the upstream's connection is cut, so it never
                // sees a complete request, and the client is told
                Throwable cause = c.decoderResult().cause();
                c.release();
                Exchange x = current;
                current = null;
                boolean answering = x.responseStarted();
                x.requestBroken();
                px.metrics.error(ErrorKind.BAD_REQUEST);
                px.metrics.refused("malformed_body");
                if (answering) {
                    answered("rejected", 400);
                    closeNow(); // a response is already on its way: cutting it is all that is left
                    return;
                }
                refuse("rejected", HttpResponseStatus.BAD_REQUEST, "malformed request body: " + (cause == null ? "unreadable" : cause.getMessage()), null);
            } else {
                current.requestContent(dropTrailers(c));
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void startRequest(HttpRequest req) {
        requestStartNanos = System.nanoTime();
        method = req.method().name();
        target = req.uri().length() > 2048 ? req.uri().substring(0, 2048) : req.uri();
        entity = null;
        http11 = req.protocolVersion().minorVersion() >= 1;
        RequestChecks.Refusal refusal = RequestChecks.check(req, px.config.limits().maxHeaderCount());
        if (refusal != null) {
            px.metrics.error(ErrorKind.BAD_REQUEST);
            px.metrics.refused(refusal.reason());
            log.debug("refused {} {}: {}", req.method(), req.uri(), refusal.detail());
            refuse("rejected", refusal.status(), refusal.detail(), null);
            return;
        }
        HttpHeaders h = req.headers();
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        Resolution who = px.metering ? px.resolver.resolve(name -> ProxyHeaders.joined(h, name), peer.getAddress()) : null;
        entity = who == null ? null : who.entity();
        long count = px.metering ? px.enforcement.countFor(who.entity()) : -1;
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        boolean chunked = HttpUtil.isTransferEncodingChunked(req);
        boolean hasBody = chunked || HttpUtil.getContentLength(req, 0L) > 0;
        if (px.metering && px.enforcement.blocks(who.entity(), count)) {
            px.meter.record(who.entity(), 0, 1);
            px.charged.increment();
            px.seen.note(who);
            HttpHeaders extra = new io.netty.handler.codec.http.DefaultHttpHeaders();
            extra.set(HttpHeaderNames.RETRY_AFTER, px.enforcement.retryAfterSeconds(who.entity()));
            px.enforcement.addHeaders(extra, who.entity(), count);
            String detail = "more than " + px.meter.config().threshold() + " posts in the last 24 hours for " + who.entity();
            if (hasBody || !keepAlive) {
                refuse("blocked", HttpResponseStatus.TOO_MANY_REQUESTS, detail, extra);
            } else {
                FullHttpResponse r = Problem.response(ctx.alloc(), HttpResponseStatus.TOO_MANY_REQUESTS, detail);
                r.headers().add(extra);
                bodyBytes(r.content().readableBytes());
                answered("blocked", 429);
                current = null;
                answeringHead(req.method().equals(HttpMethod.HEAD));
                ctx.writeAndFlush(r).addListener((ChannelFutureListener) f -> exchangeDone(true));
            }
            return;
        }
        boolean expectContinue = h.contains(HttpHeaderNames.EXPECT);
        ProxyHeaders.removeHopByHop(h);
        h.remove(HttpHeaderNames.EXPECT);
        if (chunked) {
            HttpUtil.setTransferEncodingChunked(req, true);
        }
        if (!h.contains(HttpHeaderNames.HOST)) {
            // an HTTP/1.0 request without Host goes on as HTTP/1.1, which requires one: the upstream's
            h.set(HttpHeaderNames.HOST, px.config.upstream().url().getRawAuthority());
        }
        ProxyHeaders.addForwarding(h, clientAddress(), req.protocolVersion().text()); // formatted once per connection
        req.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (expectContinue && hasBody && http11) { // RFC 9110 §10.1.1: an HTTP/1.0 request's 100-continue is ignored
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
        }
        current = new Exchange(this, ctx, px, req, who, count, req.method().equals(HttpMethod.HEAD), keepAlive);
        current.start();
    }

    // ---- called by the exchange -----------------------------------------------------------

    boolean clientIsHttp11() {
        return http11;
    }

    /** The copy buffer of the connection's post counters, one exchange after another. */
    dev.tollgate.gateway.counting.ScanScratch scanScratch() {
        if (scanScratch == null) {
            scanScratch = new dev.tollgate.gateway.counting.ScanScratch();
        }
        return scanScratch;
    }

    /** The connection's upstream response deadline, shared by its exchanges one after another. */
    ResponseDeadline responseDeadline() {
        if (responseDeadline == null) {
            responseDeadline = new ResponseDeadline(ctx.executor());
        }
        return responseDeadline;
    }

    void answeringHead(boolean head) {
        encoder.answeringHead = head;
    }

    /** The gateway is stopping: close now if idle, else once the response under way is complete. */
    void drain() {
        draining = true;
        if (current == null && !decoder.hasPartialRequest() && pipelined.isEmpty() && !closing) {
            closeNow();
        }
    }

    boolean draining() {
        return draining;
    }

    void readMore() {
        if (!closing && !inputShut) { // (a read after the input's end fails on epoll)
            if (current != null && !current.requestDone()) {
                body.waiting();
            }
            ctx.read();
        }
    }

    /** The response went out in full; serve the next request or close. */
    void exchangeDone(boolean keepAlive) {
        current = null;
        if (!keepAlive || closing || draining) {
            closeNow();
            return;
        }
        Object m;
        while (!closing && (m = pipelined.peek()) != null
                && !(current != null && (current.requestDone() || m instanceof HttpRequest))) {
            pipelined.poll();
            dispatch(m);
        }
        if (current == null && pipelined.isEmpty() && !closing && inputShut) {
            closeNow(); // a half-closed client: everything it sent is answered
            return;
        }
        if (current == null && pipelined.isEmpty() && !closing) {
            freeSinceNanos = ctx.executor().ticker().nanoTime();
            idle.restart();
            armHeadDeadline();
            ctx.read();
        }
    }

    /** The exchange failed before any response byte: answer with a problem. */
    void exchangeFailed(HttpResponseStatus status, String detail, boolean mustClose) {
        current = null;
        if (mustClose || closing) {
            respondAndClose(status, detail, null);
            return;
        }
        answeringHead(false);
        ctx.writeAndFlush(Problem.response(ctx.alloc(), status, detail)).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                exchangeDone(true);
            } else {
                closeNow();
            }
        });
    }

    void closeNow() {
        closing = true;
        releasePipelined();
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void respondAndClose(HttpResponseStatus status, String detail, HttpHeaders extra) {
        closeWith(problem(status, detail, extra));
    }

    /** Refuses the request with a problem and closes; its access log line counts the problem's bytes. */
    private void refuse(String outcome, HttpResponseStatus status, String detail, HttpHeaders extra) {
        FullHttpResponse r = problem(status, detail, extra);
        bodyBytes(r.content().readableBytes());
        answered(outcome, status.code());
        closeWith(r);
    }

    private FullHttpResponse problem(HttpResponseStatus status, String detail, HttpHeaders extra) {
        FullHttpResponse r = Problem.response(ctx.alloc(), status, detail);
        if (extra != null) {
            r.headers().add(extra);
        }
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    private void closeWith(FullHttpResponse r) {
        closing = true;
        releasePipelined();
        answeringHead(false);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    // ---- what was answered: metrics, the access log, warnings --------------------------------

    /** What the exchange learned of the request being answered; for its access log line. */
    void upstreamAnswered(long nanos) {
        upstreamNanos = nanos;
    }

    void charged(long posts) {
        chargedPosts = posts;
    }

    void bodyBytes(long n) {
        bodyBytes += n;
    }

    /**
     * The request being answered got its answer, or its refusal: counted by outcome and status,
     * its duration observed, its access log line queued, and a refusal or an upstream failure
     * warned about (at most every ten seconds per kind).
     */
    void answered(String outcome, int status) {
        px.metrics.request(outcome, status);
        if (requestStartNanos == 0) {
            return; // a refusal before any request head (a malformed start): no duration to tell
        }
        long now = System.nanoTime();
        long total = now - requestStartNanos;
        px.metrics.requestDurationNanos(total);
        if (px.accessLog != null) {
            px.accessLog.log(new AccessLog.Entry(px.clock.millis(), clientAddress(), method, target, status, outcome,
                    entity, chargedPosts, bodyBytes, upstreamNanos, total));
        }
        if (outcome.equals("rejected")) {
            px.refusals.warn(now, "refused {} from {}: {} {}", status, clientAddress(), method, target);
        } else if (outcome.equals("upstream_error")) {
            px.upstreamFailures.warn(now, "upstream failure: {} for {} {} from {}", status, method, target, clientAddress());
        }
        requestStartNanos = 0;
        chargedPosts = 0;
        bodyBytes = 0;
        upstreamNanos = -1;
    }

    private String clientAddress() {
        if (client == null) {
            java.net.SocketAddress a = ctx.channel().remoteAddress();
            client = a instanceof InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
        }
        return client;
    }

    // ---- connection events ----------------------------------------------------------------

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        idle.cancel();
        body.cancel();
        releasePipelined();
        Exchange x = current;
        current = null;
        if (x != null) {
            x.clientClosed();
        }
        if (responseDeadline != null) {
            responseDeadline.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            // the decoder has handed over every complete request already; the rest get answered first
            inputShut = true;
            if (current == null && pipelined.isEmpty() && !closing) {
                closeNow(); // idle, or an unfinished head that can no longer be finished
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    /** A request's trailer fields are not forwarded: the last chunk goes on without them. */
    private static HttpContent dropTrailers(HttpContent c) {
        if (c instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
            last.trailingHeaders().clear();
        }
        return c;
    }

    private void releasePipelined() {
        Object m;
        while ((m = pipelined.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }
}
