package dev.tollgate.gateway.proxy;

import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The response encoder of a client connection, told when the response answers a HEAD request
 * so that it writes no body framing (not even a last chunk). Used by the connection's event loop only.
 */
final class ProxyResponseEncoder extends HttpResponseEncoder {
    boolean answeringHead;

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
        return answeringHead || super.isContentAlwaysEmpty(msg);
    }
}
