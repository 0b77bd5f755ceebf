package dev.tollgate.gateway.upstream;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.SplittableRandom;

/**
 * Bodies shaped like X API v2 responses: posts with ids, text, author, time and public metrics,
 * in the {@code {"data": [...], "meta": {...}}} envelope. Deterministic: the same request gives
 * the same page, so runs can be compared.
 */
final class PostPages {
    private static final String[] WORDS = {"the", "gateway", "counts", "posts", "scraping", "window", "rolling", "court",
        "evidence", "morning", "coffee", "launch", "update", "thread", "reply", "video", "image", "city", "match", "rain",
        "music", "today", "weekend", "news", "market", "vote", "train", "late", "again", "finally"};
    private static final Instant EPOCH = Instant.parse("2026-11-01T00:00:00Z");

    private PostPages() {
    }

    /** A page of {@code n} posts, the newest first, continuing from {@code cursor}. */
    static byte[] page(long seed, int n, long cursor) {
        StringBuilder b = new StringBuilder(64 + n * 300);
        b.append("{\"data\":[");
        long newest = 0;
        long oldest = 0;
        for (int i = 0; i < n; i++) {
            long id = 1_860_000_000_000_000_000L + Math.floorMod(seed * 1_000_003L + cursor * 100 + i, 1_000_000_000_000L);
            if (i == 0) {
                newest = id;
            }
            oldest = id;
            if (i > 0) {
                b.append(',');
            }
            post(b, id);
        }
        b.append("],\"meta\":{");
        if (n > 0) {
            b.append("\"newest_id\":\"").append(newest).append("\",\"oldest_id\":\"").append(oldest).append("\",");
        }
        b.append("\"result_count\":").append(n);
        b.append(",\"next_token\":\"").append(Long.toString(cursor + 1, 36)).append("\"}}");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One post, {@code {"data": {...}}}. */
    static byte[] single(long id) {
        StringBuilder b = new StringBuilder(320);
        b.append("{\"data\":");
        post(b, id);
        b.append('}');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void post(StringBuilder b, long id) {
        SplittableRandom r = new SplittableRandom(id);
        b.append("{\"id\":\"").append(id).append("\",\"text\":\"");
        int words = 12 + r.nextInt(18);
        for (int w = 0; w < words; w++) {
            if (w > 0) {
                b.append(' ');
            }
            b.append(WORDS[r.nextInt(WORDS.length)]);
        }
        b.append("\",\"author_id\":\"").append(1_000_000 + r.nextInt(9_000_000))
                .append("\",\"created_at\":\"").append(EPOCH.plus(r.nextInt(30 * 86_400), ChronoUnit.SECONDS))
                .append("\",\"lang\":\"en\",\"public_metrics\":{\"retweet_count\":").append(r.nextInt(500))
                .append(",\"reply_count\":").append(r.nextInt(200))
                .append(",\"like_count\":").append(r.nextInt(5000))
                .append(",\"quote_count\":").append(r.nextInt(50)).append("}}");
    }
}
