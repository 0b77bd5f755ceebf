package dev.tollgate.gateway.counting;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/**
 * Rewrites a request's {@code Accept-Encoding} (RFC 9110 §12.5.3) so that the upstream may only
 * answer in codings the counter can read. Each listed coding the counter reads is kept as the
 * client wrote it (with its weight); any other is dropped; {@code *} is replaced by the readable
 * codings the client did not list, with the weight of the {@code *} ({@code *;q=0} forbids, so
 * it stays). A request without the field, or with nothing left, asks for {@code identity}: no
 * field at all would let the upstream choose any coding. Pure functions; any thread.
 */
public final class AcceptEncoding {
    private AcceptEncoding() {
    }

    /**
     * The value to forward for the client's {@code value} (null: the client sent none); the same
     * instance when nothing needs to change.
     */
    public static String restrict(String value) {
        if (value == null || value.isBlank()) {
            return ContentCoding.IDENTITY.token;
        }
        String[] elements = value.split(",");
        List<String> kept = new ArrayList<>(elements.length + 4);
        EnumSet<ContentCoding> listed = EnumSet.noneOf(ContentCoding.class);
        String starWeight = null;
        boolean changed = false;
        for (String raw : elements) {
            String e = raw.trim();
            if (e.isEmpty()) {
                changed = true;
                continue;
            }
            int semi = e.indexOf(';');
            String name = (semi < 0 ? e : e.substring(0, semi)).trim();
            if (name.equals("*")) {
                String params = semi < 0 ? "" : e.substring(semi);
                if (isZeroWeight(params)) {
                    kept.add(e); // forbids whatever is not listed: safe as it is
                } else {
                    starWeight = params;
                    changed = true;
                }
                continue;
            }
            ContentCoding c = ContentCoding.named(name);
            if (c == null || !c.readable()) {
                changed = true;
                continue;
            }
            listed.add(c);
            kept.add(e);
        }
        if (starWeight != null) {
            for (ContentCoding c : ContentCoding.values()) {
                if (c != ContentCoding.IDENTITY && c.readable() && !listed.contains(c)) {
                    kept.add(c.token + starWeight);
                }
            }
        }
        if (kept.isEmpty()) {
            return ContentCoding.IDENTITY.token;
        }
        return changed ? String.join(", ", kept) : value;
    }

    private static boolean isZeroWeight(String params) {
        for (String p : params.split(";")) {
            String t = p.trim().toLowerCase(Locale.ROOT);
            if (t.startsWith("q=")) {
                String q = t.substring(2).trim();
                return q.matches("0(\\.0{0,3})?");
            }
        }
        return false;
    }
}
