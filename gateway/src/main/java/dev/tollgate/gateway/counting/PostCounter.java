package dev.tollgate.gateway.counting;

import java.nio.ByteBuffer;

/**
 * Counts the posts of an X API v2 shaped JSON body while it streams by (SPEC §3):
 * {@code meta.result_count} if present, else the elements of the top-level {@code data} array,
 * else 1 if {@code data} is an object.
 *
 * <p>A byte-level scanner, not a parser: it follows only what the count needs — nesting, strings
 * (with their escapes), the names of members at the top level and inside {@code meta}, the ends
 * of {@code data}'s elements and the digits of {@code result_count} — and keeps no byte it has
 * passed, so any split of the body into pieces gives the same count (P6: several times faster
 * than building a tree). It does not validate JSON; a closing bracket that does not match
 * stops the count where it broke ({@link #broken()}), and what was counted so far stands.
 *
 * <p>One counter per response, used by one thread (the connection's event loop).
 */
public final class PostCounter {
    private static final int MAX_DEPTH = 512;
    private static final byte[] DATA = {'d', 'a', 't', 'a'};
    private static final byte[] META = {'m', 'e', 't', 'a'};
    private static final byte[] RESULT_COUNT = "result_count".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private static final int NONE = 0;
    private static final int IS_DATA = 1;
    private static final int IS_META = 2;
    private static final int IS_RESULT_COUNT = 3;

    /** Container kind per depth: '{' or '['; grows with the nesting, up to {@link #MAX_DEPTH}. */
    private byte[] kinds = new byte[16];
    private int depth;
    private boolean inString;
    private boolean escaped;
    /** The string being read is a member name (in an object, before its colon). */
    private boolean stringIsKey;
    /** In an object, the next string is a member name. */
    private boolean expectKey;
    /** Which watched name the key being read still matches, and how far. */
    private int keyMatch;
    private int keyLength;
    /** The watched member whose value comes next. */
    private int pending;
    /** The depth of the data array's elements (2), or 0 outside it; likewise for data as object and meta. */
    private int dataArrayDepth;
    private boolean dataObjectOpen;
    private boolean metaOpen;
    /** A number or literal element of data is being read; it ends at a delimiter. */
    private boolean scalarOpen;
    /** Digits of result_count being read. */
    private boolean readingCount;
    private long countValue;

    private long elements;
    private boolean dataObject;
    private long resultCount = -1;
    private boolean broken;

    /** Feeds the next bytes of the body (the buffer's remaining bytes; its position is not moved). */
    public void feed(ByteBuffer bytes) {
        if (broken || !bytes.hasRemaining()) {
            return;
        }
        if (bytes.hasArray()) {
            feed(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.arrayOffset() + bytes.limit());
            return;
        }
        int n = bytes.remaining();
        byte[] copy = scratch.atLeast(n);
        bytes.get(bytes.position(), copy, 0, n);
        feed(copy, 0, n);
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long QUOTES = 0x2222222222222222L;
    private static final long BACKSLASHES = 0x5C5C5C5C5C5C5C5CL;

    /** The index of the first '"' or '\\' in {@code a[i..to)}, or {@code to}: eight bytes at a time. */
    static int quoteOrEscape(byte[] a, int i, int to) {
        while (i + 8 <= to) {
            long w = (long) LONGS.get(a, i);
            long q = w ^ QUOTES;
            long b = w ^ BACKSLASHES;
            long hit = ((q - ONES) & ~q | (b - ONES) & ~b) & HIGHS;
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
            i += 8;
        }
        while (i < to && a[i] != '"' && a[i] != '\\') {
            i++;
        }
        return i;
    }

    /**
     * Inside an element of data, or anything else below depth 2, nothing matters but where it
     * ends: only strings and brackets are looked at. Returns at depth 2, in a string cut by the
     * end of the piece, or at the end of the piece.
     */
    private int deep(byte[] a, int i, int to) {
        if (escaped) {
            escaped = false; // the byte after a backslash that ended the previous piece
            i++;
        }
        // eight bytes at a time while the words hold no backslash (the common case)
        while (i + 8 <= to) {
            long w = (long) LONGS.get(a, i);
            long quotes = lanes(w, QUOTES);
            long backslashes = lanes(w, BACKSLASHES);
            if (backslashes != 0) {
                break; // escapes: byte by byte for a while
            }
            if (quotes == 0 && inString) {
                i += 8; // inside a string: nothing here matters
                continue;
            }
            // under the mask 0xD9, '[', ']', '{' and '}' all read 0x59; the exact test runs only on a hit
            long maybe = lanes(w & BRACKET_MASK, BRACKETS);
            if (maybe == 0) {
                // no bracket anywhere in the word (most words): only whether a string is open after it matters
                inString ^= (Long.bitCount(quotes) & 1) != 0;
                i += 8;
                continue;
            }
            // lanes inside a string: odd number of quotes before (and at) the lane, flipped if one is open
            long parity = quotes;
            parity ^= parity << 8;
            parity ^= parity << 16;
            parity ^= parity << 32;
            long inside = inString ? ~parity & HIGHS : parity;
            maybe &= ~inside & ~quotes;
            long brackets = maybe == 0 ? 0
                    : (lanes(w, OPEN_BRACES) | lanes(w, OPEN_SQUARES) | lanes(w, CLOSE_BRACES) | lanes(w, CLOSE_SQUARES)) & maybe;
            boolean endsInString = ((inside >>> 56) & 0x80) != 0;
            if (brackets == 0) {
                inString = endsInString;
                i += 8;
                continue;
            }
            while (brackets != 0) {
                int lane = Long.numberOfTrailingZeros(brackets) >>> 3;
                brackets &= brackets - 1;
                byte b = a[i + lane];
                if (b == '{' || b == '[') {
                    open(b);
                    if (broken) {
                        return i + lane + 1;
                    }
                } else {
                    close(b);
                    if (broken || depth < 3) {
                        inString = false; // a bracket outside any string: no string is open here
                        return i + lane + 1;
                    }
                }
            }
            inString = endsInString;
            i += 8;
        }
        int bytewise = Math.min(to, i + 8);
        while (i < bytewise) {
            byte b = a[i];
            i++;
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (b == '\\') {
                    escaped = true;
                } else if (b == '"') {
                    inString = false;
                    stringIsKey = false;
                }
                continue;
            }
            if (b == '"') {
                inString = true;
                stringIsKey = false;
            } else if (b == '{' || b == '[') {
                open(b);
            } else if (b == '}' || b == ']') {
                close(b);
                if (broken || depth < 3) {
                    return i;
                }
            }
        }
        if (escaped && i == to) {
            return i; // the next piece starts with the escaped byte
        }
        return i;
    }

    private static final long OPEN_BRACES = 0x7B7B7B7B7B7B7B7BL;
    private static final long OPEN_SQUARES = 0x5B5B5B5B5B5B5B5BL;
    private static final long CLOSE_BRACES = 0x7D7D7D7D7D7D7D7DL;
    private static final long CLOSE_SQUARES = 0x5D5D5D5D5D5D5D5DL;
    private static final long LOW7 = 0x7F7F7F7F7F7F7F7FL;

    /** 0x80 in every byte lane of {@code w} equal to the byte repeated in {@code pattern}, exactly. */
    private static long lanes(long w, long pattern) {
        long t = w ^ pattern;
        return ~(((t & LOW7) + LOW7) | t | LOW7);
    }

    private static final long BRACKET_MASK = 0xD9D9D9D9D9D9D9D9L;
    private static final long BRACKETS = 0x5959595959595959L;

    /** Where a direct buffer's bytes are copied to be scanned; shared with the counters before and after this one. */
    private final ScanScratch scratch;

    /** A counter with a copy buffer of its own. */
    public PostCounter() {
        this(new ScanScratch());
    }

    /** A counter copying direct buffers into {@code scratch}, shared with counters of the same thread only. */
    public PostCounter(ScanScratch scratch) {
        this.scratch = scratch;
    }

    private void feed(byte[] a, int from, int to) {
        int i = from;
        while (i < to && !broken) {
            if (depth >= 3 && !readingCount) {
                i = deep(a, i, to);
                continue;
            }
            if (inString && (!stringIsKey || keyMatch == NONE)) {
                // the bulk of a body: skip string content to its quote or escape
                if (escaped) {
                    escaped = false;
                    i++;
                    continue;
                }
                i = quoteOrEscape(a, i, to);
                if (i == to) {
                    return;
                }
                if (a[i] == '\\') {
                    escaped = true;
                    i++;
                    continue;
                }
                inString = false;
                i++;
                endString();
                continue;
            }
            byte c = a[i++];
            step(c);
            if (!inString && !readingCount && c > ' ' && c != '"' && c != '{' && c != '[' && c != '}' && c != ']' && c != ',' && c != ':') {
                // the rest of a number or literal: nothing in it matters
                while (i < to) {
                    byte b = a[i];
                    if (b == ',' || b == '}' || b == ']' || b <= ' ' || b == ':' || b == '"') {
                        break;
                    }
                    i++;
                }
            }
        }
    }

    /** The body is complete. */
    public void end() {
        if (broken) {
            return;
        }
        endScalar();
        if (depth != 0 || inString) {
            broken = true;
        }
    }

    /** Posts of a completely forwarded body. */
    public long complete() {
        return resultCount >= 0 ? resultCount : forwarded();
    }

    /** Posts whose bytes were forwarded in full: for a body cut short. */
    public long forwarded() {
        if (dataObject) {
            return 1;
        }
        return resultCount >= 0 ? Math.min(resultCount, elements) : elements;
    }

    /** True if the body stopped being JSON the counter can follow. */
    public boolean broken() {
        return broken;
    }

    private void step(byte c) {
        if (inString) {
            if (escaped) {
                escaped = false;
                keyByte(c);
            } else if (c == '\\') {
                escaped = true;
                keyMatch = NONE; // an escaped name is none of ours
            } else if (c == '"') {
                inString = false;
                endString();
            } else {
                keyByte(c);
            }
            return;
        }
        if (readingCount) {
            if (c >= '0' && c <= '9') {
                countValue = countValue * 10 + (c - '0');
                if (countValue > 1L << 50) {
                    readingCount = false;
                }
                return;
            }
            readingCount = false;
            resultCount = countValue;
        }
        switch (c) {
            case ' ', '\t', '\n', '\r' -> endScalar();
            case '"' -> {
                inString = true;
                stringIsKey = expectKey;
                if (stringIsKey) {
                    keyLength = 0;
                    keyMatch = depth == 1 ? IS_DATA | IS_META << 4 : depth == 2 && metaOpen ? IS_RESULT_COUNT : NONE;
                }
            }
            case '{', '[' -> open(c);
            case '}', ']' -> close(c);
            case ':' -> expectKey = false;
            case ',' -> {
                endScalar();
                expectKey = depth > 0 && kinds[depth] == '{';
            }
            default -> {
                // a number or a literal
                if (pending == IS_RESULT_COUNT && c >= '0' && c <= '9') {
                    readingCount = true;
                    countValue = c - '0';
                    pending = NONE;
                    return;
                }
                pending = NONE;
                if (depth == dataArrayDepth && depth > 0 && !scalarOpen) {
                    scalarOpen = true;
                }
            }
        }
    }

    private void endScalar() {
        if (scalarOpen) {
            scalarOpen = false;
            elements++;
        }
    }

    private void open(byte c) {
        int p = pending;
        pending = NONE;
        if (depth >= MAX_DEPTH) {
            broken = true;
            return;
        }
        depth++;
        if (depth == kinds.length) {
            kinds = java.util.Arrays.copyOf(kinds, Math.min(MAX_DEPTH + 1, kinds.length * 2));
        }
        kinds[depth] = c;
        expectKey = c == '{';
        if (depth == 2 && p == IS_DATA) {
            if (c == '[') {
                dataArrayDepth = 2;
            } else {
                dataObjectOpen = true;
            }
        } else if (depth == 2 && p == IS_META && c == '{') {
            metaOpen = true;
        }
    }

    private void close(byte c) {
        endScalar();
        byte want = c == '}' ? (byte) '{' : (byte) '[';
        if (depth == 0 || kinds[depth] != want) {
            broken = true;
            return;
        }
        depth--;
        pending = NONE;
        expectKey = false;
        if (depth == 1) {
            if (dataArrayDepth == 2) {
                dataArrayDepth = 0;
            }
            if (dataObjectOpen) {
                dataObjectOpen = false;
                dataObject = true;
            }
            metaOpen = false;
        } else if (depth == 2 && dataArrayDepth == 2) {
            elements++; // an object or array element of data is complete
        }
    }

    private void endString() {
        if (stringIsKey) {
            stringIsKey = false;
            pending = NONE;
            if (depth == 1 && kinds[1] == '{') {
                if ((keyMatch & 0xf) == IS_DATA && keyLength == DATA.length) {
                    pending = IS_DATA;
                } else if ((keyMatch >> 4) == IS_META && keyLength == META.length) {
                    pending = IS_META;
                }
            } else if (depth == 2 && metaOpen && keyMatch == IS_RESULT_COUNT && keyLength == RESULT_COUNT.length) {
                pending = IS_RESULT_COUNT;
            }
            return;
        }
        pending = NONE;
        if (depth == dataArrayDepth && depth > 0) {
            elements++; // a string element of data
        }
    }

    private void keyByte(byte c) {
        if (!stringIsKey || keyMatch == NONE) {
            return;
        }
        int at = keyLength++;
        if (depth == 1) {
            int data = keyMatch & 0xf;
            int meta = keyMatch >> 4;
            if (data == IS_DATA && (at >= DATA.length || DATA[at] != c)) {
                data = NONE;
            }
            if (meta == IS_META && (at >= META.length || META[at] != c)) {
                meta = NONE;
            }
            keyMatch = data | meta << 4;
        } else if (at >= RESULT_COUNT.length || RESULT_COUNT[at] != c) {
            keyMatch = NONE;
        }
    }

    /** True for {@code application/json} and {@code application/…+json} content types. */
    public static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        int end = contentType.indexOf(';');
        end = end < 0 ? contentType.length() : end;
        while (end > 0 && contentType.charAt(end - 1) == ' ') {
            end--;
        }
        int start = 0;
        while (start < end && contentType.charAt(start) == ' ') {
            start++;
        }
        if (!contentType.regionMatches(true, start, "application/", 0, 12)) {
            return false;
        }
        return (end - start == 16 && contentType.regionMatches(true, start + 12, "json", 0, 4))
                || (end - start > 17 && contentType.regionMatches(true, end - 5, "+json", 0, 5));
    }
}
