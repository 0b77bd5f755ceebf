package dev.tollgate.gateway.counting;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/**
 * Valid JSON documents shaped like X API v2 pages, every choice taken from the fuzzer's bytes:
 * members in any order (data as array or object or absent, meta with or without result_count,
 * decoys such as includes.data and nested result_count), strings with escapes and brackets,
 * any whitespace. Member names are never escaped (an escaped name is none of the counter's).
 */
final class Documents {
    private static final String[] WORDS = {"id", "text", "data", "meta", "result_count", "next_token", "includes", "users", "errors", "x"};
    private static final String[] STRING_BODIES = {"", "a", "\\\"", "\\\\", "[", "]", "{", "}", ",", ":", "\\u005d", "\\n", "é", "🐦", "data", "\\/"};
    private static final String[] WHITESPACE = {"", " ", "\n", "\t", "\r\n  "};

    private Documents() {
    }

    static void xApi(FuzzedDataProvider d, StringBuilder b) {
        b.append(ws(d)).append('{');
        int members = d.consumeInt(0, 5);
        boolean first = true;
        boolean sawData = false;
        boolean sawMeta = false;
        for (int i = 0; i < members; i++) {
            int kind = d.consumeInt(0, 3);
            if (kind == 0 && sawData || kind == 1 && sawMeta) {
                continue; // no duplicate names: parsers disagree on them
            }
            b.append(first ? "" : ",").append(ws(d));
            first = false;
            switch (kind) {
                case 0 -> {
                    sawData = true;
                    b.append("\"data\"").append(ws(d)).append(':').append(ws(d));
                    if (d.consumeBoolean()) {
                        array(d, b, 3);
                    } else {
                        value(d, b, 3);
                    }
                }
                case 1 -> {
                    sawMeta = true;
                    b.append("\"meta\"").append(ws(d)).append(':').append(ws(d)).append('{');
                    boolean count = d.consumeBoolean();
                    int others = d.consumeInt(0, 3);
                    int countAt = d.consumeInt(0, others);
                    boolean mf = true;
                    for (int k = 0; k <= others; k++) {
                        if (k == countAt && count) {
                            b.append(mf ? "" : ",").append(ws(d)).append("\"result_count\"").append(ws(d)).append(':').append(ws(d))
                                    .append((d.consumeInt() & 0x7fffffff) % 1_000_000_000).append(ws(d));
                            mf = false;
                        }
                        if (k < others) {
                            String name = d.pickValue(WORDS);
                            if (name.equals("result_count")) {
                                name = "result_counts";
                            }
                            b.append(mf ? "" : ",").append('"').append(name).append("\":");
                            value(d, b, 2);
                            mf = false;
                        }
                    }
                    b.append('}');
                }
                default -> {
                    String name = d.pickValue(WORDS);
                    if (name.equals("data") || name.equals("meta")) {
                        name = "_" + name;
                    }
                    b.append('"').append(name).append("\":").append(ws(d));
                    value(d, b, 3);
                }
            }
            b.append(ws(d));
        }
        b.append('}').append(ws(d));
    }

    private static void array(FuzzedDataProvider d, StringBuilder b, int depth) {
        b.append('[');
        int n = d.consumeInt(0, 6);
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append(ws(d));
            value(d, b, depth - 1);
            b.append(ws(d));
        }
        b.append(']');
    }

    private static void value(FuzzedDataProvider d, StringBuilder b, int depth) {
        int kind = d.consumeInt(0, depth <= 0 ? 3 : 5);
        switch (kind) {
            case 0 -> b.append(d.pickValue(new String[] {"true", "false", "null"}));
            case 1 -> b.append(d.pickValue(new String[] {"0", "-1", "12", "1.5e3", "-0.25", "1860000000000000000"}));
            case 2, 3 -> {
                b.append('"');
                int parts = d.consumeInt(0, 4);
                for (int i = 0; i < parts; i++) {
                    b.append(d.pickValue(STRING_BODIES));
                }
                b.append('"');
            }
            case 4 -> array(d, b, depth);
            default -> {
                b.append('{');
                int n = d.consumeInt(0, 4);
                for (int i = 0; i < n; i++) {
                    b.append(i == 0 ? "" : ",").append(ws(d)).append('"').append(d.pickValue(WORDS)).append('"').append(ws(d))
                            .append(':').append(ws(d));
                    value(d, b, depth - 1);
                }
                b.append('}');
            }
        }
    }

    private static String ws(FuzzedDataProvider d) {
        return d.pickValue(WHITESPACE);
    }
}
