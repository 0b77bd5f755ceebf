package dev.tollgate.gateway.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.List;

/**
 * What a request must satisfy before it is forwarded. Anything a front end and a back end could
 * read two ways (RFC 9112 §6.3, §11.2) is refused: the request never reaches the upstream.
 */
final class RequestChecks {
    /** A refusal: the status and a sentence for the problem+json body. */
    record Refusal(HttpResponseStatus status, String detail) {
    }

    private RequestChecks() {
    }

    /** Null when the request may be forwarded. */
    static Refusal check(HttpRequest req, int maxHeaderCount) {
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof TooLongHttpLineException) {
                return new Refusal(HttpResponseStatus.REQUEST_URI_TOO_LONG, "the request line is too long");
            }
            if (cause instanceof TooLongHttpHeaderException) {
                return new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request headers are too large");
            }
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "malformed request: " + (cause == null ? "unreadable" : cause.getMessage()));
        }
        if (req.protocolVersion().majorVersion() != 1) {
            return new Refusal(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and HTTP/1.1 are served here");
        }
        HttpHeaders h = req.headers();
        if (h.size() > maxHeaderCount) {
            return new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "the request has " + h.size() + " header fields (at most " + maxHeaderCount + ")");
        }
        // most requests carry neither: no lists for them
        List<String> lengths = h.contains(HttpHeaderNames.CONTENT_LENGTH) ? h.getAll(HttpHeaderNames.CONTENT_LENGTH) : List.of();
        List<String> codings = h.contains(HttpHeaderNames.TRANSFER_ENCODING) ? h.getAll(HttpHeaderNames.TRANSFER_ENCODING) : List.of();
        if (!lengths.isEmpty() && !codings.isEmpty()) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "both Transfer-Encoding and Content-Length");
        }
        if (lengths.size() > 1 || (lengths.size() == 1 && !lengths.get(0).trim().matches("\\d{1,18}"))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Content-Length must appear once, as a number");
        }
        if (codings.size() > 1 || (codings.size() == 1 && !codings.get(0).trim().equalsIgnoreCase("chunked"))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding must be exactly 'chunked'");
        }
        if (!codings.isEmpty() && req.protocolVersion().minorVersion() == 0) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request");
        }
        List<String> hosts = h.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1 || (hosts.isEmpty() && req.protocolVersion().minorVersion() >= 1)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "an HTTP/1.1 request needs exactly one Host header");
        }
        if (req.method().equals(HttpMethod.CONNECT)) {
            return new Refusal(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT is not served by a reverse proxy");
        }
        String uri = req.uri();
        if (!uri.startsWith("/") && !(uri.equals("*") && req.method().equals(HttpMethod.OPTIONS))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "the request target must be a path (origin form)");
        }
        String expect = h.get(HttpHeaderNames.EXPECT);
        if (expect != null && !expect.trim().equalsIgnoreCase("100-continue")) {
            return new Refusal(HttpResponseStatus.EXPECTATION_FAILED, "only 'Expect: 100-continue' is understood");
        }
        return null;
    }
}
