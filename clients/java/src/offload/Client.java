package offload;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The HTTP API of an Offload server: submit jobs and read them back, and the agent calls (claim,
 * heartbeat, complete, fail, release, and finish for many outcomes at once). Thread-safe. Jobs are maps in the shape of the CLI's --json.
 */
public class Client {
    public static final String DEFAULT_URL = "http://127.0.0.1:7070";
    private static final String VERSION = "0.1.0";

    private final String url;
    private final String token;
    private final Duration timeout;
    private final HttpClient http;

    public Client(String url, String token) {
        this(url, token, Duration.ofSeconds(30));
    }

    public Client(String url, String token, Duration timeout) {
        URI parsed = URI.create(url);
        if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme()) || parsed.getHost() == null) {
            throw new IllegalArgumentException("url must be http://HOST:PORT or https://HOST:PORT, got " + url);
        }
        this.url = url.replaceAll("/+$", "");
        this.token = token;
        this.timeout = timeout;
        // HTTP/1.1: the JDK would otherwise offer an upgrade to HTTP/2 on every plain-text request.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
    }

    public String url() {
        return url;
    }

    // ---- producers ----------------------------------------------------------------------------

    /** Submits a job; returns it. */
    public Map<String, Object> submit(String task, Object input) {
        return submit(task, input, null, Map.of());
    }

    /**
     * Submits a job. With {@code wait}, holds the request until the job finishes or the wait ends,
     * and returns the job as it stands (look at its "state"). {@code options} are the API's fields:
     * priority, runAt, delayMs, uniqueKey, concurrencyKey, maxAttempts, timeoutMs; and
     * idempotencyKey, sent as the Idempotency-Key header: the job is stored once however often it
     * is sent within 24 hours, so a submit whose answer was lost (the server unreachable or
     * unavailable) is sent again, up to three times, and returns the job the first delivery stored.
     *
     * <p>{@code after} (an option): the jobs to wait for — a job (a map with its "id") or an id, a
     * list of them or of {@code {"job", "name"?, "onFailure"?}}, or a map of names to jobs or ids
     * ({@code Map.of("base", job)}: the handler reads {@code ctx.result("base")}). The job is stored
     * "waiting" and queued once they have all succeeded; {@code onDependencyFailure} says what
     * happens when one fails or is cancelled: "cancel" (default), "fail", or "run" it anyway.
     */
    public Map<String, Object> submit(String task, Object input, Duration wait, Map<String, Object> options) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("task", task);
        body.put("input", input);
        body.putAll(options);
        if (body.get("after") != null) body.put("after", after(body.get("after")));
        Object key = body.remove("idempotencyKey");
        return map(submitting("/v1/jobs" + waitQuery(wait), body, wait, key).get("job"));
    }

    /**
     * Submits a flow: named steps that wait for each other, stored at once (all or nothing).
     * {@code steps} maps step names to {@code {"task", "input"?, "after"?: [step names, {"step",
     * "onFailure"}, or {"job", "name"?, "onFailure"?}], ...options}} (the API's option names). With
     * {@code wait}, holds the request until the flow has finished or the wait ends. {@code options}:
     * title, onFinish ({@code {"task", "input"?}}), onDependencyFailure, idempotencyKey.
     * Returns {@code {"flow", "steps", "jobs", "failures"}}: the flow (a batch with "kind" "flow"),
     * every step's state and what it waits for, and the steps' jobs. A cycle, or a step waiting for
     * one that does not exist, is an OffloadException INVALID_FLOW; nothing is stored.
     */
    public Map<String, Object> flow(Map<String, Map<String, Object>> steps, Duration wait, Map<String, Object> options) {
        Map<String, Object> body = new LinkedHashMap<>(options);
        Object key = body.remove("idempotencyKey");
        Map<String, Object> out = new LinkedHashMap<>();
        steps.forEach((name, step) -> {
            Map<String, Object> s = new LinkedHashMap<>(step);
            if (s.get("after") instanceof List) {
                List<Object> edges = new ArrayList<>();
                for (Object edge : (List<?>) s.get("after")) edges.add(edge instanceof Map && ((Map<?, ?>) edge).containsKey("job") ? jobEdge((Map<?, ?>) edge) : edge);
                s.put("after", edges);
            }
            out.put(name, s);
        });
        body.put("steps", out);
        return submitting("/v1/flows" + waitQuery(wait), body, wait, key);
    }

    public Map<String, Object> flow(Map<String, Map<String, Object>> steps) {
        return flow(steps, null, Map.of());
    }

    /** A flow and every step's state, in one read: {@code {"flow", "steps", "failures"}}. */
    public Map<String, Object> getFlow(String id) {
        return getFlow(id, null);
    }

    /** {@link #getFlow(String)}; with {@code wait}, holds until the flow has finished or the wait ends. */
    public Map<String, Object> getFlow(String id, Duration wait) {
        return request("GET", "/v1/flows/" + jobId(id) + waitQuery(wait), null, wait);
    }

    /** Cancels the steps of a flow that have not started (an admin token): {@code {"cancelled", "flow"}}. */
    public Map<String, Object> cancelFlow(String id) {
        return request("POST", "/v1/flows/" + jobId(id) + "/cancel", null, null);
    }

    /** A submit, sent again (up to three times) while the server is unreachable when it has an idempotency key. */
    private Map<String, Object> submitting(String path, Object body, Duration wait, Object key) {
        if (key == null) return request("POST", path, body, wait);
        Map<String, String> headers = Map.of("Idempotency-Key", key.toString());
        for (long pauseMs : SUBMIT_RETRY_PAUSES_MS) {
            try {
                return request("POST", path, body, wait, headers);
            } catch (OffloadException e) {
                if (pauseMs < 0 || !e.isTransient()) throw e;
                sleep(pauseMs);
            }
        }
        throw new IllegalStateException("unreachable");
    }

    /** {@code after} as the API takes it: ids (a job map stands for its id), edges, or names to ids. */
    static Object after(Object after) {
        if (after instanceof Map && !((Map<?, ?>) after).containsKey("id") && !((Map<?, ?>) after).containsKey("job")) {
            Map<String, Object> named = new LinkedHashMap<>();
            ((Map<?, ?>) after).forEach((name, ref) -> named.put(String.valueOf(name), idOf(ref)));
            return named;
        }
        List<Object> out = new ArrayList<>();
        for (Object ref : after instanceof List ? (List<?>) after : List.of(after)) out.add(ref instanceof Map && ((Map<?, ?>) ref).containsKey("job") ? jobEdge((Map<?, ?>) ref) : idOf(ref));
        return out;
    }

    private static Map<String, Object> jobEdge(Map<?, ?> edge) {
        Map<String, Object> out = new LinkedHashMap<>();
        edge.forEach((k, v) -> out.put(String.valueOf(k), v));
        out.put("job", idOf(edge.get("job")));
        return out;
    }

    private static String idOf(Object ref) {
        Object id = ref instanceof Map ? ((Map<?, ?>) ref).get("id") : ref;
        return jobId(String.valueOf(id));
    }

    /** A keyed submit is safe to send again: the pauses before each new try (-1: no more tries). */
    private static final long[] SUBMIT_RETRY_PAUSES_MS = {200, 500, 1000, -1};

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServerUnreachableException("(interrupted)", "interrupted while waiting to submit again", e);
        }
    }

    public Map<String, Object> get(String id) {
        return get(id, null);
    }

    /** The job with this id; with {@code wait}, holds until it finishes or the wait ends. */
    public Map<String, Object> get(String id, Duration wait) {
        return map(request("GET", "/v1/jobs/" + jobId(id) + waitQuery(wait), null, wait).get("job"));
    }

    /** Submits a job and waits for its result; JobFailedException if it fails or is cancelled. */
    public Object run(String task, Object input, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        Map<String, Object> job = submit(task, input, min(timeout, Duration.ofSeconds(60)), Map.of());
        while (isPending(job) && Instant.now().isBefore(deadline)) {
            job = get((String) job.get("id"), min(Duration.between(Instant.now(), deadline), Duration.ofSeconds(60)));
        }
        if ("succeeded".equals(job.get("state"))) return job.get("result");
        if (isPending(job)) throw new IllegalStateException("job " + job.get("id") + " did not finish within " + timeout + "; it goes on");
        throw new JobFailedException(job);
    }

    public Map<String, Object> cancel(String id) {
        return map(request("POST", "/v1/jobs/" + jobId(id) + "/cancel", null, null).get("job"));
    }

    /**
     * Declares a task's settings, as a worker that defines the task does: maxAttempts, backoff,
     * timeoutMs, priority, concurrency, concurrencyPerKey, retention, input (a JSON Schema), description.
     */
    public Map<String, Object> declareTask(String task, Map<String, Object> settings) {
        return map(request("PUT", "/v1/tasks/" + encode(task), settings, null).get("settings"));
    }

    // ---- agents -------------------------------------------------------------------------------

    public List<Map<String, Object>> claim(List<String> tasks, String workerId, int max, long waitMs, long leaseMs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tasks", tasks);
        if (workerId != null) body.put("workerId", workerId);
        body.put("max", max);
        body.put("waitMs", waitMs);
        body.put("leaseMs", leaseMs);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> jobs = (List<Map<String, Object>>) request("POST", "/v1/claim", body, Duration.ofMillis(waitMs)).get("jobs");
        return jobs;
    }

    public Map<String, Object> heartbeat(String id, String leaseToken, Map<String, Object> progress, long leaseMs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leaseToken", leaseToken);
        if (progress != null) body.put("progress", progress);
        body.put("leaseMs", leaseMs);
        return request("POST", "/v1/jobs/" + jobId(id) + "/heartbeat", body, null);
    }

    public Map<String, Object> complete(String id, String leaseToken, Object result) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leaseToken", leaseToken);
        body.put("result", result);
        return request("POST", "/v1/jobs/" + jobId(id) + "/complete", body, null);
    }

    /** Records a failed attempt; {@code retryable} false fails the job now; null values are left out. */
    public Map<String, Object> fail(String id, String leaseToken, Map<String, Object> error, Boolean retryable, Long retryInMs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leaseToken", leaseToken);
        body.put("error", error);
        if (retryable != null) body.put("retryable", retryable);
        if (retryInMs != null) body.put("retryInMs", retryInMs);
        return request("POST", "/v1/jobs/" + jobId(id) + "/fail", body, null);
    }

    public Map<String, Object> release(String id, String leaseToken, long delayMs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leaseToken", leaseToken);
        if (delayMs > 0) body.put("delayMs", delayMs);
        return request("POST", "/v1/jobs/" + jobId(id) + "/release", body, null);
    }

    /**
     * Records many outcomes at once ({@code POST /v1/jobs/finish}), in one transaction, and claims the
     * next jobs in the same request.
     *
     * <p>{@code outcomes}: up to 100 maps {@code {"id", "outcome": "complete"|"fail"|"release",
     * "leaseToken", ...}} with the fields of the single-job calls ({@code result}; {@code error},
     * {@code retryable}, {@code retryInMs}; {@code delayMs}). {@code claim}: null, or
     * {@code {"tasks", "workerId"?, "max"?, "leaseMs"?, "waitMs"?}} as {@link #claim} sends them; with
     * {@code waitMs} and nothing claimable, the server holds the request as it holds a claim.
     * {@code hold} is how long the server may hold it, on top of the usual timeout (null: the
     * claim's {@code waitMs}, if any).
     *
     * <p>Returns {@code {"results": [...], "jobs": [...]}}: one result per outcome, in order
     * ({@code {"id", "state", "runAt"}} when it was recorded, {@code {"id", "error": {"code",
     * "message", "details"?}}} when it was not, e.g. {@code LEASE_LOST}; the others were recorded all
     * the same), and the claimed jobs, as {@link #claim} returns them. An OffloadException (413
     * {@code PAYLOAD_TOO_LARGE}, an unreachable server…) means nothing was recorded.
     */
    public Map<String, Object> finish(List<Map<String, Object>> outcomes, Map<String, Object> claim, Duration hold) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("outcomes", outcomes);
        if (claim != null) body.put("claim", claim);
        if (hold == null && claim != null && claim.get("waitMs") instanceof Number && ((Number) claim.get("waitMs")).longValue() > 0) {
            hold = Duration.ofMillis(((Number) claim.get("waitMs")).longValue());
        }
        return request("POST", "/v1/jobs/finish", body, hold);
    }

    public Map<String, Object> suspendTask(String task, long delayMs) {
        return request("POST", "/v1/tasks/" + encode(task) + "/suspend", Map.of("delayMs", Math.max(1, delayMs)), null);
    }

    // ---- plumbing -----------------------------------------------------------------------------

    /**
     * One request: the JSON answer, or an OffloadException with the server's code (a
     * ServerUnreachableException when no answer could be had). {@code hold} is how long the
     * server may hold it (a long-poll), on top of the usual timeout.
     */
    public Map<String, Object> request(String method, String path, Object body, Duration hold) {
        return request(method, path, body, hold, Map.of());
    }

    /** {@link #request(String, String, Object, Duration)} with extra headers. */
    public Map<String, Object> request(String method, String path, Object body, Duration hold, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path))
            .timeout(hold == null ? timeout : timeout.plus(hold))
            .header("Accept", "application/json")
            .header("User-Agent", "offload-agent-java/" + VERSION)
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(Json.write(body), StandardCharsets.UTF_8));
        if (body != null) b.header("Content-Type", "application/json");
        if (token != null && !token.isEmpty()) b.header("Authorization", "Bearer " + token);
        headers.forEach(b::header);
        HttpRequest request = b.build();
        HttpResponse<String> response = send(request, method, path);
        if (response.statusCode() >= 400) throw errorOf(response);
        return response.body().isEmpty() ? Map.of() : map(Json.parse(response.body()));
    }

    private HttpResponse<String> send(HttpRequest request, String method, String path) {
        for (int attempt = 1; ; attempt++) {
            try {
                return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ServerUnreachableException(url, method + " " + path + ": interrupted", e);
            } catch (IOException e) {
                // A kept-alive connection the server had closed fails before the request is read: send it again once.
                boolean staleConnection = !(e instanceof ConnectException) && !(e instanceof HttpTimeoutException);
                if (attempt == 1 && staleConnection && !Thread.currentThread().isInterrupted()) continue;
                throw new ServerUnreachableException(url, method + " " + path + ": " + e, e);
            }
        }
    }

    private OffloadException errorOf(HttpResponse<String> response) {
        try {
            Map<String, Object> error = map(map(Json.parse(response.body())).get("error"));
            Object details = error.get("details");
            return new OffloadException((String) error.get("code"), (String) error.get("message"), response.statusCode(), details instanceof Map ? map(details) : null);
        } catch (RuntimeException notAnApiError) {
            // A proxy's page or a stopping server: not an answer of the API.
            return new ServerUnreachableException(url, "it answered HTTP " + response.statusCode() + " without an Offload error", null);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object value) {
        if (!(value instanceof Map)) throw new IllegalStateException("expected a JSON object, got " + value);
        return (Map<String, Object>) value;
    }

    private static boolean isPending(Map<String, Object> job) {
        return "queued".equals(job.get("state")) || "running".equals(job.get("state"));
    }

    private static String waitQuery(Duration wait) {
        return wait == null ? "" : "?wait=" + (wait.toMillis() / 1000.0);
    }

    private static Duration min(Duration a, Duration b) {
        Duration m = a.compareTo(b) < 0 ? a : b;
        return m.isNegative() ? Duration.ZERO : m;
    }

    private static String jobId(String id) {
        if (id == null || !id.matches("[0-9]{1,19}")) throw new IllegalArgumentException("job ids are positive integers, got " + id);
        return id;
    }

    private static String encode(String task) {
        return URLEncoder.encode(task, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
