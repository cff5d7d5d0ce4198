package offload;

import static offload.Assert.check;
import static offload.Assert.equal;
import static offload.Assert.eventually;
import static offload.Assert.raises;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;

/** Agent: claiming, running, outcomes (and their batches), progress, cancellation, timeouts, stopping, an unreachable server. */
public class AgentTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static Map<String, Object> finished(Map<String, Object> job) {
        return Server.submitter().get((String) job.get("id"), WAIT);
    }

    @Test
    public void runsJobsInParallelUpToItsConcurrency() throws Exception {
        String task = Server.newTask("parallel");
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch threeRunning = new CountDownLatch(3);
        CountDownLatch go = new CountDownLatch(1);
        Handler handler = (input, ctx) -> {
            most.accumulateAndGet(now.incrementAndGet(), Math::max);
            threeRunning.countDown();
            go.await(10, TimeUnit.SECONDS);
            now.decrementAndGet();
            return ((Number) input).longValue() * 2;
        };
        List<Map<String, Object>> jobs = new java.util.ArrayList<>();
        for (int n = 0; n < 6; n++) jobs.add(Server.submitter().submit(task, n));
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 3)) {
            check(threeRunning.await(10, TimeUnit.SECONDS), "three jobs run at once");
            go.countDown();
            for (int n = 0; n < 6; n++) equal(finished(jobs.get(n)).get("result"), (long) n * 2);
        }
        equal(most.get(), 3);
    }

    @Test
    public void outcomesGoInBatchesWithTheClaimForTheSlotsTheyFree() throws Exception {
        String task = Server.newTask("batched");
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Handler handler = (input, ctx) -> {
            most.accumulateAndGet(now.incrementAndGet(), Math::max);
            now.decrementAndGet();
            return Map.of("tripled", ((Number) input).longValue() * 3);
        };
        List<Map<String, Object>> jobs = new java.util.ArrayList<>();
        for (int n = 0; n < 40; n++) jobs.add(Server.submitter().submit(task, n));
        // Each POST /v1/jobs/finish held 50 ms on its way: outcomes ready meanwhile go with the next one.
        try (Server.Proxy proxy = new Server.Proxy(50);
             Server.Running r = new Server.Running(Server.agent(proxy.url()), Map.of(task, handler), 8)) {
            for (int n = 0; n < 40; n++) {
                Map<String, Object> done = finished(jobs.get(n));
                equal(List.of(done.get("state"), done.get("result")), List.of("succeeded", Map.of("tripled", (long) n * 3)), "job " + n);
            }
            // What reached the server: each outcome once, nearly all in batches, each with a claim for at least as many jobs.
            java.util.Set<Object> batched = new java.util.HashSet<>();
            int largest = 0;
            for (Map<String, Object> finish : proxy.finishes) {
                List<?> outcomes = (List<?>) finish.get("outcomes");
                for (Object o : outcomes) {
                    Map<?, ?> outcome = (Map<?, ?>) o;
                    equal(outcome.get("outcome"), "complete");
                    check(batched.add(outcome.get("id")), "job " + outcome.get("id") + " is sent once");
                }
                largest = Math.max(largest, outcomes.size());
                Map<?, ?> claim = (Map<?, ?>) finish.get("claim");
                check(claim != null, "a claim rides with the outcomes: " + finish);
                long max = ((Number) claim.get("max")).longValue();
                check(max >= outcomes.size() && max <= 8, "a job whose handler returned frees its slot: " + finish);
                equal(claim.get("waitMs"), 0L);
            }
            long oneByOne = proxy.count("POST /v1/jobs/[0-9]+/complete");
            equal(batched.size() + oneByOne, 40L, "every outcome sent once (" + batched.size() + " batched, " + oneByOne + " alone)");
            // Alone only while the claimer waits on a long poll: when the queue has run dry, with a slot free.
            check(oneByOne <= 7, oneByOne + " outcomes sent alone");
            check(largest >= 2, "outcomes were batched: at most " + largest + " in one request");
            check(proxy.finishes.size() < 40 - oneByOne, proxy.finishes.size() + " requests for " + batched.size() + " outcomes");
        }
        check(most.get() <= 8, "at most 8 handlers at once, not " + most.get());
    }

    @Test
    public void aStaleOutcomeInABatchIsDroppedWithAWarningAndTheOthersAreRecorded() throws Exception {
        String task = Server.newTask("stale");
        CountDownLatch bothDone = new CountDownLatch(2);
        Handler handler = (input, ctx) -> {
            if ("cancel me".equals(input)) Server.admin().cancel(ctx.id()); // its lease token is stale now
            bothDone.countDown();
            bothDone.await(10, TimeUnit.SECONDS);
            return "done " + input;
        };
        Map<String, Object> cancelled = Server.submitter().submit(task, "cancel me");
        Map<String, Object> kept = Server.submitter().submit(task, "keep me");
        // Both jobs are claimed at once and return together; no heartbeat (every 10 s) tells of the
        // cancellation first, and a batch held 100 ms on its way leaves the claimer no time for a long poll.
        try (Server.Logs logs = new Server.Logs();
             Server.Proxy proxy = new Server.Proxy(100);
             Server.Running r = new Server.Running(Server.agent(proxy.url()).lease(Duration.ofSeconds(30)), Map.of(task, handler), 2)) {
            Map<String, Object> done = finished(kept);
            equal(List.of(done.get("state"), done.get("result")), List.of("succeeded", "done keep me"));
            eventually(() -> logs.count("job " + cancelled.get("id") + " (" + task + "): lease lost before its outcome was recorded (cancelled); it is dropped", Level.WARNING) == 1, "the agent warned");
            equal(proxy.count("POST /v1/jobs/[0-9]+/(complete|fail|release)"), 0L, "both outcomes went by POST /v1/jobs/finish");
        }
        Map<String, Object> gone = Server.submitter().get((String) cancelled.get("id"));
        equal(List.of(gone.get("state"), String.valueOf(gone.get("result"))), List.of("cancelled", "null"));
    }

    @Test
    public void outcomesABatchCouldNotDeliverGoAgain() throws Exception {
        String task = Server.newTask("redeliver");
        List<Map<String, Object>> jobs = new java.util.ArrayList<>();
        for (int n = 0; n < 6; n++) jobs.add(Server.submitter().submit(task, n));
        try (Server.Logs logs = new Server.Logs(); Server.Proxy proxy = new Server.Proxy(0)) {
            proxy.unavailableFinishes.set(2); // the first two batches find the server unavailable: nothing recorded
            try (Server.Running r = new Server.Running(Server.agent(proxy.url()).lease(Duration.ofSeconds(30)), Map.of(task, (input, ctx) -> "ok " + input), 3)) {
                for (int n = 0; n < 6; n++) equal(finished(jobs.get(n)).get("result"), "ok " + n, "job " + n);
            }
            equal(logs.count("could not record job outcomes", Level.SEVERE), 2L, "the agent said why it waited");
        }
    }

    @Test
    public void stopSendsTheOutcomesStillWaitingToGo() throws Exception {
        String task = Server.newTask("outbox");
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch allRunning = new CountDownLatch(4);
        Handler handler = (input, ctx) -> {
            allRunning.countDown();
            go.await(10, TimeUnit.SECONDS);
            return "finished " + input;
        };
        List<Map<String, Object>> jobs = new java.util.ArrayList<>();
        for (int n = 0; n < 4; n++) jobs.add(Server.submitter().submit(task, n));
        // Each batch takes 300 ms on its way: outcomes ready meanwhile still wait in the agent when it is told to stop.
        Server.Proxy proxy = new Server.Proxy(300);
        Server.Running r = new Server.Running(Server.agent(proxy.url()).lease(Duration.ofSeconds(30)).shutdownTimeout(WAIT), Map.of(task, handler), 4);
        try {
            check(allRunning.await(10, TimeUnit.SECONDS), "four jobs run");
            go.countDown();
            eventually(() -> !proxy.finishes.isEmpty(), "a batch is on its way");
            r.agent.stop();
            check(r.join(15_000), "run() returned");
            for (int n = 0; n < 4; n++) {
                Map<String, Object> done = Server.submitter().get((String) jobs.get(n).get("id"));
                equal(List.of(done.get("state"), done.get("result")), List.of("succeeded", "finished " + n), "job " + n);
            }
            long batched = proxy.finishes.stream().mapToLong(f -> ((List<?>) f.get("outcomes")).size()).sum();
            equal(batched + proxy.count("POST /v1/jobs/[0-9]+/complete"), 4L, "each outcome sent once, in the batch or alone");
        } finally {
            r.close();
            proxy.close();
        }
    }

    @Test
    public void handlersSeeTheJobAndReportProgress() throws Exception {
        String task = Server.newTask("progress");
        CountDownLatch finish = new CountDownLatch(1);
        AtomicReference<String> seen = new AtomicReference<>();
        Map<String, Object> job = Server.submitter().submit(task, Map.of("x", 1));
        Handler handler = (input, ctx) -> {
            seen.set(ctx.id() + " " + ctx.task() + " " + ctx.attempt());
            ctx.progress(1, 4, "a quarter");
            finish.await(10, TimeUnit.SECONDS);
            return "ok";
        };
        try (Server.Running r = new Server.Running(Server.agent().workerId("java-progress"), Map.of(task, handler), 1)) {
            eventually(() -> Map.of("done", 1L, "total", 4L, "message", "a quarter").equals(Server.submitter().get((String) job.get("id")).get("progress")), "the progress is on the job");
            finish.countDown();
            Map<String, Object> done = finished(job);
            equal(List.of(seen.get(), done.get("workerId")), List.of(job.get("id") + " " + task + " 1", "java-progress"));
        }
    }

    @Test
    public void anExceptionFailsTheAttemptAndTheTaskPolicyRetriesIt() throws Exception {
        String task = Server.newTask("flaky", Map.of("maxAttempts", 2, "backoff", Map.of("type", "fixed", "delayMs", 0)));
        Handler handler = (input, ctx) -> ctx.attempt() == 1 ? 1 / (ctx.attempt() - 1) : "second time lucky";
        Map<String, Object> job = Server.submitter().submit(task, null);
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            Map<String, Object> done = finished(job);
            equal(List.of(done.get("state"), done.get("result"), done.get("attempt")), List.of("succeeded", "second time lucky", 2L));
            Map<?, ?> error = (Map<?, ?>) ((List<?>) done.get("errors")).get(0);
            equal(List.of(error.get("message"), error.get("code")), List.of("/ by zero", "ArithmeticException"));
            check(String.valueOf(error.get("stack")).contains("at offload.AgentTest"), "the stack is recorded");
        }
    }

    @Test
    public void permanentFailsAtOnceAndRetryLaterDoesNotCountTheAttempt() throws Exception {
        String task = Server.newTask("outcomes", Map.of("maxAttempts", 5));
        AtomicInteger laterCalls = new AtomicInteger();
        Handler handler = (input, ctx) -> {
            if ("permanent".equals(input)) throw new Permanent("the image is corrupt");
            if (laterCalls.incrementAndGet() == 1) throw new RetryLater(Duration.ofMillis(100));
            return "later";
        };
        Map<String, Object> permanent = Server.submitter().submit(task, "permanent");
        Map<String, Object> later = Server.submitter().submit(task, "later");
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            Map<String, Object> failed = finished(permanent);
            equal(List.of(failed.get("state"), failed.get("attempt"), ((Map<?, ?>) failed.get("error")).get("message")), List.of("failed", 1L, "the image is corrupt"));
            Map<String, Object> done = finished(later);
            equal(List.of(done.get("state"), done.get("attempt"), laterCalls.get()), List.of("succeeded", 1L, 2));
        }
    }

    @Test
    public void suspendTaskPausesTheWholeTask() throws Exception {
        String task = Server.newTask("suspend");
        Map<String, Object> job = Server.submitter().submit(task, null);
        AtomicInteger calls = new AtomicInteger();
        Handler handler = (input, ctx) -> {
            calls.incrementAndGet();
            throw new SuspendTask(Duration.ofMinutes(1));
        };
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            eventually(() -> calls.get() == 1 && "queued".equals(Server.submitter().get((String) job.get("id")).get("state")), "the job is back in the queue");
            equal(Server.admin().claim(List.of(task), null, 1, 0, 30_000), List.of(), "nothing of the task is claimable while it is suspended");
        }
        equal(calls.get(), 1);
    }

    @Test
    public void aCancelledJobIsToldByFlagAndInterruptAndItsResultIsDropped() throws Exception {
        String task = Server.newTask("cancel");
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<String> told = new AtomicReference<>();
        Handler handler = (input, ctx) -> {
            started.countDown();
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                told.set(ctx.reason() + " interrupted");
            }
            return "too late";
        };
        Map<String, Object> job = Server.submitter().submit(task, null);
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            check(started.await(10, TimeUnit.SECONDS), "started");
            Server.admin().cancel((String) job.get("id"));
            eventually(() -> told.get() != null, "the handler was told");
        }
        equal(told.get(), "cancelled interrupted");
        Map<String, Object> done = Server.submitter().get((String) job.get("id"));
        equal(List.of(done.get("state"), String.valueOf(done.get("result"))), List.of("cancelled", "null"));
    }

    @Test
    public void aHandlerPastItsTimeoutIsToldAndTheAttemptFailsWithJobTimeout() throws Exception {
        String task = Server.newTask("timeout", Map.of("maxAttempts", 1, "timeoutMs", 300));
        AtomicReference<String> reason = new AtomicReference<>();
        Handler handler = (input, ctx) -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                reason.set(ctx.reason());
            }
            return "too late";
        };
        Map<String, Object> job = Server.submitter().submit(task, null);
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            Map<String, Object> done = finished(job);
            equal(List.of(done.get("state"), ((Map<?, ?>) done.get("error")).get("code")), List.of("failed", "JOB_TIMEOUT"));
            eventually(() -> reason.get() != null, "the handler was told");
        }
        equal(reason.get(), "timeout");
    }

    @Test
    public void stopLetsRunningJobsFinish() throws Exception {
        String task = Server.newTask("finish");
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        Map<String, Object> job = Server.submitter().submit(task, null);
        Server.Running r = new Server.Running(Server.agent().shutdownTimeout(WAIT), Map.of(task, (input, ctx) -> {
            started.countDown();
            finish.await(10, TimeUnit.SECONDS);
            return "finished";
        }), 1);
        check(started.await(10, TimeUnit.SECONDS), "started");
        r.agent.stop();
        finish.countDown();
        check(r.join(10_000), "run() returned");
        equal(Server.submitter().get((String) job.get("id")).get("state"), "succeeded");
    }

    @Test
    public void stopReleasesJobsStillRunningAtTheDeadline() throws Exception {
        String task = Server.newTask("release");
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<String> reason = new AtomicReference<>();
        Map<String, Object> job = Server.submitter().submit(task, null);
        Server.Running r = new Server.Running(Server.agent().lease(Duration.ofSeconds(30)).shutdownTimeout(Duration.ofMillis(200)), Map.of(task, (input, ctx) -> {
            started.countDown();
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                reason.set(ctx.reason());
            }
            return null;
        }), 1);
        check(started.await(10, TimeUnit.SECONDS), "started");
        r.close();
        Map<String, Object> released = Server.submitter().get((String) job.get("id"));
        equal(List.of(released.get("state"), released.get("attempt")), List.of("queued", 0L), "back in the queue at once, the attempt not counted");
        eventually(() -> reason.get() != null, "the handler was told");
        equal(reason.get(), "shutdown");
    }

    @Test
    public void aTokenTheServerRefusesMakesRunThrow() {
        OffloadException refused = raises(OffloadException.class, () -> Server.agent().run(Map.of("elsewhere.task", (input, ctx) -> null), 1));
        equal(refused.code(), "FORBIDDEN");
    }

    @Test
    public void keepsRetryingWhileTheServerIsUnreachable() throws Exception {
        try (Server.Logs logs = new Server.Logs();
             Server.Running r = new Server.Running(Server.agent("http://127.0.0.1:" + Server.freePort()), Map.of("java.patient", (input, ctx) -> null), 1)) {
            eventually(() -> logs.count("could not claim jobs", Level.SEVERE) >= 3, "the agent retried, saying why");
            check(r.thread.isAlive(), "it keeps going");
        }
    }
}
