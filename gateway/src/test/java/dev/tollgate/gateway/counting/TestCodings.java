package dev.tollgate.gateway.counting;

import com.aayushatharva.brotli4j.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

/** Encodes test bodies in each content coding (the JDK for gzip and deflate, the native libraries for br and zstd). */
public final class TestCodings {
    private TestCodings() {
    }

    public static byte[] encode(ContentCoding coding, byte[] body) {
        if (coding == ContentCoding.BR && !io.netty.handler.codec.compression.Brotli.isAvailable()) {
            throw new IllegalStateException("brotli4j did not load", io.netty.handler.codec.compression.Brotli.cause());
        }
        try {
            return switch (coding) {
                case IDENTITY -> body.clone();
                case GZIP -> {
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    try (GZIPOutputStream z = new GZIPOutputStream(b)) {
                        z.write(body);
                    }
                    yield b.toByteArray();
                }
                case DEFLATE -> {
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    try (DeflaterOutputStream z = new DeflaterOutputStream(b)) {
                        z.write(body);
                    }
                    yield b.toByteArray();
                }
                case BR -> Encoder.compress(body);
                case ZSTD -> com.github.luben.zstd.Zstd.compress(body);
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A page of {@code n} posts shaped like the X API v2 (meta after data, as the API sends it). */
    public static String page(int n, int textWords) {
        StringBuilder b = new StringBuilder("{\"data\":[");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("{\"id\":\"").append(1_860_000_000_000_000_000L + i).append("\",\"text\":\"");
            for (int w = 0; w < textWords; w++) {
                b.append(w == 0 ? "" : " ").append("word").append((i * 31 + w) % 97).append(w % 5 == 0 ? " \\\"q\\\" [x] {y}" : "");
            }
            b.append("\"}");
        }
        return b.append("],\"meta\":{\"result_count\":").append(n).append("}}").toString();
    }
}
