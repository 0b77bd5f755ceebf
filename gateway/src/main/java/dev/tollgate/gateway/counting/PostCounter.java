package dev.tollgate.gateway.counting;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Counts the posts of an X API v2 shaped JSON body while it streams by (SPEC §3):
 * {@code meta.result_count} if present, else the elements of the top-level {@code data} array,
 * else 1 if {@code data} is an object. Bytes are fed as they are forwarded; nothing is buffered
 * beyond the token being read, and only structure is tracked (depth, and two field names).
 *
 * <p>One counter per response, used by one thread (the connection's event loop). A body that is
 * not valid JSON stops the count where it broke: what was counted so far stands.
 */
public final class PostCounter {
    private static final JsonFactory JSON = new JsonFactory();

    private final JsonParser parser;
    private final ByteBufferFeeder feeder;
    private int depth;
    /** 0 outside data; 1 inside the top-level data array; 2 inside a top-level data object. */
    private int inData;
    private boolean inMeta;
    private boolean nextIsData;
    private boolean nextIsMeta;
    private boolean nextIsResultCount;
    private long elements;
    private boolean dataObject;
    private long resultCount = -1;
    private boolean broken;

    public PostCounter() {
        try {
            parser = JSON.createNonBlockingByteBufferParser();
        } catch (IOException e) {
            throw new IllegalStateException("Jackson's non-blocking parser is part of jackson-core", e);
        }
        feeder = (ByteBufferFeeder) parser.getNonBlockingInputFeeder();
    }

    /** Feeds the next bytes of the body (the buffer's remaining bytes; its position is not moved). */
    public void feed(ByteBuffer bytes) {
        if (broken || !bytes.hasRemaining()) {
            return;
        }
        try {
            feeder.feedInput(bytes.slice());
            drain();
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    /** The body is complete. */
    public void end() {
        if (broken) {
            return;
        }
        feeder.endOfInput();
        try {
            drain();
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    /** Posts of a completely forwarded body. */
    public long complete() {
        if (resultCount >= 0) {
            return resultCount;
        }
        return forwarded();
    }

    /** Posts whose bytes were forwarded in full: for a body cut short. */
    public long forwarded() {
        if (dataObject) {
            return 1;
        }
        return resultCount >= 0 ? Math.min(resultCount, elements) : elements;
    }

    /** True if the body stopped being valid JSON. */
    public boolean broken() {
        return broken;
    }

    private void drain() throws IOException {
        JsonToken t;
        while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
            switch (t) {
                case START_OBJECT, START_ARRAY -> {
                    if (nextIsData) {
                        inData = t == JsonToken.START_ARRAY ? 1 : 2;
                    } else if (nextIsMeta && t == JsonToken.START_OBJECT) {
                        inMeta = true;
                    }
                    depth++;
                    clearNext();
                }
                case END_OBJECT, END_ARRAY -> {
                    depth--;
                    if (depth == 1) {
                        if (inData == 1) {
                            inData = 0;
                        } else if (inData == 2) {
                            inData = 0;
                            dataObject = true;
                        }
                        inMeta = false;
                    } else if (depth == 2 && inData == 1) {
                        elements++; // an object or array element of data is complete
                    }
                }
                case FIELD_NAME -> {
                    if (depth == 1) {
                        String name = parser.currentName();
                        nextIsData = "data".equals(name);
                        nextIsMeta = "meta".equals(name);
                    } else if (depth == 2 && inMeta) {
                        nextIsResultCount = "result_count".equals(parser.currentName());
                    }
                }
                default -> {
                    if (depth == 2 && inData == 1) {
                        elements++; // a scalar element of data
                    } else if (nextIsResultCount && t == JsonToken.VALUE_NUMBER_INT) {
                        long v = parser.getLongValue();
                        resultCount = v >= 0 ? v : resultCount;
                    }
                    clearNext();
                }
            }
        }
    }

    private void clearNext() {
        nextIsData = false;
        nextIsMeta = false;
        nextIsResultCount = false;
    }

    /** True for {@code application/json} and {@code application/…+json} content types. */
    public static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        int semi = contentType.indexOf(';');
        String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(java.util.Locale.ROOT);
        return type.equals("application/json") || (type.startsWith("application/") && type.endsWith("+json"));
    }
}
