package dev.tollgate.gateway.config;

import java.net.InetSocketAddress;

/** A listening address, {@code host:port} or {@code [v6]:port}; port 0 picks a free port. */
public record HostPort(String host, int port) {

    public HostPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " (expected: 0..65535)");
        }
    }

    /** Parses {@code text}, naming {@code key} in the error. */
    public static HostPort parse(String key, String text) {
        String t = text.trim();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: host:port, e.g. 0.0.0.0:8080 or [::1]:8080)");
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: an IPv6 host in brackets, e.g. [::1]:8080)");
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: a port number after the colon)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: a port in 0..65535)");
        }
        return new HostPort(host, port);
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
