package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.counting.AcceptEncoding;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Header rewriting of a forwarding proxy (RFC 9110 §7.6). */
final class ProxyHeaders {
    static final String VIA = "1.1 tollgate";

    /** Connection-specific fields that never cross a proxy (RFC 9110 §7.6.1, RFC 9112 §9.6). */
    private static final List<CharSequence> HOP_BY_HOP = List.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TE, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.TRAILER);

    private ProxyHeaders() {
    }

    /** Removes the hop-by-hop fields, including every field named in {@code Connection}. */
    static void removeHopByHop(HttpHeaders h) {
        if (!h.contains(HttpHeaderNames.CONNECTION)) {
            removeFixed(h);
            return;
        }
        List<String> named = new ArrayList<>();
        for (String c : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : c.split(",")) {
                String t = token.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty()) {
                    named.add(t);
                }
            }
        }
        for (String n : named) {
            h.remove(n);
        }
        removeFixed(h);
    }

    private static void removeFixed(HttpHeaders h) {
        for (CharSequence n : HOP_BY_HOP) {
            h.remove(n);
        }
    }

    /**
     * What the counter needs of a request on its way upstream: an {@code Accept-Encoding} that
     * admits only codings the counter reads (see {@link AcceptEncoding}), and, unless ranges pass,
     * no {@code Range}/{@code If-Range}, so the response is a whole document counted whole.
     */
    static void restrictForCounting(HttpHeaders h, GatewayConfig.Ranges ranges) {
        String joined = joined(h, HttpHeaderNames.ACCEPT_ENCODING.toString()); // null when absent: one lookup
        String restricted = AcceptEncoding.restrict(joined);
        if (restricted != joined) {
            h.set(HttpHeaderNames.ACCEPT_ENCODING, restricted);
        }
        if (ranges == GatewayConfig.Ranges.STRIP) {
            h.remove(HttpHeaderNames.RANGE);
            h.remove(HttpHeaderNames.IF_RANGE);
        }
    }

    /** Appends the client to {@code X-Forwarded-For}, sets {@code X-Forwarded-Proto} and adds {@code Via}. */
    static void addForwarding(HttpHeaders h, String clientAddress, String protocolVersion) {
        String xff = h.get("X-Forwarded-For");
        h.set("X-Forwarded-For", xff == null || xff.isBlank() ? clientAddress : xff + ", " + clientAddress);
        if (!h.contains("X-Forwarded-Proto")) {
            h.set("X-Forwarded-Proto", "http");
        }
        addVia(h, protocolVersion);
    }

    static void addVia(HttpHeaders h, String protocolVersion) {
        String via = protocolVersion.equals("HTTP/1.0") ? "1.0 tollgate" : VIA;
        String before = h.get(HttpHeaderNames.VIA);
        h.set(HttpHeaderNames.VIA, before == null ? via : before + ", " + via);
    }

    /** All values of a header joined by commas, or null. */
    static String joined(HttpHeaders h, String name) {
        String first = h.get(name);
        if (first == null) {
            return null;
        }
        List<String> all = h.getAll(name);
        if (all.isEmpty()) {
            return null;
        }
        return all.size() == 1 ? all.get(0) : String.join(", ", all);
    }
}
