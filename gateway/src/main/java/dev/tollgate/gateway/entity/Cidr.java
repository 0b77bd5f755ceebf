package dev.tollgate.gateway.entity;

import dev.tollgate.gateway.config.ConfigNode;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 network, {@code 198.51.100.0/24} or {@code 2001:db8:42::/48}; a bare address is
 * a network of one. Addresses are held as two longs ({@code hi}, {@code lo}); IPv4 uses {@code lo}.
 */
public record Cidr(boolean v6, long hi, long lo, int prefix) {

    /** Parses a network written in configuration; {@code key} names it in the error. */
    public static Cidr parse(String key, String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        InetAddress a = literal(addr);
        if (a == null) {
            throw new IllegalArgumentException(key + ": '" + ConfigNode.printable(text) + "' (expected: an IP network such as 198.51.100.0/24 or 2001:db8::/48)");
        }
        int max = a.getAddress().length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(t.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException(key + ": '" + ConfigNode.printable(text) + "' (expected: a prefix length in 0.." + max + ")");
            }
        }
        return of(a, prefix);
    }

    /** The network of {@code prefix} bits that contains {@code address}. */
    public static Cidr of(InetAddress address, int prefix) {
        byte[] b = address.getAddress();
        boolean v6 = b.length == 16;
        int max = b.length * 8;
        int p = Math.min(prefix, max);
        long hi = 0;
        long lo = 0;
        if (v6) {
            for (int i = 0; i < 8; i++) {
                hi = (hi << 8) | (b[i] & 0xff);
                lo = (lo << 8) | (b[i + 8] & 0xff);
            }
        } else {
            for (byte x : b) {
                lo = (lo << 8) | (x & 0xff);
            }
        }
        return masked(v6, hi, lo, p);
    }

    private static Cidr masked(boolean v6, long hi, long lo, int p) {
        if (v6) {
            long hiMask = p >= 64 ? -1L : p == 0 ? 0 : -1L << (64 - p);
            long loMask = p <= 64 ? 0 : p == 128 ? -1L : -1L << (128 - p);
            return new Cidr(true, hi & hiMask, lo & loMask, p);
        }
        long mask = p == 0 ? 0 : (0xffffffffL << (32 - p)) & 0xffffffffL;
        return new Cidr(false, 0, lo & mask, p);
    }

    /** The network of {@code prefix} bits of the same family that contains this one's address. */
    public Cidr widen(int to) {
        return masked(v6, hi, lo, Math.min(prefix, to));
    }

    public boolean contains(InetAddress address) {
        Cidr one = of(address, v6 ? 128 : 32);
        return one.v6 == v6 && one.widen(prefix).equals(this);
    }

    /** An address literal, or null: never a name lookup. */
    static InetAddress literal(String text) {
        if (text.isEmpty() || !text.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
            return null;
        }
        if (!text.contains(":") && !text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return null;
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        if (!v6) {
            return ((lo >>> 24) & 0xff) + "." + ((lo >>> 16) & 0xff) + "." + ((lo >>> 8) & 0xff) + "." + (lo & 0xff) + "/" + prefix;
        }
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[i + 8] = (byte) (lo >>> (56 - 8 * i));
        }
        try {
            return compress(InetAddress.getByAddress(b).getHostAddress()) + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Java writes 2001:db8:42:0:0:0:0:0; people write 2001:db8:42::. */
    private static String compress(String full) {
        String[] parts = full.split(":");
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < parts.length; i++) {
            int j = i;
            while (j < parts.length && parts[j].equals("0")) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
        }
        if (bestStart < 0) {
            return full;
        }
        String head = String.join(":", java.util.Arrays.copyOfRange(parts, 0, bestStart));
        String tail = String.join(":", java.util.Arrays.copyOfRange(parts, bestStart + bestLen, parts.length));
        return head + "::" + tail;
    }
}
