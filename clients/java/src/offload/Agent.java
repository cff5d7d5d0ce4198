package offload;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Works on jobs of its tasks until {@link #stop()}, SIGTERM or Ctrl-C (a shutdown hook).
 *
 * <p>It claims jobs over the HTTP API (long-polling, so the server wakes it when work arrives),
 * runs each handler on a thread of a pool of {@code concurrency}, heartbeats from a thread of its
 * own (so a long computation never loses its lease), and records each outcome: a return value
 * completes the job, an exception fails the attempt (retried by the task's policy),
 * {@link Permanent} fails it for good, {@link RetryLater} gives it back, {@link SuspendTask} pauses
 * the task. Outcomes ready together go to the server in one request ({@code POST /v1/jobs/finish},
 * one transaction) that also claims the next jobs for the slots they free; only while the claimer
 * waits on a long poll, or once stopping, does a worker thread send its outcome itself. On stop it
 * claims no more, lets running jobs finish for the shutdown timeout and releases the rest. When
 * the server cannot be reached it logs and retries with backoff; it never stops on its own. A
 * handler whose job is cancelled, times out or is lost is told through
 * {@link JobContext#isCancelled()} and by an interrupt of its thread.
 */
public final class Agent {
    private static final Logger LOG = Logger.getLogger("offload");
    private static final int MAX_CLAIM = 100;
    private static final int MAX_OUTCOMES = 100;
    /** While handlers run, a claim waits on the server at most this long. */
    private static final long BUSY_POLL_MS = 200;
    private static final long MAX_RETRY_DELAY_MS = 5000;
    private static final long TICK_MS = 100;
    private static final long PROGRESS_EVERY_MS = 200;

    private final Client client;
    private String workerId = defaultWorkerId();
    private Duration lease = Duration.ofSeconds(30);
    private Duration heartbeat;
    private Duration longPoll = Duration.ofSeconds(20);
    private Duration shutdownTimeout = Duration.ofSeconds(10);
    private boolean shutdownHook = true;

    /** Guards active, outbox and polling; notified when a job ends, an outcome is handed over, or the agent stops. */
    private final Object lock = new Object();
    /** The jobs this agent holds: handler running, or its outcome not recorded yet. */
    private final Map<String, JobContext> active = new LinkedHashMap<>();
    /** Outcomes handed to the claimer, to go with its next request, oldest first. */
    private final List<Pending> outbox = new ArrayList<>();
    /** The claimer is waiting on a long-poll claim (then a worker thread sends its outcome itself). */
    private boolean polling;
    private volatile boolean stopping;
    private volatile CountDownLatch stopRequested = new CountDownLatch(1);
    private volatile CountDownLatch finished = new CountDownLatch(0);
    private volatile Thread claimer;
    private volatile OffloadException fatal;
    private volatile boolean progressPending;
    private long nextBeatNanos;
    private long lastProgressNanos;
    private Map<String, Handler> handlers;
    private int concurrency;

    public Agent(String url, String token) {
        this.client = new Client(url, token);
    }

    /** How long a job stays claimed without a heartbeat (default 30 s; at least 1 s). Heartbeats go every third of it. */
    public Agent lease(Duration lease) {
        if (lease.toMillis() < 1000) throw new IllegalArgumentException("the lease must be at least 1 s");
        this.lease = lease;
        return this;
    }

    public Agent heartbeat(Duration every) {
        this.heartbeat = every;
        return this;
    }

    /** How long each claim waits on the server for work (default 20 s). */
    public Agent longPoll(Duration wait) {
        this.longPoll = wait;
        return this;
    }

    /** On stop, how long running jobs may take before they are released (default 10 s). */
    public Agent shutdownTimeout(Duration timeout) {
        this.shutdownTimeout = timeout;
        return this;
    }

    /** Shown on jobs and in GET /v1/workers (default java:HOST:PID). */
    public Agent workerId(String id) {
        this.workerId = id;
        return this;
    }

    /** Whether run() installs a shutdown hook for SIGTERM and Ctrl-C (default true). */
    public Agent shutdownHook(boolean install) {
        this.shutdownHook = install;
        return this;
    }

    public Client client() {
        return client;
    }

    // ---- running ----------------------------------------------------------------------------------

    /**
     * Runs until stopped; {@code handlers} maps task names to handlers. Throws the server's
     * OffloadException if it refuses the agent (a bad token, tasks outside the token's patterns).
     */
    public void run(Map<String, Handler> handlers, int concurrency) throws InterruptedException {
        if (handlers.isEmpty()) throw new IllegalArgumentException("give at least one task and its handler");
        if (concurrency < 1) throw new IllegalArgumentException("concurrency must be at least 1");
        this.handlers = Map.copyOf(handlers);
        this.concurrency = concurrency;
        stopping = false;
        fatal = null;
        stopRequested = new CountDownLatch(1);
        finished = new CountDownLatch(1);
        nextBeatNanos = System.nanoTime() + heartbeatInterval().toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency, daemonThreads("offload-worker"));
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(daemonThreads("offload-heartbeat"));
        Thread hook = shutdownHook ? new Thread(this::stopAndWait, "offload-shutdown") : null;
        if (hook != null) Runtime.getRuntime().addShutdownHook(hook);
        try {
            ticker.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
            claimer = daemonThreads("offload-claimer").newThread(() -> claimLoop(pool));
            claimer.start();
            LOG.info(() -> "agent " + workerId + " working on " + String.join(", ", this.handlers.keySet()) + " at " + client.url() + " (concurrency " + concurrency + ")");
            try {
                stopRequested.await();
            } finally {
                shutDown();
            }
        } finally {
            ticker.shutdownNow();
            pool.shutdown();
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException jvmShuttingDown) {
                    // The hook is what is stopping us.
                }
            }
            finished.countDown();
        }
        if (fatal != null) throw fatal;
    }

    /** Asks run() to return: no more claims; running jobs get the shutdown timeout, the rest are released. */
    public void stop() {
        stopping = true;
        synchronized (lock) {
            // A claim waiting on the server would hold the claimer for up to the long-poll wait. A
            // request recording outcomes is let be: it is short, and the jobs it claims are released.
            Thread c = claimer;
            if (polling && c != null) c.interrupt();
            lock.notifyAll();
        }
        stopRequested.countDown();
    }

    private void stopAndWait() {
        stop();
        try {
            finished.await(shutdownTimeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void shutDown() throws InterruptedException {
        stop();
        Thread c = claimer;
        if (c != null) c.join(35_000);
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        List<JobContext> left = new ArrayList<>();
        for (;;) {
            List<Pending> pending;
            synchronized (lock) {
                while (outbox.isEmpty() && !active.isEmpty() && System.nanoTime() < deadline) {
                    long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                    lock.wait(waitMs);
                }
                pending = takeOutcomes(Integer.MAX_VALUE);
                if (pending.isEmpty()) {
                    // Outcomes handed over are not dropped: they were sent above, or the claimer has them.
                    for (JobContext ctx : active.values()) if (!ctx.handedOver && detach(ctx, "shutdown")) left.add(ctx);
                    break;
                }
            }
            // Outcomes the claimer did not take with it go one by one now (once stopping, workers send their own).
            for (Pending p : pending) {
                send(p.ctx, p.outcome, 3);
                finish(p.ctx);
            }
        }
        for (JobContext ctx : left) send(ctx, Outcome.release(0), 3);
        if (!left.isEmpty()) LOG.warning("shutdown timeout reached; released jobs " + ids(left) + " to the queue");
    }

    // ---- claiming ---------------------------------------------------------------------------------

    /**
     * Claims jobs for free slots. Outcomes handed over meanwhile go with the claim, in one request
     * and one transaction (POST /v1/jobs/finish); with none to send, a claim waits on the server
     * (long poll).
     */
    private void claimLoop(ExecutorService pool) {
        List<String> tasks = new ArrayList<>(handlers.keySet());
        int failures = 0;
        while (!stopping) {
            List<Pending> batch;
            int free;
            boolean busy;
            synchronized (lock) {
                while (outbox.isEmpty() && running() >= concurrency && !stopping) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (stopping) return;
                batch = takeOutcomes(MAX_OUTCOMES);
                busy = running() > 0;
                free = Math.max(0, concurrency - running());
                // Only a claim held for long (no handler running) makes a worker thread send its outcome itself.
                polling = batch.isEmpty() && !busy;
            }
            if (!batch.isEmpty()) {
                List<Map<String, Object>> claimed;
                try {
                    claimed = deliver(batch, tasks, free);
                } catch (OffloadException e) {
                    // Transient, and nothing was recorded: the outcomes go again, first.
                    synchronized (lock) {
                        outbox.addAll(0, batch);
                    }
                    if (stopping) return;
                    failures++;
                    long delay = retryDelay(failures);
                    LOG.severe("could not record job outcomes (" + e.getMessage() + "); retrying in " + delay + " ms");
                    if (!pauseClaimer(delay, false)) return;
                    continue;
                }
                failures = 0;
                for (Map<String, Object> job : claimed) start(job, pool);
                continue;
            }
            long started = System.nanoTime();
            List<Map<String, Object>> claimed;
            try {
                // While handlers run, a short wait: the outcomes they hand over meanwhile go with the next request.
                long waitMs = busy ? Math.min(longPoll.toMillis(), BUSY_POLL_MS) : longPoll.toMillis();
                claimed = client.claim(tasks, workerId, Math.min(free, MAX_CLAIM), waitMs, lease.toMillis());
            } catch (OffloadException e) {
                if (stopping) return;
                if ("WORKER_STOPPING".equals(e.code())) {
                    // An operator asked this agent to stop (POST /v1/workers/ID/stop): finish what it holds, then return.
                    LOG.info("an operator asked agent " + workerId + " to stop; finishing the jobs it holds");
                    stop();
                    return;
                }
                if (!e.isTransient()) {
                    LOG.severe("the server refused the agent: " + e.getMessage());
                    fatal = e;
                    stop();
                    return;
                }
                failures++;
                long delay = retryDelay(failures);
                LOG.severe("could not claim jobs (" + e.getMessage() + "); retrying in " + delay + " ms");
                if (!pauseClaimer(delay, false)) return;
                continue;
            } finally {
                synchronized (lock) {
                    polling = false;
                }
                // stop() interrupts only while polling: whatever it meant is over (stopping says the rest).
                Thread.interrupted();
            }
            failures = 0;
            for (Map<String, Object> job : claimed) start(job, pool);
            // A claim answered empty at once was not held (the server is stopping): do not spin.
            if (claimed.isEmpty() && System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(Math.min(100, BUSY_POLL_MS / 2)) && !pauseClaimer(1000, true)) return;
        }
    }

    /**
     * Sends outcomes with a claim for the free slots; the claimed jobs. Throws a transient
     * OffloadException when nothing was recorded; refused as a whole otherwise (too large
     * together…), the outcomes go one by one, each with its own fallback.
     */
    private List<Map<String, Object>> deliver(List<Pending> batch, List<String> tasks, int free) {
        List<Map<String, Object>> outcomes = new ArrayList<>(batch.size());
        for (Pending p : batch) outcomes.add(p.outcome.body(p.ctx.id(), p.ctx.leaseToken()));
        Map<String, Object> claim = null;
        if (free > 0) {
            claim = new LinkedHashMap<>();
            claim.put("tasks", tasks);
            claim.put("workerId", workerId);
            claim.put("max", Math.min(free, MAX_CLAIM));
            claim.put("waitMs", 0);
            claim.put("leaseMs", lease.toMillis());
        }
        Map<String, Object> answer;
        try {
            answer = client.finish(outcomes, claim, null);
        } catch (OffloadException e) {
            if (e.isTransient()) throw e;
            for (Pending p : batch) {
                send(p.ctx, p.outcome, 0);
                finish(p.ctx);
            }
            return List.of();
        }
        List<?> results = answer.get("results") instanceof List ? (List<?>) answer.get("results") : List.of();
        for (int i = 0; i < batch.size(); i++) {
            JobContext ctx = batch.get(i).ctx;
            Object result = i < results.size() ? results.get(i) : null;
            Object error = result instanceof Map ? ((Map<?, ?>) result).get("error") : null;
            if (error instanceof Map) {
                Map<?, ?> e = (Map<?, ?>) error;
                Object code = e.get("code");
                if ("LEASE_LOST".equals(code) || "JOB_NOT_FOUND".equals(code)) {
                    Object details = e.get("details");
                    Object state = details instanceof Map && ((Map<?, ?>) details).get("state") != null ? ((Map<?, ?>) details).get("state") : "gone";
                    LOG.warning("job " + ctx.id() + " (" + ctx.task() + "): lease lost before its outcome was recorded (" + state + "); it is dropped");
                } else {
                    LOG.severe("job " + ctx.id() + " (" + ctx.task() + "): the server refused its outcome: " + code + ": " + e.get("message"));
                }
            }
            finish(ctx);
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> jobs = answer.get("jobs") instanceof List ? (List<Map<String, Object>>) answer.get("jobs") : List.of();
        return jobs;
    }

    /** Up to {@code max} outcomes from the front of the outbox (under lock). */
    private List<Pending> takeOutcomes(int max) {
        List<Pending> taken = new ArrayList<>(outbox.subList(0, Math.min(max, outbox.size())));
        outbox.subList(0, taken.size()).clear();
        return taken;
    }

    /** Jobs that take a worker thread (under lock): one whose outcome was handed to the claimer does not. */
    private int running() {
        int n = 0;
        for (JobContext ctx : active.values()) if (!ctx.handedOver) n++;
        return n;
    }

    /** The claimer's pause: false when the agent is stopping; with {@code forOutcomes}, cut short by an outcome handed over. */
    private boolean pauseClaimer(long ms, boolean forOutcomes) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        synchronized (lock) {
            while (!stopping && !(forOutcomes && !outbox.isEmpty())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return true;
                try {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return !stopping;
        }
    }

    private void start(Map<String, Object> job, ExecutorService pool) {
        JobContext ctx = new JobContext(job, this::progressReported);
        synchronized (lock) {
            active.put(ctx.id(), ctx);
        }
        if (stopping) {
            detach(ctx, "shutdown");
            send(ctx, Outcome.release(0), 3);
            finish(ctx);
            return;
        }
        pool.execute(() -> work(ctx));
    }

    // ---- running handlers -------------------------------------------------------------------------

    private void work(JobContext ctx) {
        boolean handedOver = false;
        try {
            ctx.handlerThread(Thread.currentThread());
            Outcome outcome = outcomeOf(ctx);
            ctx.handlerThread(null);
            if (ctx.claimOutcome()) {
                // After any heartbeat in flight, so the last progress lands before the outcome.
                synchronized (ctx.wire) {
                    flushProgress(ctx);
                }
                synchronized (lock) {
                    // The claimer takes it with its next request, unless it is waiting on a long poll or the agent stops.
                    handedOver = !polling && !stopping;
                    if (handedOver) {
                        ctx.handedOver = true;
                        outbox.add(new Pending(ctx, outcome));
                        lock.notifyAll();
                    }
                }
                if (!handedOver) send(ctx, outcome, 0);
            } else if (outcome.call.equals("complete")) {
                LOG.warning("job " + ctx.id() + " (" + ctx.task() + "): " + reasonText(ctx.reason()) + "; its result is dropped");
            }
        } finally {
            Thread.interrupted();
            // A job handed over stays active (its lease kept) until the claimer has its outcome recorded.
            if (!handedOver) finish(ctx);
        }
    }

    private void finish(JobContext ctx) {
        synchronized (lock) {
            if (active.get(ctx.id()) == ctx) active.remove(ctx.id());
            lock.notifyAll();
        }
    }

    private Outcome outcomeOf(JobContext ctx) {
        Object result;
        try {
            result = handlers.get(ctx.task()).handle(ctx.job().get("input"), ctx);
        } catch (RetryLater e) {
            return Outcome.release(e.delay().toMillis());
        } catch (SuspendTask e) {
            try {
                client.suspendTask(ctx.task(), e.delay().toMillis());
            } catch (OffloadException err) {
                LOG.severe("could not suspend task " + ctx.task() + ": " + err.getMessage());
            }
            return Outcome.release(0);
        } catch (Permanent e) {
            return Outcome.fail(errorBody(e.getCause() != null ? e.getCause() : e), false);
        } catch (Throwable e) { // a handler's Error must not take the worker thread with it
            return Outcome.fail(errorBody(e), null);
        }
        try {
            Json.write(result);
        } catch (Json.JsonException e) {
            return Outcome.fail(Map.of("message", "the handler's result cannot be sent as JSON: " + e.getMessage(), "code", "INVALID_RESULT"), false);
        }
        return Outcome.complete(result);
    }

    /** Records an outcome, retrying while the server is unreachable (a few tries once stopping, or {@code tries} when given). */
    private void send(JobContext ctx, Outcome outcome, int tries) {
        for (int attempt = 1; ; attempt++) {
            try {
                outcome.sendWith(client, ctx.id(), ctx.leaseToken());
                return;
            } catch (OffloadException e) {
                if (!e.isTransient()) {
                    if ("PAYLOAD_TOO_LARGE".equals(e.code()) && outcome.call.equals("complete")) {
                        outcome = Outcome.fail(Map.of("message", "the handler's result is larger than the server accepts", "code", "PAYLOAD_TOO_LARGE"), false);
                        continue;
                    }
                    if ("LEASE_LOST".equals(e.code()) || "JOB_NOT_FOUND".equals(e.code())) {
                        LOG.warning("job " + ctx.id() + " (" + ctx.task() + "): lease lost before its outcome was recorded (" + e.details().getOrDefault("state", "gone") + "); it is dropped");
                    } else {
                        LOG.severe("job " + ctx.id() + " (" + ctx.task() + "): the server refused its outcome: " + e.getMessage());
                    }
                    return;
                }
                int limit = tries > 0 ? tries : stopping ? 5 : Integer.MAX_VALUE;
                if (attempt >= limit) {
                    LOG.severe("job " + ctx.id() + " (" + ctx.task() + "): could not record its outcome (" + e.getMessage() + "); it runs again after its lease");
                    return;
                }
                long delay = retryDelay(attempt);
                LOG.severe("job " + ctx.id() + " (" + ctx.task() + "): could not record its outcome (" + e.getMessage() + "); retrying in " + delay + " ms");
                if (!pause(delay)) return;
            }
        }
    }

    // ---- heartbeats, progress, timeouts --------------------------------------------------------

    private void progressReported() {
        progressPending = true;
    }

    /** Every TICK_MS: times out jobs past their timeoutMs, sends progress (at most every 200 ms), heartbeats when due. */
    private void tick() {
        try {
            long now = System.nanoTime();
            boolean beat = now >= nextBeatNanos;
            if (beat) nextBeatNanos = now + heartbeatInterval().toNanos();
            boolean sendProgress = progressPending && now - lastProgressNanos >= TimeUnit.MILLISECONDS.toNanos(PROGRESS_EVERY_MS);
            if (sendProgress) {
                progressPending = false;
                lastProgressNanos = now;
            }
            if (!beat && !sendProgress && !anyTimeout()) return;
            List<JobContext> running;
            synchronized (lock) {
                running = new ArrayList<>(active.values());
            }
            // Jobs whose outcome is still being sent keep their lease too (the server may be down for a while).
            for (JobContext ctx : running) {
                if (ctx.isRunning() && ctx.isPastTimeout(now)) timeOut(ctx);
                else if (ctx.isHeld() && (beat || (sendProgress && ctx.hasProgress()))) beat(ctx, beat);
            }
        } catch (RuntimeException e) {
            // The ticker must survive anything, or leases would silently expire.
            LOG.log(Level.SEVERE, "heartbeat round failed", e);
        }
    }

    private boolean anyTimeout() {
        synchronized (lock) {
            return active.values().stream().anyMatch(c -> c.job().get("timeoutMs") instanceof Number);
        }
    }

    private void beat(JobContext ctx, boolean extend) {
        try {
            synchronized (ctx.wire) {
                client.heartbeat(ctx.id(), ctx.leaseToken(), ctx.takeProgress(), lease.toMillis());
            }
        } catch (OffloadException e) {
            if ("LEASE_LOST".equals(e.code()) || "JOB_NOT_FOUND".equals(e.code())) {
                // An outcome just recorded ends the lease too: nothing to tell then.
                if (!ctx.isRunning()) return;
                detach(ctx, "cancelled".equals(e.details().get("state")) ? "cancelled" : "lease-lost");
                LOG.warning("job " + ctx.id() + " (" + ctx.task() + "): " + reasonText(ctx.reason()) + "; its handler should stop");
            } else if (extend) {
                LOG.severe("heartbeat for job " + ctx.id() + " failed (" + e.getMessage() + "); its lease expires if the server stays unreachable");
            }
        }
    }

    private void flushProgress(JobContext ctx) {
        Map<String, Object> progress = ctx.takeProgress();
        if (progress == null) return;
        try {
            client.heartbeat(ctx.id(), ctx.leaseToken(), progress, lease.toMillis());
        } catch (OffloadException ignored) {
            // The outcome matters more; sending it reports any trouble.
        }
    }

    private void timeOut(JobContext ctx) {
        if (!detach(ctx, "timeout")) return;
        Object ms = ctx.job().get("timeoutMs");
        LOG.warning("job " + ctx.id() + " (" + ctx.task() + ") timed out after " + ms + " ms; recording the failure");
        Map<String, Object> error = Map.of(
            "message", "Job " + ctx.id() + " timed out after " + ms + " ms. Make the handler faster, check ctx.isCancelled(), or raise the task's timeoutMs.",
            "code", "JOB_TIMEOUT");
        send(ctx, Outcome.fail(error, null), 3);
    }

    /** Lets go of a job: the handler is told (flag and interrupt); nothing more is sent for it. True if it was running. */
    private boolean detach(JobContext ctx, String reason) {
        return ctx.detach(reason);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private Duration heartbeatInterval() {
        return heartbeat != null ? heartbeat : lease.dividedBy(3);
    }

    private static long retryDelay(int failures) {
        return Math.min(MAX_RETRY_DELAY_MS, 50L << Math.min(failures, 10));
    }

    /** Sleeps; false when interrupted (the agent is stopping). */
    private static boolean pause(long ms) {
        try {
            Thread.sleep(ms);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static Map<String, Object> errorBody(Throwable e) {
        Map<String, Object> body = new LinkedHashMap<>();
        String message = e.getMessage() == null || e.getMessage().isEmpty() ? e.getClass().getSimpleName() : e.getMessage();
        body.put("message", message.length() > 10_000 ? message.substring(0, 10_000) : message);
        body.put("code", e.getClass().getSimpleName().isEmpty() ? "Error" : e.getClass().getSimpleName());
        StringWriter stack = new StringWriter();
        e.printStackTrace(new PrintWriter(stack));
        String s = stack.toString();
        body.put("stack", s.length() > 10_000 ? s.substring(0, 10_000) : s);
        return body;
    }

    private static String reasonText(String reason) {
        switch (String.valueOf(reason)) {
            case "cancelled": return "the job was cancelled";
            case "lease-lost": return "its lease was lost (another worker has it now)";
            case "timeout": return "it timed out";
            case "shutdown": return "the agent is stopping";
            default: return String.valueOf(reason);
        }
    }

    private static String ids(List<JobContext> jobs) {
        List<String> ids = new ArrayList<>();
        for (JobContext c : jobs) ids.add(c.id());
        return String.join(", ", ids);
    }

    private static String defaultWorkerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
        String id = ("java:" + host + ":" + pid).replaceAll("[^A-Za-z0-9_.:@/-]", "_");
        return id.length() > 200 ? id.substring(0, 200) : id;
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The agent call that records an attempt's outcome. */
    private static final class Outcome {
        final String call;
        final Object result;
        final Map<String, Object> error;
        final Boolean retryable;
        final long delayMs;

        private Outcome(String call, Object result, Map<String, Object> error, Boolean retryable, long delayMs) {
            this.call = call;
            this.result = result;
            this.error = error;
            this.retryable = retryable;
            this.delayMs = delayMs;
        }

        static Outcome complete(Object result) {
            return new Outcome("complete", result, null, null, 0);
        }

        static Outcome fail(Map<String, Object> error, Boolean retryable) {
            return new Outcome("fail", null, error, retryable, 0);
        }

        static Outcome release(long delayMs) {
            return new Outcome("release", null, null, null, delayMs);
        }

        /** As one of the outcomes of POST /v1/jobs/finish. */
        Map<String, Object> body(String id, String leaseToken) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("id", id);
            body.put("outcome", call);
            body.put("leaseToken", leaseToken);
            switch (call) {
                case "complete": body.put("result", result); break;
                case "fail":
                    body.put("error", error);
                    if (retryable != null) body.put("retryable", retryable);
                    break;
                default: if (delayMs > 0) body.put("delayMs", delayMs);
            }
            return body;
        }

        void sendWith(Client client, String id, String leaseToken) {
            switch (call) {
                case "complete": client.complete(id, leaseToken, result); break;
                case "fail": client.fail(id, leaseToken, error, retryable, null); break;
                default: client.release(id, leaseToken, delayMs);
            }
        }
    }

    /** An outcome handed to the claimer, and its job. */
    private static final class Pending {
        final JobContext ctx;
        final Outcome outcome;

        Pending(JobContext ctx, Outcome outcome) {
            this.ctx = ctx;
            this.outcome = outcome;
        }
    }
}
