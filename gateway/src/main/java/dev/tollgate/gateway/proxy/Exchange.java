package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.admin.GatewayMetrics.ErrorKind;
import dev.tollgate.gateway.counting.ContentCoding;
import dev.tollgate.gateway.counting.PostCounter;
import dev.tollgate.gateway.counting.ResponseCounter;
import dev.tollgate.gateway.entity.Resolution;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One request and its response, from the moment the request head is accepted until the response
 * is forwarded in full (or the exchange fails). Lives on the client connection's event loop, as
 * does its upstream connection, so nothing here needs a lock.
 *
 * <h2>Flow and backpressure</h2>
 * Both channels read only on demand ({@code AUTO_READ} off), reads of at most
 * {@code limits.maxPendingBytes} ({@link ProxyContext#reads}). What one read of the client
 * brought is written upstream and the client is read again only when all of it was written; the
 * same the other way for a response. So at most one read's worth of bytes is pending each way
 * ({@code toUpstream}, {@code toClient}, summed in {@code tollgate_pending_bytes}), whatever the
 * speeds of the two ends: a client that sends fast to a slow upstream, or reads a large response
 * slowly, holds the other side back instead of filling the gateway's memory. A client that cannot
 * take one read's worth within {@code upstream.idleTimeout} has its response cut (counted as the
 * refusal {@code slow_reader}; nginx's {@code send_timeout} plays that part there).
 *
 * <h2>Charging</h2>
 * Posts are charged once per exchange: when the last byte of a 2xx response was written to the
 * client, the response's count (trusted header, else the streaming JSON count); when the exchange
 * breaks mid-response, the posts whose bytes had been written (SPEC §3), counted from the JSON
 * stream even when the upstream's header gave the total (a non-JSON body cut short is charged
 * nothing: no byte can be tied to a post). Nothing is charged for a response the client never
 * received (502, 504). A compressed body is forwarded as it came and counted from a decoded copy
 * ({@link ResponseCounter}); the request was rewritten so that it comes in a coding the counter
 * reads and whole ({@link ProxyHeaders#restrictForCounting}).
 */
final class Exchange {
    private enum State { CONNECTING, AWAITING_HEAD, STREAMING, DONE }


    private final FrontendHandler front;
    private final ChannelHandlerContext client;
    private final ProxyContext px;
    private final HttpRequest request;
    private final Resolution who;
    private final long countBefore;
    private final boolean head;
    private final boolean clientKeepAlive;
    /** Body parts that arrived before the upstream connection; null until one does (most requests have no body). */
    private ArrayDeque<HttpContent> held;

    private State state = State.CONNECTING;
    private Channel upstream;
    private UpstreamResponseDecoder decoder;
    /** The upstream's final response ended (its last part decoded); anything after it is extra. */
    private boolean upstreamEnded;
    /** The upstream sent something after its response: its connection is closed, never reused. */
    private boolean upstreamDirty;
    private boolean reused;
    private int attempts;
    private boolean requestDone;
    private boolean requestSent;
    private boolean bodyWritten;
    private long sentNanos;
    /** Body bytes written upstream whose write has not completed yet. */
    private long toUpstream;
    /** Response body bytes written to the client whose write has not completed yet. */
    private long toClient;
    /** The response deadline is armed for this exchange. */
    private boolean timing;

    private int status;
    private boolean closeClient;
    private boolean upstreamKeepAlive;
    private long headerPosts = -1;
    private ResponseCounter counter;
    private long confirmedPosts;
    private boolean charged;

    Exchange(FrontendHandler front, ChannelHandlerContext client, ProxyContext px, HttpRequest request, Resolution who,
            long countBefore, boolean head, boolean clientKeepAlive) {
        this.front = front;
        this.client = client;
        this.px = px;
        this.request = request;
        this.who = who;
        this.countBefore = countBefore;
        this.head = head;
        this.clientKeepAlive = clientKeepAlive;
        if (px.metering) {
            ProxyHeaders.restrictForCounting(request.headers(), px.config.counting().ranges());
        }
    }

    boolean responseStarted() {
        return state == State.STREAMING;
    }

    boolean requestDone() {
        return requestDone;
    }

    // ---- request side ---------------------------------------------------------------------

    void start() {
        attempts++;
        UpstreamPool pool = px.pool(client.executor());
        Channel pooled = pool.poll();
        if (pooled != null) {
            attach(pooled, true);
            return;
        }
        var up = px.config.upstream();
        new Bootstrap()
                .group(client.channel().eventLoop())
                .channel(px.transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, up.connectTimeout().toMillis()))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.RCVBUF_ALLOCATOR, px.reads)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("idle", new IdleStateHandler(up.idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                        UpstreamResponseDecoder decoder = new UpstreamResponseDecoder(px.upstreamDecoder);
                        ch.pipeline().addLast("http-decoder", decoder);
                        ch.pipeline().addLast("http-encoder", new HttpRequestEncoder());
                        ch.pipeline().addLast("backend", new BackendHandler(pool, decoder, px.metrics));
                    }
                })
                .connect(up.host(), up.port())
                .addListener((ChannelFuture f) -> {
                    if (state == State.DONE) {
                        f.channel().close();
                    } else if (f.isSuccess()) {
                        attach(f.channel(), false);
                    } else {
                        boolean timeout = f.cause() instanceof ConnectTimeoutException;
                        px.metrics.error(timeout ? ErrorKind.UPSTREAM_TIMEOUT : ErrorKind.UPSTREAM_CONNECT);
                        failBeforeResponse(timeout ? HttpResponseStatus.GATEWAY_TIMEOUT : HttpResponseStatus.BAD_GATEWAY,
                                timeout ? "the post API did not accept a connection in time" : "the post API cannot be reached");
                    }
                });
    }

    private void attach(Channel ch, boolean wasPooled) {
        upstream = ch;
        reused = wasPooled;
        BackendHandler b = ch.pipeline().get(BackendHandler.class);
        b.exchange = this;
        decoder = b.decoder;
        decoder.idle = false;
        decoder.head = head;
        state = State.AWAITING_HEAD;
        sentNanos = System.nanoTime();
        ch.write(request).addListener(this::upstreamWrite);
        HttpContent c;
        while (held != null && (c = held.poll()) != null) {
            writeBody(c);
        }
        ch.flush();
        if (requestDone && !requestSent) {
            requestSent = true;
            armResponseTimeout();
        }
        ch.read();
        if (!requestDone && toUpstream == 0) {
            front.readMore(); // else once the held parts are written (writeBody)
        }
    }

    /** A part of the request body from the client. */
    void requestContent(HttpContent c) {
        if (c instanceof LastHttpContent) {
            requestDone = true;
        }
        if (state == State.DONE) {
            c.release();
            return;
        }
        if (state == State.STREAMING) {
            // the upstream answered before the request was complete: the rest of the body is not
            // forwarded (both connections close after the response), only read and dropped
            c.release();
            if (!requestDone) {
                front.readMore();
            }
            return;
        }
        if (upstream == null) {
            if (held == null) {
                held = new ArrayDeque<>();
            }
            held.add(c);
            return;
        }
        writeBody(c);
        upstream.flush();
        if (requestDone && !requestSent) {
            requestSent = true;
            armResponseTimeout();
        }
    }

    private void writeBody(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        int n = c.content().readableBytes();
        if (n > 0) {
            bodyWritten = true;
        }
        pending(n);
        toUpstream += n;
        upstream.write(c).addListener((ChannelFuture f) -> {
            toUpstream -= n;
            pending(-n);
            upstreamWrite(f);
            if (f.isSuccess() && !last && state != State.DONE && toUpstream == 0) {
                front.readMore(); // what the last read brought is all written: the next one
            }
        });
    }

    private void upstreamWrite(io.netty.util.concurrent.Future<? super Void> f) {
        if (!f.isSuccess() && state != State.DONE && f.cause() != null) {
            upstream.close(); // channelInactive → upstreamClosed decides: retry, 502, or abort
        }
    }

    private void armResponseTimeout() {
        timing = true;
        front.responseDeadline().arm(this, px.config.upstream().responseTimeout().toNanos());
    }

    /** No response head within {@code upstream.responseTimeout} of the request's end ({@link ResponseDeadline}). */
    void responseTimedOut() {
        timing = false;
        if (state == State.AWAITING_HEAD) {
            px.metrics.error(ErrorKind.UPSTREAM_TIMEOUT);
            detachUpstream(false);
            failBeforeResponse(HttpResponseStatus.GATEWAY_TIMEOUT, "the post API did not answer within "
                    + px.config.upstream().responseTimeout().toMillis() + " ms");
        }
    }

    // ---- response side --------------------------------------------------------------------

    void fromUpstream(Object msg) {
        if (state == State.DONE || upstreamEnded) {
            // after the response's end (a body after a HEAD, 204 or 304 response, a second response):
            // never shown to the client; the connection is not reused (responseDone)
            upstreamDirty |= upstreamEnded;
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse r) {
            if (!responseHead(r)) {
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        if (msg instanceof HttpContent c) {
            if (state != State.STREAMING) {
                c.release();
                upstream.read();
                return;
            }
            if (c.decoderResult().isFailure()) {
                c.release(); // broken chunking: the response cannot be completed, only cut
                upstreamBroke(ErrorKind.UPSTREAM_MALFORMED);
                return;
            }
            if (c instanceof LastHttpContent) {
                upstreamEnded = true;
            }
            responseContent(c);
        }
    }

    /** @return false if the message was consumed here (interim or bad response). */
    private boolean responseHead(HttpResponse r) {
        if (r.decoderResult().isFailure() || !wellFormed(r)) {
            Throwable cause = r.decoderResult().cause();
            ErrorKind kind = cause instanceof TooLongFrameException ? ErrorKind.UPSTREAM_TOO_LARGE
                    : cause instanceof PrematureChannelClosureException ? ErrorKind.UPSTREAM_RESET : ErrorKind.UPSTREAM_MALFORMED;
            px.metrics.error(kind);
            detachUpstream(false);
            failBeforeResponse(HttpResponseStatus.BAD_GATEWAY, switch (kind) {
                case UPSTREAM_TOO_LARGE -> "the post API sent a response head larger than this gateway accepts";
                case UPSTREAM_RESET -> "the post API closed the connection in the middle of its response head";
                default -> "the post API sent a malformed response";
            });
            return false;
        }
        if (r.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL) {
            if (r.status().code() == 101) {
                detachUpstream(false);
                failBeforeResponse(HttpResponseStatus.BAD_GATEWAY, "the post API switched protocols, which this gateway does not forward");
                return false;
            }
            upstream.read(); // 100 Continue and other interim responses are not forwarded
            return false;
        }
        cancelTimeout();
        long upstreamNanos = System.nanoTime() - sentNanos;
        px.metrics.upstreamLatencyNanos(upstreamNanos);
        front.upstreamAnswered(upstreamNanos);
        status = r.status().code();
        upstreamKeepAlive = HttpUtil.isKeepAlive(r);
        HttpHeaders h = r.headers();
        String countHeader = h.get(px.postCountHeader);
        if (countHeader != null) {
            h.remove(px.postCountHeader);
            headerPosts = parseCount(countHeader);
        }
        boolean emptyBody = head || status == 204 || status == 304;
        if (emptyBody) {
            headerPosts = -1; // no post reaches the client in a response without a body
        }
        boolean hadLength = h.contains(HttpHeaderNames.CONTENT_LENGTH) && !HttpUtil.isTransferEncodingChunked(r);
        ProxyHeaders.removeHopByHop(h);
        ProxyHeaders.addVia(h, r.protocolVersion().text());
        if (who != null) {
            px.enforcement.addHeaders(h, who.entity(), countBefore);
        }
        HttpVersion clientVersion = request.protocolVersion();
        if (!emptyBody && !hadLength) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            if (front.clientIsHttp11()) {
                h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            } else {
                closeClient = true; // an HTTP/1.0 client learns the end of the body from the close
            }
        }
        if (!requestDone) {
            // an early answer: the rest of the request is not forwarded, so neither connection
            // can carry another exchange (the upstream one is not pooled: requestSent is false)
            px.metrics.error(ErrorKind.UPSTREAM_EARLY_RESPONSE);
            closeClient = true;
        }
        if (!clientKeepAlive || closeClient || front.draining()) {
            closeClient = true;
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (!front.clientIsHttp11()) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        if (status >= 200 && status < 300 && px.metering && px.countJson && !emptyBody
                && PostCounter.isJson(h.get(HttpHeaderNames.CONTENT_TYPE))) {
            counter = newCounter(h);
        }
        state = State.STREAMING;
        front.answeringHead(head);
        // flushed with the body at the end of this read (flushClient): one write for head and body
        client.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, r.status(), h), client.voidPromise());
        return true; // the upstream is read again at the end of this read (flushClient)
    }

    /** A status code of three digits from 100 to 599 and an HTTP/1.x version (the decoder takes any number and version). */
    private static boolean wellFormed(HttpResponse r) {
        int code = r.status().code();
        return code >= 100 && code <= 599 && r.protocolVersion().majorVersion() == 1;
    }

    /**
     * The counter of a 2xx JSON body, or null where the body cannot be counted: a 206 (a piece of a
     * document; see the ranges rule in the README) or a content coding the counter cannot read. Those
     * are charged the upstream's post-count header if it sent one, else 0 with an error metric.
     */
    private ResponseCounter newCounter(HttpHeaders h) {
        if (status == 206) {
            if (headerPosts < 0) {
                px.metrics.error(ErrorKind.PARTIAL_CONTENT);
            }
            return null;
        }
        // every Content-Encoding line: codings stacked over several lines are unreadable too
        ContentCoding coding = ContentCoding.of(ProxyHeaders.joined(h, "Content-Encoding"));
        if (coding == null) {
            if (headerPosts < 0) {
                px.metrics.error(ErrorKind.UNREADABLE_ENCODING);
            }
            return null;
        }
        return ResponseCounter.create(coding, client.alloc(), px.config.counting().maxDecodedBytes(), front.scanScratch());
    }

    private long parseCount(String v) {
        try {
            long n = Long.parseLong(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // counted below
        }
        px.metrics.error(ErrorKind.BAD_POST_COUNT);
        return -1;
    }

    private void responseContent(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        ByteBuf buf = c.content();
        front.bodyBytes(buf.readableBytes());
        if (counter != null) {
            counter.feed(buf);
            if (last) {
                counter.end();
            }
        }
        long forwardedSoFar = counter == null ? 0 : counter.forwarded();
        int n = buf.readableBytes();
        pending(n);
        toClient += n;
        client.write(c).addListener((ChannelFuture f) -> {
            toClient -= n;
            pending(-n);
            if (!f.isSuccess()) {
                clientWriteFailed(f);
                return;
            }
            confirmedPosts = forwardedSoFar;
            if (last) {
                responseDone();
            } else if (state == State.STREAMING && upstream != null && toClient == 0) {
                upstream.read(); // what the last read brought is all with the client's socket: the next one
            }
        });
    }

    private void clientWriteFailed(io.netty.util.concurrent.Future<? super Void> f) {
        if (!f.isSuccess()) {
            clientClosed();
        }
    }

    /** The end of a read from the upstream: send what it brought to the client in one write. */
    void flushClient() {
        client.flush();
        if (state == State.STREAMING && upstream != null && !upstreamEnded && toClient == 0) {
            upstream.read(); // a read that brought no body part (the head alone); else the writes' completion reads
        }
    }

    private void pending(long n) {
        px.pendingBytes.add(n);
    }

    private void responseDone() {
        if (state == State.DONE) {
            return;
        }
        long posts = 0;
        if (status >= 200 && status < 300) {
            if (headerPosts >= 0) {
                posts = headerPosts;
            } else if (counter != null) {
                posts = counter.posts();
            }
        }
        closeCounter();
        charge(posts);
        front.answered("forwarded", status);
        state = State.DONE;
        boolean extra = upstreamDirty || (upstream != null && decoder.holdsBytes());
        if (extra) {
            px.metrics.error(ErrorKind.UPSTREAM_EXTRA_BYTES);
        }
        detachUpstream(upstreamKeepAlive && requestSent && !extra);
        front.exchangeDone(!closeClient);
    }

    private void charge(long posts) {
        if (charged) {
            return;
        }
        charged = true;
        front.charged(posts);
        if (who != null) {
            if (posts == 0 && (status < 200 || status >= 300)) {
                px.meter.recordIfPresent(who.entity(), 0, 1); // a refusal without posts never mints an entity
            } else {
                px.meter.record(who.entity(), posts, 1);
            }
            px.metrics.posts(posts);
            px.seen.note(who);
        }
        px.charged.increment(); // last: whoever sees the count sees the record in the meter
    }

    // ---- failures -------------------------------------------------------------------------

    /** The upstream connection closed while serving this exchange. */
    void upstreamClosed() {
        if (state == State.DONE) {
            return;
        }
        upstream = null;
        if (upstreamEnded) {
            return; // closed after a complete response: it goes on to the client
        }
        if (state == State.STREAMING) {
            upstreamBroke(ErrorKind.UPSTREAM_RESET); // reset, or closed short of its Content-Length
            return;
        }
        cancelTimeout();
        if (reused && attempts == 1 && !bodyWritten) {
            // a pooled connection the upstream had closed meanwhile: once more on a fresh one
            state = State.CONNECTING;
            requestSent = false;
            start();
            return;
        }
        px.metrics.error(ErrorKind.UPSTREAM_RESET);
        failBeforeResponse(HttpResponseStatus.BAD_GATEWAY, "the post API closed the connection before answering");
    }

    /**
     * The gateway has handed the upstream all of the request it has and waits for the client to
     * send more: the upstream owes nothing yet (nginx arms proxy_read_timeout only once the request
     * is sent), so its idle timeout does not apply; {@code limits.requestBodyTimeout} does.
     */
    boolean waitingForClientBody() {
        return state == State.AWAITING_HEAD && !requestDone && toUpstream == 0;
    }

    /** The upstream sent nothing for {@code upstream.idleTimeout}: its connection is being closed. */
    void upstreamIdle() {
        if (state == State.DONE || upstreamEnded) {
            return;
        }
        upstream = null;
        if (state == State.STREAMING && toClient > 0) {
            // the gateway was not waiting for the upstream but for the client to take what it has
            px.metrics.refused("slow_reader");
            abort("aborted");
            front.closeNow();
            client.close(); // what it has not taken is dropped: waiting for it is what the deadline ends
            return;
        }
        if (state == State.STREAMING) {
            upstreamBroke(ErrorKind.UPSTREAM_TIMEOUT);
            return;
        }
        px.metrics.error(ErrorKind.UPSTREAM_TIMEOUT);
        failBeforeResponse(HttpResponseStatus.GATEWAY_TIMEOUT, "the post API stopped sending for "
                + px.config.upstream().idleTimeout().toMillis() + " ms");
    }

    /** The upstream broke its response after it had started: the client's connection is cut, the only signal left. */
    private void upstreamBroke(ErrorKind kind) {
        px.metrics.error(kind);
        detachUpstream(false);
        // what was already handed to the client goes out before the cut, and is charged once it has
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            abort("upstream_error");
            front.closeNow();
        });
    }

    /** The request body turned out malformed: drop the upstream connection mid-request. */
    void requestBroken() {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        cancelTimeout();
        releaseHeld();
        closeCounter();
        detachUpstream(false);
    }

    /** The client went away or a write to it failed. */
    void clientClosed() {
        if (state == State.DONE) {
            return;
        }
        px.metrics.error(ErrorKind.CLIENT_ABORT);
        abort("aborted");
    }

    private void abort(String outcome) {
        boolean delivered = state == State.STREAMING && status >= 200 && status < 300;
        long posts = 0;
        if (delivered && counter != null) {
            // the posts whose bytes reached the client; a trusted count caps it but cannot place posts in bytes
            posts = headerPosts >= 0 ? Math.min(headerPosts, confirmedPosts) : confirmedPosts;
        }
        if (state == State.STREAMING) {
            charge(posts);
            front.answered(outcome, status);
        }
        closeCounter();
        state = State.DONE;
        cancelTimeout();
        detachUpstream(false);
        releaseHeld();
    }

    private void failBeforeResponse(HttpResponseStatus s, String detail) {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        cancelTimeout();
        releaseHeld();
        front.answered("upstream_error", s.code());
        front.exchangeFailed(s, detail, !requestDone);
    }

    private void detachUpstream(boolean reusable) {
        Channel ch = upstream;
        upstream = null;
        if (ch == null) {
            return;
        }
        BackendHandler b = ch.pipeline().get(BackendHandler.class);
        if (b != null) {
            b.exchange = null;
        }
        if (reusable && b != null) {
            b.decoder.idle = true; // from now on anything it sends closes it
            px.pool(client.executor()).offer(ch);
        } else {
            ch.close();
        }
    }

    /** Ends the count: its problems into the metrics, its decoder's buffers released. */
    private void closeCounter() {
        ResponseCounter c = counter;
        if (c == null) {
            return;
        }
        counter = null;
        c.close();
        switch (c.problem()) {
            case JSON -> px.metrics.error(ErrorKind.JSON_COUNT);
            case DECODE -> px.metrics.error(ErrorKind.DECODE);
            case DECODE_LIMIT -> px.metrics.error(ErrorKind.DECODE_LIMIT);
            case NONE -> {
            }
        }
    }

    private void cancelTimeout() {
        if (timing) {
            timing = false;
            front.responseDeadline().disarm(this);
        }
    }

    private void releaseHeld() {
        HttpContent c;
        while (held != null && (c = held.poll()) != null) {
            c.release();
        }
    }
}
