package offload;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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

    /**
     * A pass-through proxy in front of the server, for an agent to talk to: it records what reaches
     * the server (each request's method and path, and the body of each POST /v1/jobs/finish), and
     * holds each POST /v1/jobs/finish for {@code finishDelayMs} before passing it on; the first
     * {@link #unavailableFinishes} it answers 503 itself, as a server that is down.
     */
    static final class Proxy implements AutoCloseable {
        final CopyOnWriteArrayList<String> requests = new CopyOnWriteArrayList<>();
        final CopyOnWriteArrayList<Map<String, Object>> finishes = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger unavailableFinishes = new java.util.concurrent.atomic.AtomicInteger();
        private final long finishDelayMs;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-proxy");
            t.setDaemon(true);
            return t;
        });
        private final HttpServer server;

        Proxy(long finishDelayMs) throws IOException {
            this.finishDelayMs = finishDelayMs;
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(threads);
            server.createContext("/", this::forward);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        /** Requests that reached the server whose "METHOD /path" matches {@code regex}. */
        long count(String regex) {
            return requests.stream().filter(r -> r.matches(regex)).count();
        }

        private void forward(HttpExchange exchange) throws IOException {
            try {
                byte[] body = exchange.getRequestBody().readAllBytes();
                URI uri = exchange.getRequestURI();
                String path = uri.getRawPath();
                if ("/v1/jobs/finish".equals(path)) {
                    if (unavailableFinishes.getAndDecrement() > 0) {
                        exchange.sendResponseHeaders(503, -1);
                        return;
                    }
                    finishes.add(Client.map(Json.parse(new String(body, StandardCharsets.UTF_8))));
                    Thread.sleep(finishDelayMs);
                }
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(Server.url() + path + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())))
                    .method(exchange.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
                for (String h : List.of("Authorization", "Content-Type", "Accept", "User-Agent")) {
                    String v = exchange.getRequestHeaders().getFirst(h);
                    if (v != null) b.header(h, v);
                }
                HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                requests.add(exchange.getRequestMethod() + " " + path);
                r.headers().firstValue("Content-Type").ifPresent(v -> exchange.getResponseHeaders().set("Content-Type", v));
                exchange.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
                if (r.body().length > 0) exchange.getResponseBody().write(r.body());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                exchange.close();
            }
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
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
