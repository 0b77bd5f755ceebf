package dev.tollgate.gateway.upstream;

import dev.tollgate.gateway.proxy.Problem;
import dev.tollgate.gateway.proxy.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The built-in post API (SPEC §7 {@code tollgate upstream}), shaped like X API v2:
 * <ul>
 *   <li>{@code GET /2/tweets/search/recent?max_results=N} and {@code GET /2/users/{id}/tweets?max_results=N}:
 *       a page of N posts (10 by default, 1 to 100);</li>
 *   <li>{@code GET /2/tweets/{id}}: one post;</li>
 *   <li>{@code POST /2/tweets}: creates a post from the request body, 201.</li>
 * </ul>
 * Optionally it sends the trusted {@code X-Post-Count} header, chunked bodies instead of
 * Content-Length, and compressed bodies in the coding the request's {@code Accept-Encoding} prefers. For trials, the demo and benchmarks; it keeps connections alive.
 */
public final class PostApiServer {
    private static final Pattern USER_TWEETS = Pattern.compile("/2/users/(\\d{1,19})/tweets");
    private static final Pattern ONE_TWEET = Pattern.compile("/2/tweets/(\\d{1,19})");

    /** How the server answers. */
    public record Options(int defaultPageSize, boolean postCountHeader, boolean chunked, boolean compress) {
        public Options(int defaultPageSize, boolean postCountHeader, boolean chunked) {
            this(defaultPageSize, postCountHeader, chunked, false);
        }

        public static Options defaults() {
            return new Options(10, false, false, false);
        }
    }

    private final Options options;
    private final Transport transport;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong postsServed = new AtomicLong();
    private Channel server;

    public PostApiServer(Options options, Transport transport) {
        this.options = options;
        this.transport = transport;
    }

    public InetSocketAddress start(InetSocketAddress listen, EventLoopGroup boss, EventLoopGroup workers) throws InterruptedException {
        server = new ServerBootstrap()
                .group(boss, workers)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec());
                        if (options.compress()) {
                            // as most APIs do: the client's Accept-Encoding picks gzip, deflate, br or zstd
                            ch.pipeline().addLast(new HttpContentCompressor());
                        }
                        ch.pipeline().addLast(new HttpObjectAggregator(64 << 20), new Handler());
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

    public long requests() {
        return requests.get();
    }

    /** Posts in every 2xx page sent so far. */
    public long postsServed() {
        return postsServed.get();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            requests.incrementAndGet();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                send(ctx, Problem.response(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, "malformed request"), false, 0, false);
                return;
            }
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            String path = q.path();
            Matcher user = USER_TWEETS.matcher(path);
            Matcher one = ONE_TWEET.matcher(path);
            boolean read = req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD);
            if (read && (path.equals("/2/tweets/search/recent") || user.matches())) {
                int n = options.defaultPageSize();
                List<String> max = q.parameters().get("max_results");
                if (max != null) {
                    try {
                        n = Integer.parseInt(max.get(0));
                    } catch (NumberFormatException e) {
                        n = -1;
                    }
                    if (n < 1 || n > 100) {
                        send(ctx, Problem.response(ctx.alloc(), HttpResponseStatus.BAD_REQUEST,
                                "max_results: '" + max.get(0) + "' (expected: 1..100)"), keepAlive, 0, false);
                        return;
                    }
                }
                long seed = user.matches() ? Long.parseLong(user.group(1)) : q.parameters().getOrDefault("query", List.of("")).get(0).hashCode();
                long cursor = q.parameters().containsKey("pagination_token")
                        ? parseToken(q.parameters().get("pagination_token").get(0)) : 0;
                sendJson(ctx, req, HttpResponseStatus.OK, PostPages.page(seed, n, cursor), n, keepAlive);
            } else if (read && one.matches()) {
                sendJson(ctx, req, HttpResponseStatus.OK, PostPages.single(Long.parseLong(one.group(1))), 1, keepAlive);
            } else if (req.method().equals(HttpMethod.POST) && path.equals("/2/tweets")) {
                String text = req.content().toString(StandardCharsets.UTF_8);
                byte[] body = ("{\"data\":{\"id\":\"" + (1_900_000_000_000_000_000L + requests.get()) + "\",\"text\":\""
                        + Problem.json(text) + "\"}}").getBytes(StandardCharsets.UTF_8);
                sendJson(ctx, req, HttpResponseStatus.CREATED, body, 1, keepAlive);
            } else {
                send(ctx, Problem.response(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "no such resource: " + path), keepAlive, 0, false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a client that went away; nothing to tell it
        }

        private long parseToken(String t) {
            try {
                return Long.parseLong(t, 36);
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        private void sendJson(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, byte[] body, long posts,
                boolean keepAlive) {
            postsServed.addAndGet(posts);
            boolean head = req.method().equals(HttpMethod.HEAD);
            if (options.chunked() && !head) {
                HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
                HttpUtil.setTransferEncodingChunked(r, true);
                if (options.postCountHeader()) {
                    r.headers().set("X-Post-Count", posts);
                }
                HttpUtil.setKeepAlive(r, keepAlive);
                ctx.write(r);
                int piece = Math.max(1, body.length / 4);
                for (int at = 0; at < body.length; at += piece) {
                    ByteBuf b = Unpooled.wrappedBuffer(body, at, Math.min(piece, body.length - at));
                    ctx.write(new DefaultHttpContent(b));
                }
                var f = ctx.writeAndFlush(new DefaultLastHttpContent());
                if (!keepAlive) {
                    f.addListener(ChannelFutureListener.CLOSE);
                }
                return;
            }
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            send(ctx, r, keepAlive, posts, options.postCountHeader());
        }

        private void send(ChannelHandlerContext ctx, FullHttpResponse r, boolean keepAlive, long posts, boolean countHeader) {
            if (countHeader) {
                r.headers().set("X-Post-Count", posts);
            }
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.writeAndFlush(r);
            }
        }
    }
}
