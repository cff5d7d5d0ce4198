package offload;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * What a handler gets besides its input: the claimed job, progress reporting, and whether it
 * should stop. {@link #isCancelled()} turns true when the job was cancelled, timed out, lost its
 * lease (another worker has it now) or the agent is stopping; {@link #reason()} says which. Check
 * it in long loops and return early: whatever the handler returns then is dropped.
 */
public final class JobContext {
    enum State { RUNNING, FINISHING, DETACHED }

    private final Map<String, Object> job;
    private final long startedNanos = System.nanoTime();
    private volatile String reason;
    private Map<String, Object> progress;
    private State state = State.RUNNING;
    private Thread handlerThread;
    private final Runnable onProgress;
    /** Held while a heartbeat of this job is on the wire, so the outcome never overtakes it. */
    final Object wire = new Object();
    /**
     * Its handler returned and its outcome was handed to the claimer, to go with its next request:
     * the job no longer takes a worker thread. Guarded by the agent's lock.
     */
    boolean handedOver;

    JobContext(Map<String, Object> job, Runnable onProgress) {
        this.job = Collections.unmodifiableMap(job);
        this.onProgress = onProgress;
    }

    /** The claimed job: id, task, input, attempt, maxAttempts, priority, timeoutMs, batchId, createdAt, leaseToken, leaseExpiresAt, and dependencies when it waited for others. */
    public Map<String, Object> job() {
        return job;
    }

    public String id() {
        return (String) job.get("id");
    }

    public String task() {
        return (String) job.get("task");
    }

    /** 1 on the first attempt. */
    public int attempt() {
        return ((Number) job.get("attempt")).intValue();
    }

    /** Reports progress, shown on the job and in the event stream; cheap to call often. */
    public void progress(double done, double total, String message) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("done", Math.max(0, done));
        p.put("total", Math.max(0, total));
        if (message != null) p.put("message", message.length() > 1000 ? message.substring(0, 1000) : message);
        synchronized (this) {
            progress = p;
        }
        onProgress.run();
    }

    public void progress(double done, double total) {
        progress(done, total, null);
    }

    /**
     * For a job that waited for others ("after", or a step of a flow): what each of them did, as maps
     * {@code {"id", "name", "task", "state", "result", "error", "policy"}} ("name" is its step name,
     * or the name given in "after"); empty for a job that waited for none.
     */
    public List<Map<String, Object>> dependencies() {
        Object deps = job.get("dependencies");
        if (!(deps instanceof List)) return List.of();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object d : (List<?>) deps) out.add(Client.map(d));
        return Collections.unmodifiableList(out);
    }

    /** The dependency with this job id or name (its step name), or null. */
    public Map<String, Object> dependency(String nameOrId) {
        for (Map<String, Object> d : dependencies()) if (nameOrId.equals(d.get("id"))) return d;
        for (Map<String, Object> d : dependencies()) if (nameOrId.equals(d.get("name"))) return d;
        return null;
    }

    /**
     * The result of the job this one waited for under this name or id. NoSuchElementException when
     * it did not wait for it; IllegalStateException when that job did not succeed (an edge with
     * onFailure "run" lets a job run after a failure: look at {@code dependency(name).get("error")}).
     */
    public Object result(String nameOrId) {
        Map<String, Object> d = dependency(nameOrId);
        if (d == null) {
            List<String> names = new ArrayList<>();
            for (Map<String, Object> x : dependencies()) names.add(String.valueOf(x.get("name") != null ? x.get("name") : x.get("id")));
            throw new NoSuchElementException("job " + id() + " did not wait for \"" + nameOrId + "\"; it waited for " + (names.isEmpty() ? "nothing" : String.join(", ", names)));
        }
        if (!"succeeded".equals(d.get("state"))) throw new IllegalStateException("dependency \"" + nameOrId + "\" (job " + d.get("id") + ") " + d.get("state") + "; it has no result");
        return d.get("result");
    }

    /** The results of every job this one waited for, by name (by id for those without one). */
    public Map<String, Object> results() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map<String, Object> d : dependencies()) out.put(String.valueOf(d.get("name") != null ? d.get("name") : d.get("id")), d.get("result"));
        return out;
    }

    public boolean isCancelled() {
        return reason != null;
    }

    /** null while the job is the handler's; else "cancelled", "lease-lost", "timeout" or "shutdown". */
    public String reason() {
        return reason;
    }

    public boolean isLeaseLost() {
        return "lease-lost".equals(reason);
    }

    // ---- for the agent ---------------------------------------------------------------------------

    synchronized Map<String, Object> takeProgress() {
        Map<String, Object> p = progress;
        progress = null;
        return p;
    }

    synchronized boolean hasProgress() {
        return progress != null;
    }

    synchronized boolean isRunning() {
        return state == State.RUNNING;
    }

    /** Still the agent's: running, or its outcome being sent. */
    synchronized boolean isHeld() {
        return state != State.DETACHED;
    }

    /** The handler returned: whether its outcome is still the agent's to send. */
    synchronized boolean claimOutcome() {
        if (state != State.RUNNING) return false;
        state = State.FINISHING;
        return true;
    }

    synchronized void handlerThread(Thread t) {
        handlerThread = t;
    }

    /**
     * Nothing more is sent for this attempt, and a running handler is told: the flag, and an
     * interrupt of its thread (under this lock, so it cannot reach the thread's next job). True
     * if the handler was still running.
     */
    synchronized boolean detach(String why) {
        if (reason == null) reason = why;
        boolean wasRunning = state == State.RUNNING;
        state = State.DETACHED;
        if (wasRunning && handlerThread != null) handlerThread.interrupt();
        return wasRunning;
    }

    /** Past its timeoutMs, if it has one. */
    boolean isPastTimeout(long nowNanos) {
        Object ms = job.get("timeoutMs");
        return ms instanceof Number && nowNanos - startedNanos >= ((Number) ms).longValue() * 1_000_000L;
    }

    String leaseToken() {
        return (String) job.get("leaseToken");
    }
}
