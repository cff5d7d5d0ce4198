package offload;

import java.net.ServerSocket;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The server the tests run against: `npm test` (test/clients/java.test.ts) starts a real
 * `offload start` and passes OFFLOAD_URL, OFFLOAD_WORK_TOKEN (scope work, tasks java.*),
 * OFFLOAD_SUBMIT_TOKEN (scope submit, tasks java.*) and OFFLOAD_ADMIN_TOKEN.
 */
final class Server {
    private Server() {}

    static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) throw new AssertionError(name + " is not set: `npm test` runs these tests against a real server (test/clients/java.test.ts)");
        return value;
    }

    static String url() {
        return env("OFFLOAD_URL");
    }

    static Client submitter() {
        return new Client(url(), env("OFFLOAD_SUBMIT_TOKEN"));
    }

    static Client admin() {
        return new Client(url(), env("OFFLOAD_ADMIN_TOKEN"));
    }

    static Agent agent() {
        return agent(url());
    }

    static Agent agent(String url) {
        return new Agent(url, env("OFFLOAD_WORK_TOKEN")).lease(java.time.Duration.ofSeconds(1)).longPoll(java.time.Duration.ofSeconds(5)).shutdownHook(false);
    }

    /** A task of its own for one test, declared so jobs can be submitted at once. */
    static String newTask(String label, Map<String, Object> settings) {
        String task = "java." + label + "." + UUID.randomUUID().toString().substring(0, 8);
        admin().declareTask(task, settings);
        return task;
    }

    static String newTask(String label) {
        return newTask(label, Map.of());
    }

    static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs agent.run(handlers) on a thread; close() stops it gracefully and waits. */
    static final class Running implements AutoCloseable {
        final Agent agent;
        final Thread thread;
        volatile Throwable error;

        Running(Agent agent, Map<String, offload.Handler> handlers, int concurrency) {
            this.agent = agent;
            this.thread = new Thread(() -> {
                try {
                    agent.run(handlers, concurrency);
                } catch (Throwable e) {
                    error = e;
                }
            }, "test-agent");
            thread.start();
        }

        boolean join(long ms) throws InterruptedException {
            thread.join(ms);
            return !thread.isAlive();
        }

        @Override
        public void close() throws InterruptedException {
            agent.stop();
            thread.join(20_000);
            if (thread.isAlive()) throw new AssertionError("the agent did not stop");
        }
    }

    /** Collects the agent's log records, so a test can see it complain instead of stopping silently. */
    static final class Logs extends Handler implements AutoCloseable {
        final CopyOnWriteArrayList<LogRecord> records = new CopyOnWriteArrayList<>();
        private final Logger logger = Logger.getLogger("offload");

        Logs() {
            logger.addHandler(this);
        }

        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {
            logger.removeHandler(this);
        }

        long count(String text, Level atLeast) {
            return records.stream().filter(r -> r.getLevel().intValue() >= atLeast.intValue() && r.getMessage().contains(text)).count();
        }
    }
}
