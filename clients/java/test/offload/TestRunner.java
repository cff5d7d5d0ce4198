package offload;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Runs the client's tests without a test framework to download: every public method marked
 * {@link Test} of the classes named on the command line, one instance per test. Prints one line
 * per test; exits 1 if any failed. Server tests need OFFLOAD_URL and tokens (see {@link Server}).
 */
public final class TestRunner {
    public static void main(String[] args) throws Exception {
        int passed = 0;
        List<String> failures = new ArrayList<>();
        for (String name : args) {
            Class<?> type = Class.forName(name);
            Method[] methods = type.getMethods();
            Arrays.sort(methods, Comparator.comparing(Method::getName));
            for (Method m : methods) {
                if (!m.isAnnotationPresent(Test.class)) continue;
                String label = type.getSimpleName() + "." + m.getName();
                long started = System.nanoTime();
                try {
                    m.invoke(type.getDeclaredConstructor().newInstance());
                    passed++;
                    System.out.printf("ok %s (%d ms)%n", label, (System.nanoTime() - started) / 1_000_000);
                } catch (InvocationTargetException e) {
                    failures.add(label);
                    System.out.printf("FAILED %s%n", label);
                    e.getCause().printStackTrace(System.out);
                }
            }
        }
        System.out.printf("%d passed, %d failed%n", passed, failures.size());
        if (!failures.isEmpty()) {
            System.out.println("failed: " + String.join(", ", failures));
            System.exit(1);
        }
        System.exit(0);
    }
}
