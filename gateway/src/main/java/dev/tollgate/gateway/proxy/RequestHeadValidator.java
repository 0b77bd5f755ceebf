package dev.tollgate.gateway.proxy;

import io.netty.buffer.ByteBuf;

/**
 * A byte-level check of a request head (RFC 9112 §2.2, §3, §5; RFC 9110 §5.1, §5.5) before
 * Netty's lenient decoder reads it, so that nothing a lenient parser would "repair" is forwarded:
 * <ul>
 * <li>request-line = method SP request-target SP HTTP-version CRLF, with exactly one SP between
 * the parts, a method of tchars, a target of visible ASCII (0x21–0x7E) and {@code HTTP/d.d};</li>
 * <li>field-line = field-name ":" field-value CRLF, a name of tchars (so no whitespace before the
 * colon), a value of HTAB, SP, VCHAR or obs-text: no other control character (NUL, BEL, BS,
 * DEL…);</li>
 * <li>no obs-fold (a field line starting with SP or HTAB), no bare CR and no bare LF as a line
 * terminator (refusing it is the safe choice: RFC 9112 §2.2 lets a recipient accept it, and a
 * front end and a back end that disagree on it see different requests);</li>
 * <li>empty lines (CRLF) before the request line are skipped, as RFC 9112 §2.2 allows.</li>
 * </ul>
 * It is fed the bytes of a head as they arrive and keeps its place between calls; on the usual
 * path (a whole head in one read) it reads each byte once, in tight loops over runs of ordinary
 * bytes, and allocates nothing. One per
 * connection, used on that connection's event loop only; {@link #reset()} before each head.
 */
public final class RequestHeadValidator {
    /** {@link #feed}: the head is not complete yet. */
    public static final int MORE = -1;
    /** {@link #feed}: the head is malformed ({@link #problem()}). */
    public static final int MALFORMED = -2;
    /** {@link #feed}: the head is longer than the limit, unfinished ({@link #tooLongInRequestLine()} tells where). */
    public static final int TOO_LONG = -3;

    private static final int START = 0;
    private static final int START_CR = 1;
    private static final int METHOD = 2;
    private static final int TARGET_FIRST = 3;
    private static final int TARGET = 4;
    private static final int VERSION = 5;
    private static final int LINE_CR = 6;
    private static final int FIELD_START = 7;
    private static final int NAME = 8;
    private static final int VALUE = 9;
    private static final int END_CR = 10;
    private static final int DONE = 11;
    private static final int FAILED = 12;

    private static final byte[] VERSION_SHAPE = {'H', 'T', 'T', 'P', '/', 0, '.', 0, '\r'};

    /** tchar (RFC 9110 §5.6.2). */
    private static final boolean[] TCHAR = new boolean[256];
    /** field-vchar, SP and HTAB (RFC 9110 §5.5). */
    private static final boolean[] FIELD_VALUE = new boolean[256];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
        for (int c = 0x20; c < 0x100; c++) {
            FIELD_VALUE[c] = c != 0x7f;
        }
        FIELD_VALUE['\t'] = true;
    }

    private final int limit;
    /** Where the bytes are copied to be checked, a piece at a time. */
    private final byte[] chunk = new byte[256];
    private int state;
    /** Bytes of the head checked so far, from the reader index of the buffer it arrives in. */
    private int scanned;
    private int versionAt;
    private String problem;

    /** {@code limit}: the most bytes a head may have (request line, fields and the empty lines before). */
    public RequestHeadValidator(int limit) {
        this.limit = limit;
    }

    /** Ready for the next head. */
    public void reset() {
        state = START;
        scanned = 0;
        problem = null;
    }

    /**
     * Checks the bytes of {@code buf} from its reader index on (those already checked by an earlier
     * call are not read again; the reader index must not have moved meanwhile). Returns the length
     * of the head (through its final CRLF) when it is complete and well formed, else {@link #MORE},
     * {@link #MALFORMED} or {@link #TOO_LONG}. Does not move the buffer's indexes.
     */
    public int feed(ByteBuf buf) {
        if (state == DONE) {
            return scanned;
        }
        if (state == FAILED) {
            return MALFORMED;
        }
        int from = buf.readerIndex() + scanned;
        int n = Math.min(buf.writerIndex() - from, limit - scanned);
        while (n > 0 && state != DONE && state != FAILED) {
            // a small copy, then tight loops over an array: no bounds or reference checks per byte
            int len = Math.min(n, chunk.length);
            buf.getBytes(from, chunk, 0, len);
            int used = scan(chunk, len);
            scanned += used;
            from += used;
            n -= used;
        }
        if (state == DONE) {
            return scanned;
        }
        if (state == FAILED) {
            return MALFORMED;
        }
        return scanned >= limit ? TOO_LONG : MORE;
    }

    /** Runs the state machine over {@code a[0..len)}; returns how many bytes it consumed (through the end of the head, or all). */
    private int scan(byte[] a, int len) {
        int i = 0;
        while (i < len) {
            switch (state) {
                case METHOD:
                    while (i < len && TCHAR[a[i] & 0xff]) {
                        i++;
                    }
                    break;
                case TARGET:
                    while (i < len && a[i] > 0x20 && a[i] < 0x7f) {
                        i++;
                    }
                    break;
                case NAME:
                    while (i < len && TCHAR[a[i] & 0xff]) {
                        i++;
                    }
                    break;
                case VALUE:
                    while (i < len && FIELD_VALUE[a[i] & 0xff]) {
                        i++;
                    }
                    break;
                default:
                    break;
            }
            if (i == len) {
                break;
            }
            boolean more = process(a[i]);
            i++;
            if (!more) {
                break;
            }
        }
        return i;
    }

    /** Why the head was refused. */
    public String problem() {
        return problem;
    }

    /** After {@link #TOO_LONG}: the request line itself was not finished. */
    public boolean tooLongInRequestLine() {
        return state <= VERSION;
    }

    /** One step of the state machine; false when the head ended or was found malformed. */
    private boolean process(byte b) {
        int c = b & 0xff;
        switch (state) {
            case START:
                if (c == '\r') {
                    state = START_CR;
                    return true;
                }
                if (TCHAR[c]) {
                    state = METHOD;
                    return true;
                }
                return fail(c == ' ' || c == '\t' ? "whitespace before the request line" : describe(c, "at the start of the request line"));
            case START_CR:
                if (c == '\n') {
                    state = START;
                    return true;
                }
                return fail("a bare CR before the request line");
            case METHOD:
                if (TCHAR[c]) {
                    return true;
                }
                if (c == ' ') {
                    state = TARGET_FIRST;
                    return true;
                }
                return fail(describe(c, "in the method"));
            case TARGET_FIRST:
                if (c > 0x20 && c < 0x7f) {
                    state = TARGET;
                    return true;
                }
                return fail(c == ' ' ? "more than one space after the method" : describe(c, "in the request target"));
            case TARGET:
                if (c > 0x20 && c < 0x7f) {
                    return true;
                }
                if (c == ' ') {
                    state = VERSION;
                    versionAt = 0;
                    return true;
                }
                return fail(describe(c, "in the request target"));
            case VERSION:
                byte want = VERSION_SHAPE[versionAt];
                if (want == 0 ? c >= '0' && c <= '9' : c == want) {
                    if (++versionAt == VERSION_SHAPE.length) {
                        state = LINE_CR;
                    }
                    return true;
                }
                return fail("the HTTP version is not HTTP/d.d followed by CRLF");
            case LINE_CR:
                if (c == '\n') {
                    state = FIELD_START;
                    return true;
                }
                return fail("a bare CR in the request head");
            case FIELD_START:
                if (TCHAR[c]) {
                    state = NAME;
                    return true;
                }
                if (c == '\r') {
                    state = END_CR;
                    return true;
                }
                if (c == ' ' || c == '\t') {
                    return fail("an obs-fold line (a field line starting with whitespace)");
                }
                return fail(describe(c, "at the start of a field name"));
            case NAME:
                if (TCHAR[c]) {
                    return true;
                }
                if (c == ':') {
                    state = VALUE;
                    return true;
                }
                return fail(c == ' ' || c == '\t' ? "whitespace between a field name and its colon" : describe(c, "in a field name"));
            case VALUE:
                if (c >= 0x20 && c != 0x7f || c == '\t') {
                    return true;
                }
                if (c == '\r') {
                    state = LINE_CR;
                    return true;
                }
                return fail(describe(c, "in a field value"));
            case END_CR:
                if (c == '\n') {
                    state = DONE;
                    return false;
                }
                return fail("a bare CR in the request head");
            default:
                return false;
        }
    }

    private boolean fail(String why) {
        state = FAILED;
        problem = why;
        return false;
    }

    private static String describe(int c, String where) {
        if (c == '\n') {
            return "a bare LF (lines must end with CRLF) " + where;
        }
        if (c == ' ' || c == '\t' || c == 0x0b || c == 0x0c) {
            return "whitespace other than one SP " + where;
        }
        if (c < 0x20 || c == 0x7f) {
            return String.format("control character 0x%02x %s", c, where);
        }
        return String.format("character 0x%02x not allowed %s", c, where);
    }
}
