package offload;

import static offload.Assert.check;
import static offload.Assert.equal;
import static offload.Assert.raises;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON codec: what it reads, what it writes, what it refuses. */
public class JsonTest {
    @Test
    public void readsEveryKindOfValue() {
        Object doc = Json.parse(" {\"s\":\"x\",\"i\":42,\"neg\":-7,\"f\":1.5,\"e\":2e3,\"t\":true,\"n\":null,\"a\":[1,[],{}],\"o\":{\"k\":false}} ");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("s", "x");
        expected.put("i", 42L);
        expected.put("neg", -7L);
        expected.put("f", 1.5);
        expected.put("e", 2000.0);
        expected.put("t", true);
        expected.put("n", null);
        expected.put("a", Arrays.asList(1L, List.of(), Map.of()));
        expected.put("o", Map.of("k", false));
        equal(doc, expected);
        equal(new ArrayList<>(((Map<?, ?>) doc).keySet()), List.of("s", "i", "neg", "f", "e", "t", "n", "a", "o"), "keys keep their order");
    }

    @Test
    public void readsIntegersTooBigForALongExactly() {
        equal(Json.parse("9223372036854775807"), Long.MAX_VALUE);
        equal(Json.parse("9223372036854775808"), new BigInteger("9223372036854775808"));
        equal(Json.parse("-0"), 0L);
    }

    @Test
    public void readsEscapesAndUnicode() {
        equal(Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""), "a\"b\\c/d\b\f\n\r\té\uD83D\uDE00");
        equal(Json.parse("\"caf\u00e9 \uD83D\uDE00\""), "café 😀");
    }

    @Test
    public void writesWhatItReads() {
        String text = "{\"s\":\"line\\nbreak \\\"q\\\" é 😀\",\"i\":42,\"f\":1.5,\"b\":[true,false,null],\"o\":{}}";
        equal(Json.write(Json.parse(text)), text);
    }

    @Test
    public void writesJavaValues() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("int", 3);
        m.put("double", 2.0);
        m.put("small", 0.1);
        m.put("array", new int[] {1, 2});
        m.put("objects", new Object[] {"a", 'b'});
        m.put("big", new BigInteger("123456789012345678901234567890"));
        m.put("control", "\u0001\u001f");
        m.put("lone", "\uD800x");
        equal(Json.write(m), "{\"int\":3,\"double\":2,\"small\":0.1,\"array\":[1,2],\"objects\":[\"a\",\"b\"],\"big\":123456789012345678901234567890,"
            + "\"control\":\"\\u0001\\u001f\",\"lone\":\"\\ud800x\"}");
    }

    @Test
    public void refusesWhatIsNotJson() {
        String[] bad = {
            "", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "[1 2]", "01", "1.", ".5", "1e", "+1", "NaN", "Infinity", "tru", "nul",
            "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"raw \n newline\"", "{\"a\" 1}", "1 2", "[] x", "\u00a0[]",
        };
        for (String text : bad) {
            Json.JsonException e = raises(Json.JsonException.class, () -> Json.parse(text));
            check(e.getMessage().startsWith("not JSON: "), e.getMessage());
        }
    }

    @Test
    public void refusesDocumentsNestedTooDeep() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        check(raises(Json.JsonException.class, () -> Json.parse(deep)).getMessage().contains("nested deeper"), "depth limit");
        equal(Json.parse("[".repeat(500) + "]".repeat(500)) instanceof List, true);
    }

    @Test
    public void refusesValuesJsonCannotHold() {
        raises(Json.JsonException.class, () -> Json.write(Double.NaN));
        raises(Json.JsonException.class, () -> Json.write(Map.of("x", Double.POSITIVE_INFINITY)));
        raises(Json.JsonException.class, () -> Json.write(new Object()));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        raises(Json.JsonException.class, () -> Json.write(cycle));
    }
}
