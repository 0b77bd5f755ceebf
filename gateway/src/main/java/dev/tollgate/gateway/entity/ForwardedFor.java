package dev.tollgate.gateway.entity;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The client address behind trusted proxies: the right-most address of {@code X-Forwarded-For}
 * (else of {@code Forwarded: for=}) that is not a trusted proxy. Walking from the right, each
 * trusted hop vouches for the one before it; the first untrusted hop is the client, since
 * anything to its left was written by the client itself. An entry that is not an address (a
 * name, {@code unknown}, an obfuscated id) stops the walk at the last address vouched for.
 */
final class ForwardedFor {
    private ForwardedFor() {
    }

    static InetAddress client(Function<String, String> header, InetAddress peer, Predicate<InetAddress> trusted) {
        List<String> hops = new ArrayList<>();
        String xff = header.apply("X-Forwarded-For");
        if (xff != null) {
            for (String part : xff.split(",")) {
                hops.add(part.trim());
            }
        } else {
            String fwd = header.apply("Forwarded");
            if (fwd == null) {
                return peer;
            }
            for (String element : fwd.split(",")) {
                String forValue = null;
                for (String pair : element.split(";")) {
                    String p = pair.trim();
                    if (p.length() > 4 && p.substring(0, 4).toLowerCase(Locale.ROOT).equals("for=")) {
                        forValue = p.substring(4).trim();
                    }
                }
                hops.add(forValue == null ? "" : unquoteForwarded(forValue));
            }
        }
        InetAddress vouched = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            InetAddress hop = parse(hops.get(i));
            if (hop == null) {
                return vouched;
            }
            if (!trusted.test(hop)) {
                return hop;
            }
            vouched = hop;
        }
        return vouched;
    }

    /** {@code "[2001:db8::1]:4711"} → {@code 2001:db8::1}; {@code 192.0.2.60:80} → {@code 192.0.2.60}. */
    private static String unquoteForwarded(String v) {
        String s = v.startsWith("\"") && v.endsWith("\"") && v.length() >= 2 ? v.substring(1, v.length() - 1) : v;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            return close < 0 ? "" : s.substring(1, close);
        }
        int colon = s.indexOf(':');
        return colon >= 0 && s.indexOf(':', colon + 1) < 0 ? s.substring(0, colon) : s;
    }

    private static InetAddress parse(String text) {
        String s = text;
        if (s.startsWith("[") && s.contains("]")) {
            s = s.substring(1, s.indexOf(']'));
        } else if (s.indexOf(':') > 0 && s.indexOf(':') == s.lastIndexOf(':') && s.contains(".")) {
            s = s.substring(0, s.indexOf(':')); // 192.0.2.60:1234
        }
        return Cidr.literal(s);
    }
}
