package offload;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/** The few assertions the tests need. */
final class Assert {
    private Assert() {}

    static void equal(Object actual, Object expected) {
        equal(actual, expected, "");
    }

    static void equal(Object actual, Object expected, String what) {
        if (!Objects.equals(actual, expected)) throw new AssertionError(what + (what.isEmpty() ? "" : ": ") + "expected <" + expected + "> but was <" + actual + ">");
    }

    static void check(boolean condition, String what) {
        if (!condition) throw new AssertionError(what);
    }

    interface Action {
        void run() throws Exception;
    }

    static <T extends Throwable> T raises(Class<T> type, Action action) {
        try {
            action.run();
        } catch (Throwable e) {
            if (type.isInstance(e)) return type.cast(e);
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + e, e);
        }
        throw new AssertionError("expected " + type.getSimpleName() + " but nothing was thrown");
    }

    /** For outcomes no call waits on: looks again after short pauses until it holds (10 s at most). */
    static void eventually(BooleanSupplier check, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(10);
        }
    }
}
