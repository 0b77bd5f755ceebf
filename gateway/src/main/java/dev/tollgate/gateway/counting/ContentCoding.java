package dev.tollgate.gateway.counting;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.compression.Brotli;
import io.netty.handler.codec.compression.BrotliDecompressor;
import io.netty.handler.codec.compression.Decompressor;
import io.netty.handler.codec.compression.JdkZlibDecompressor;
import io.netty.handler.codec.compression.ZlibWrapper;
import io.netty.handler.codec.compression.Zstd;
import io.netty.handler.codec.compression.ZstdDecompressor;
import java.util.Locale;

/**
 * The content codings the post counter can read (RFC 9110 §8.4.1): a response in one of them is
 * decoded — a copy, for the counter only — and counted exactly. {@code br} and {@code zstd} need a
 * native library (brotli4j, zstd-jni); where it does not load, that coding is unreadable here and
 * is never offered to the upstream (see {@link AcceptEncoding}).
 */
public enum ContentCoding {
    IDENTITY("identity"),
    GZIP("gzip"),
    DEFLATE("deflate"),
    BR("br"),
    ZSTD("zstd");

    /** Decoded bytes handed to the counter at a time: the counter keeps none of them. */
    static final int OUTPUT_CHUNK = 64 * 1024;

    final String token;

    ContentCoding(String token) {
        this.token = token;
    }

    /** True if this coding can be decoded on this machine. */
    public boolean readable() {
        return switch (this) {
            case IDENTITY, GZIP, DEFLATE -> true;
            case BR -> Brotli.isAvailable();
            case ZSTD -> Zstd.isAvailable();
        };
    }

    /**
     * The coding of a response with this {@code Content-Encoding} value, or null if the counter
     * cannot read it: an unknown coding, a coding whose library is missing, or several codings
     * stacked on each other.
     */
    public static ContentCoding of(String contentEncoding) {
        if (contentEncoding == null) {
            return IDENTITY;
        }
        String v = contentEncoding.trim();
        if (v.isEmpty()) {
            return IDENTITY;
        }
        ContentCoding c = named(v);
        return c != null && c.readable() ? c : null;
    }

    /** The coding with this token (case-insensitive; {@code x-gzip} is gzip), readable or not; null if unknown. */
    static ContentCoding named(String token) {
        return switch (token.toLowerCase(Locale.ROOT)) {
            case "identity" -> IDENTITY;
            case "gzip", "x-gzip" -> GZIP;
            case "deflate" -> DEFLATE;
            case "br" -> BR;
            case "zstd" -> ZSTD;
            default -> null;
        };
    }

    /** A new decompressor for this coding; null for identity. */
    Decompressor newDecompressor(ByteBufAllocator alloc) {
        return switch (this) {
            case IDENTITY -> null;
            // a client decodes every member of a gzip body, so the counter does too
            case GZIP -> JdkZlibDecompressor.builder().wrapper(ZlibWrapper.GZIP).decompressConcatenated(true)
                    .maxAllocation(OUTPUT_CHUNK).build(alloc);
            // "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2); some servers send it raw, which clients accept too
            case DEFLATE -> JdkZlibDecompressor.builder().wrapper(ZlibWrapper.ZLIB_OR_NONE).maxAllocation(OUTPUT_CHUNK).build(alloc);
            case BR -> BrotliDecompressor.builder().maxOutputChunkSize(OUTPUT_CHUNK).build(alloc);
            // RFC 9659: an HTTP zstd window is at most 8 MiB (Netty's default would allow 128 MiB per body)
            case ZSTD -> ZstdDecompressor.builder().maxWindowLog(23).build(alloc);
        };
    }
}
