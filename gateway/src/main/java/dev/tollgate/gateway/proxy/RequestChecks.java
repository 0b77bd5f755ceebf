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
    /** A refusal: the status, a sentence for the problem+json body and a snake_case reason for the metric. */
    record Refusal(HttpResponseStatus status, String detail, String reason) {
    }

    private RequestChecks() {
    }

    /** Null when the request may be forwarded. */
    static Refusal check(HttpRequest req, int maxHeaderCount) {
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof TooLongHttpLineException) {
                return new Refusal(HttpResponseStatus.REQUEST_URI_TOO_LONG, "the request line is too long", "uri_too_long");
            }
            if (cause instanceof TooLongHttpHeaderException) {
                return new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request headers are too large", "headers_too_large");
            }
            // a head the byte-level check passed, whose Content-Length or Transfer-Encoding Netty's
            // decoder then refused (both at once, duplicates, lists, codings): a framing conflict,
            // the shape of request smuggling; a head refused by the check itself carries no field
            HttpHeaders fields = req.headers();
            boolean framing = fields.contains(HttpHeaderNames.CONTENT_LENGTH) || fields.contains(HttpHeaderNames.TRANSFER_ENCODING);
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "malformed request: " + (cause == null ? "unreadable" : cause.getMessage()),
                    framing ? "framing" : "malformed");
        }
        if (req.protocolVersion().majorVersion() != 1) {
            return new Refusal(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and HTTP/1.1 are served here", "version");
        }
        HttpHeaders h = req.headers();
        if (h.size() > maxHeaderCount) {
            return new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "the request has " + h.size() + " header fields (at most " + maxHeaderCount + ")", "headers_too_large");
        }
        // most requests carry neither: no lists for them
        List<String> lengths = h.contains(HttpHeaderNames.CONTENT_LENGTH) ? h.getAll(HttpHeaderNames.CONTENT_LENGTH) : List.of();
        List<String> codings = h.contains(HttpHeaderNames.TRANSFER_ENCODING) ? h.getAll(HttpHeaderNames.TRANSFER_ENCODING) : List.of();
        if (!lengths.isEmpty() && !codings.isEmpty()) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "both Transfer-Encoding and Content-Length", "framing");
        }
        if (lengths.size() > 1 || (lengths.size() == 1 && !lengths.get(0).trim().matches("\\d{1,18}"))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Content-Length must appear once, as a number", "framing");
        }
        if (codings.size() > 1 || (codings.size() == 1 && !codings.get(0).trim().equalsIgnoreCase("chunked"))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding must be exactly 'chunked'", "framing");
        }
        if (!codings.isEmpty() && req.protocolVersion().minorVersion() == 0) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request", "framing");
        }
        List<String> hosts = h.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1 || (hosts.isEmpty() && req.protocolVersion().minorVersion() >= 1)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "an HTTP/1.1 request needs exactly one Host header", "host");
        }
        if (hosts.size() == 1 && !validHost(hosts.get(0))) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "the Host header is not a valid host[:port]", "host");
        }
        if (req.method().equals(HttpMethod.CONNECT)) {
            return new Refusal(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT is not served by a reverse proxy", "method");
        }
        String uri = req.uri();
        if (!uri.startsWith("/") && !(uri.equals("*") && req.method().equals(HttpMethod.OPTIONS))) {
            Refusal r = toOriginForm(req);
            if (r != null) {
                return r;
            }
        }
        String expect = h.get(HttpHeaderNames.EXPECT);
        if (expect != null && !expect.trim().equalsIgnoreCase("100-continue")) {
            return new Refusal(HttpResponseStatus.EXPECTATION_FAILED, "only 'Expect: 100-continue' is understood", "expectation");
        }
        return null;
    }

    /**
     * An absolute-form target (RFC 9112 §3.2.2: "a server MUST accept the absolute-form in
     * requests") is rewritten in place to the origin form the upstream is sent, and its authority
     * becomes the {@code Host}: "a server MUST ignore the received Host header field (if any) and
     * instead use the host information of the request-target", as nginx does. The received Host
     * was still checked above (RFC 9112 §3.2 requires a 400 for a missing, repeated or invalid one
     * in HTTP/1.1, whatever the target). Refused, as RFC 9110 §4.2 says of http(s) URIs: a scheme
     * other than http or https, an empty host, userinfo ({@code user@}), an authority that is not
     * {@code host[:port]}. An empty path is sent as "/" (RFC 9112 §3.2.1), or as "*" in an OPTIONS
     * request without a query (§3.2.4). Null when rewritten.
     */
    static Refusal toOriginForm(HttpRequest req) {
        String uri = req.uri();
        int colon = uri.indexOf(':');
        String scheme = colon < 0 ? "" : uri.substring(0, colon);
        if (!(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || !uri.startsWith("//", colon + 1)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST,
                    "the request target must be a path (origin form) or an http(s) URI (absolute form)", "target");
        }
        int from = colon + 3;
        int end = from;
        while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?') {
            end++;
        }
        String authority = uri.substring(from, end);
        if (authority.isEmpty() || authority.startsWith(":") || authority.indexOf('@') >= 0 || !validHost(authority)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST,
                    "the request target's authority is not a valid host[:port] (no userinfo, no empty host)", "target");
        }
        String rest = uri.substring(end);
        if (rest.isEmpty() && req.method().equals(HttpMethod.OPTIONS)) {
            req.setUri("*"); // RFC 9112 §3.2.4: an OPTIONS with an empty path and no query is sent as "*"
        } else {
            req.setUri(rest.startsWith("/") ? rest : "/" + rest);
        }
        req.headers().set(HttpHeaderNames.HOST, authority);
        return null;
    }

    /**
     * Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): a reg-name of unreserved,
     * pct-encoded and sub-delims characters, an IP-literal in brackets, and a port of digits. An
     * empty value is allowed (RFC 9112 §3.2, a target with no authority).
     */
    static boolean validHost(String host) {
        int n = host.length();
        int end = n;
        int i = 0;
        if (n > 0 && host.charAt(0) == '[') {
            int close = host.indexOf(']');
            if (close < 2) {
                return false;
            }
            for (int k = 1; k < close; k++) {
                char c = host.charAt(k);
                if (!(isUnreserved(c) || isSubDelim(c) || c == ':')) {
                    return false;
                }
            }
            i = close + 1;
            if (i < n && host.charAt(i) != ':') {
                return false;
            }
            end = i;
        } else {
            int colon = host.lastIndexOf(':');
            end = colon < 0 ? n : colon;
            for (int k = 0; k < end; k++) {
                char c = host.charAt(k);
                if (c == '%') {
                    if (k + 2 >= end || Character.digit(host.charAt(k + 1), 16) < 0 || Character.digit(host.charAt(k + 2), 16) < 0) {
                        return false;
                    }
                    k += 2;
                } else if (!(isUnreserved(c) || isSubDelim(c))) {
                    return false;
                }
            }
        }
        for (int k = end + 1; k < n; k++) {
            char c = host.charAt(k);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean isUnreserved(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~';
    }

    private static boolean isSubDelim(char c) {
        return "!$&'()*+,;=".indexOf(c) >= 0;
    }
}
