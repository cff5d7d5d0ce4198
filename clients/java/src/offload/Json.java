package offload;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON codec (RFC 8259), so the client needs nothing but the JDK.
 *
 * <p>Reading gives {@code Map<String, Object>} (keys in document order), {@code List<Object>},
 * {@code String}, {@code Long} (or {@code BigInteger} when it does not fit) for integers,
 * {@code Double} for other numbers, {@code Boolean}, and {@code null}. Writing takes those, any
 * {@code Map}, {@code Iterable}, array, {@code Number}, {@code CharSequence}, {@code Boolean},
 * {@code Character} and {@code null}.
 */
public final class Json {
    /** Deeper documents are refused rather than overflowing the stack. */
    static final int MAX_DEPTH = 512;

    private Json() {}

    /** A document that is not JSON, or a value that cannot be written as JSON. */
    public static final class JsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.skipSpace();
        Object value = p.value(0);
        p.skipSpace();
        if (p.pos != text.length()) throw p.error("unexpected " + p.describe() + " after the value");
        return value;
    }

    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.toString();
    }

    // ---- writing ------------------------------------------------------------------------------

    private static void write(StringBuilder out, Object value, int depth) {
        if (depth > MAX_DEPTH) throw new JsonException("nested deeper than " + MAX_DEPTH + " levels (a cycle?)");
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean) {
            out.append(value.toString());
        } else if (value instanceof Number) {
            writeNumber(out, (Number) value);
        } else if (value instanceof CharSequence || value instanceof Character) {
            writeString(out, value.toString());
        } else if (value instanceof Map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!first) out.append(',');
                first = false;
                writeString(out, String.valueOf(e.getKey()));
                out.append(':');
                write(out, e.getValue(), depth + 1);
            }
            out.append('}');
        } else if (value instanceof Iterable) {
            out.append('[');
            boolean first = true;
            for (Object item : (Iterable<?>) value) {
                if (!first) out.append(',');
                first = false;
                write(out, item, depth + 1);
            }
            out.append(']');
        } else if (value.getClass().isArray()) {
            out.append('[');
            for (int i = 0, n = Array.getLength(value); i < n; i++) {
                if (i > 0) out.append(',');
                write(out, Array.get(value, i), depth + 1);
            }
            out.append(']');
        } else {
            throw new JsonException("a " + value.getClass().getName() + " cannot be written as JSON; use maps, lists, strings, numbers, booleans and null");
        }
    }

    private static void writeNumber(StringBuilder out, Number n) {
        if (n instanceof Double || n instanceof Float) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new JsonException(d + " is not a JSON number");
            // Whole numbers without ".0", as JavaScript writes them.
            if (d == Math.rint(d) && Math.abs(d) < 1e15) out.append((long) d);
            else out.append(n instanceof Float ? Float.toString(n.floatValue()) : Double.toString(d));
        } else if (n instanceof BigDecimal) {
            out.append(((BigDecimal) n).toString());
        } else {
            out.append(n.toString());
        }
    }

    private static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                default:
                    if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                        out.append(c).append(s.charAt(++i));
                    } else if (c < 0x20 || Character.isSurrogate(c)) {
                        // Control characters, and half of a pair on its own (not valid UTF-8), escaped.
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    // ---- reading ------------------------------------------------------------------------------

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) {
            this.s = s;
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH + " levels");
            if (pos >= s.length()) throw error("unexpected end of the document");
            char c = s.charAt(pos);
            switch (c) {
                case '{': return object(depth);
                case '[': return array(depth);
                case '"': return string();
                case 't': return literal("true", Boolean.TRUE);
                case 'f': return literal("false", Boolean.FALSE);
                case 'n': return literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw error("unexpected " + describe());
            }
        }

        Map<String, Object> object(int depth) {
            Map<String, Object> map = new LinkedHashMap<>();
            pos++;
            skipSpace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            for (;;) {
                skipSpace();
                if (peek() != '"') throw error("expected a string key, found " + describe());
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                map.put(key, value(depth + 1));
                skipSpace();
                char c = next("',' or '}'");
                if (c == '}') return map;
                if (c != ',') throw error("expected ',' or '}', found '" + c + "'", pos - 1);
            }
        }

        List<Object> array(int depth) {
            List<Object> list = new ArrayList<>();
            pos++;
            skipSpace();
            if (peek() == ']') {
                pos++;
                return list;
            }
            for (;;) {
                skipSpace();
                list.add(value(depth + 1));
                skipSpace();
                char c = next("',' or ']'");
                if (c == ']') return list;
                if (c != ',') throw error("expected ',' or ']', found '" + c + "'", pos - 1);
            }
        }

        String string() {
            pos++;
            StringBuilder out = new StringBuilder();
            for (;;) {
                char c = next("a closing '\"'");
                if (c == '"') return out.toString();
                if (c < 0x20) throw error("a control character must be escaped in a string", pos - 1);
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = next("an escape");
                switch (e) {
                    case '"': out.append('"'); break;
                    case '\\': out.append('\\'); break;
                    case '/': out.append('/'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'u': out.append(hex4()); break;
                    default: throw error("unknown escape '\\" + e + "'", pos - 2);
                }
            }
        }

        char hex4() {
            if (pos + 4 > s.length()) throw error("unexpected end of the document in a \\u escape");
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(s.charAt(pos + i), 16);
                if (d < 0) throw error("bad \\u escape", pos - 2);
                v = v * 16 + d;
            }
            pos += 4;
            return (char) v;
        }

        Object number() {
            int start = pos;
            if (peek() == '-') pos++;
            if (peek() == '0') pos++;
            else if (peek() >= '1' && peek() <= '9') digits();
            else throw error("a number needs digits", start);
            boolean integral = true;
            if (peek() == '.') {
                integral = false;
                pos++;
                if (!isDigit(peek())) throw error("a digit must follow the decimal point", pos);
                digits();
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                pos++;
                if (peek() == '+' || peek() == '-') pos++;
                if (!isDigit(peek())) throw error("an exponent needs digits", pos);
                digits();
            }
            String text = s.substring(start, pos);
            if (!integral) return Double.valueOf(text);
            BigInteger big = new BigInteger(text);
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }

        void digits() {
            while (isDigit(peek())) pos++;
        }

        Object literal(String word, Object value) {
            if (!s.startsWith(word, pos)) throw error("unexpected " + describe());
            pos += word.length();
            return value;
        }

        void skipSpace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                pos++;
            }
        }

        void expect(char c) {
            char found = next("'" + c + "'");
            if (found != c) throw error("expected '" + c + "', found '" + found + "'", pos - 1);
        }

        char next(String expected) {
            if (pos >= s.length()) throw error("unexpected end of the document; expected " + expected);
            return s.charAt(pos++);
        }

        char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        String describe() {
            if (pos >= s.length()) return "end of the document";
            return "'" + s.charAt(pos) + "'";
        }

        JsonException error(String message) {
            return error(message, pos);
        }

        JsonException error(String message, int at) {
            return new JsonException("not JSON: " + message + " at offset " + at);
        }
    }
}
