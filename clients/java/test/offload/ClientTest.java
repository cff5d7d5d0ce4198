package offload;

import static offload.Assert.check;
import static offload.Assert.equal;
import static offload.Assert.raises;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Client: submitting and reading jobs, and the server's errors. */
public class ClientTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    public void submitReturnsTheJobAndGetWithWaitReturnsItFinished() throws Exception {
        String task = Server.newTask("submit");
        Map<String, Object> job = Server.submitter().submit(task, Map.of("n", 1), null, Map.of("priority", 3, "maxAttempts", 2, "uniqueKey", "k1"));
        equal(List.of(job.get("task"), job.get("state"), job.get("input"), job.get("priority"), job.get("maxAttempts")), List.of(task, "queued", Map.of("n", 1L), 3L, 2L));
        equal(Server.submitter().submit(task, 2, null, Map.of("uniqueKey", "k1")).get("id"), job.get("id"), "the unique key returned the queued job");
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, (input, ctx) -> ((Number) ((Map<?, ?>) input).get("n")).intValue() + 1), 1)) {
            Map<String, Object> done = Server.submitter().get((String) job.get("id"), WAIT);
            equal(List.of(done.get("state"), done.get("result"), done.get("attempt")), List.of("succeeded", 2L, 1L));
        }
    }

    @Test
    public void submitWithAnIdempotencyKeyStoresTheJobOnce() {
        String task = Server.newTask("idempotent");
        Map<String, Object> first = Server.submitter().submit(task, Map.of("n", 1), null, Map.of("idempotencyKey", "order-7"));
        Map<String, Object> again = Server.submitter().submit(task, Map.of("n", 1), null, Map.of("idempotencyKey", "order-7"));
        equal(again.get("id"), first.get("id"));
        OffloadException reused = raises(OffloadException.class, () -> Server.submitter().submit(task, Map.of("n", 2), null, Map.of("idempotencyKey", "order-7")));
        equal(List.of(reused.code(), reused.status()), List.of("IDEMPOTENCY_KEY_REUSED", 422));
    }

    @Test
    public void submitWithWaitAnswersAsTheJobStandsWhenTheWaitEnds() {
        String task = Server.newTask("wait");
        equal(Server.submitter().submit(task, null, Duration.ofMillis(200), Map.of()).get("state"), "queued");
    }

    @Test
    public void runReturnsTheResultOrThrowsJobFailed() throws Exception {
        String task = Server.newTask("run", Map.of("maxAttempts", 1));
        Handler handler = (input, ctx) -> {
            if ("bad".equals(input)) throw new Permanent("no good");
            return ((String) input).toUpperCase();
        };
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(task, handler), 1)) {
            equal(Server.submitter().run(task, "abc", WAIT), "ABC");
            JobFailedException failed = raises(JobFailedException.class, () -> Server.submitter().run(task, "bad", WAIT));
            equal(((Map<?, ?>) failed.job().get("error")).get("message"), "no good");
        }
    }

    @Test
    public void finishRecordsManyOutcomesEachWithItsOwnResultAndClaimsTheNextJobs() {
        String task = Server.newTask("finish", Map.of("maxAttempts", 1));
        List<String> ids = new java.util.ArrayList<>();
        for (String input : List.of("a", "b", "c")) ids.add((String) Server.submitter().submit(task, input).get("id"));
        Client worker = new Client(Server.url(), Server.env("OFFLOAD_WORK_TOKEN"));
        List<Map<String, Object>> claimed = worker.claim(List.of(task), "java-finish", 2, 0, 30_000);
        equal(claimed.size(), 2);
        Map<String, Object> complete = new java.util.LinkedHashMap<>();
        complete.put("id", claimed.get(0).get("id"));
        complete.put("outcome", "complete");
        complete.put("leaseToken", claimed.get(0).get("leaseToken"));
        complete.put("result", Map.of("ok", true));
        Map<String, Object> stale = Map.of("id", claimed.get(1).get("id"), "outcome", "complete", "leaseToken", "not-its-token", "result", "late");
        Map<String, Object> answer = worker.finish(List.of(complete, stale), Map.of("tasks", List.of(task), "workerId", "java-finish", "max", 5, "leaseMs", 30_000), null);

        List<?> results = (List<?>) answer.get("results");
        Map<?, ?> first = (Map<?, ?>) results.get(0);
        equal(List.of(first.get("id"), first.get("state")), List.of(claimed.get(0).get("id"), "succeeded"));
        Map<?, ?> lost = (Map<?, ?>) ((Map<?, ?>) results.get(1)).get("error");
        equal(List.of(((Map<?, ?>) results.get(1)).get("id"), lost.get("code"), ((Map<?, ?>) lost.get("details")).get("state")), List.of(claimed.get(1).get("id"), "LEASE_LOST", "running"));
        // The claim rode with the outcomes: the one job left.
        List<?> next = (List<?>) answer.get("jobs");
        equal(next.size(), 1);
        Map<?, ?> third = (Map<?, ?>) next.get(0);
        equal(List.of(third.get("id"), third.get("input")), List.of(ids.get(2), "c"));

        Map<String, Object> done = Server.submitter().get((String) claimed.get(0).get("id"));
        equal(List.of(done.get("state"), done.get("result")), List.of("succeeded", Map.of("ok", true)));
        equal(Server.submitter().get((String) claimed.get(1).get("id")).get("state"), "running", "a stale token changed nothing");

        // Fail and release in one call, no claim.
        Map<String, Object> fail = Map.of("id", third.get("id"), "outcome", "fail", "leaseToken", third.get("leaseToken"), "error", Map.of("message", "no good", "code", "BAD"), "retryable", false);
        Map<String, Object> release = Map.of("id", claimed.get(1).get("id"), "outcome", "release", "leaseToken", claimed.get(1).get("leaseToken"));
        Map<String, Object> again = worker.finish(List.of(fail, release), null, null);
        equal(((List<?>) again.get("results")).stream().map(x -> ((Map<?, ?>) x).get("state")).collect(java.util.stream.Collectors.toList()), List.of("failed", "queued"));
        equal(again.get("jobs"), List.of());
        equal(((Map<?, ?>) Server.submitter().get((String) third.get("id")).get("error")).get("code"), "BAD");

        // Too large as a whole: nothing recorded.
        Map<String, Object> huge = Map.of("id", claimed.get(1).get("id"), "outcome", "complete", "leaseToken", "x", "result", "x".repeat(5 * 1024 * 1024));
        equal(raises(OffloadException.class, () -> worker.finish(List.of(huge), null, null)).code(), "PAYLOAD_TOO_LARGE");
    }

    @Test
    public void serverErrorsCarryTheirCodeStatusAndDetails() {
        OffloadException unknown = raises(OffloadException.class, () -> Server.submitter().submit("java.no.such.task", null));
        equal(List.of(unknown.code(), unknown.status(), unknown.details().get("task")), List.of("UNKNOWN_TASK", 404, "java.no.such.task"));
        equal(raises(OffloadException.class, () -> Server.submitter().submit("elsewhere.task", null)).code(), "FORBIDDEN");
        OffloadException badToken = raises(OffloadException.class, () -> new Client(Server.url(), "ofl_wrong").get("1"));
        equal(List.of(badToken.code(), badToken.status()), List.of("UNAUTHORIZED", 401));
        equal(raises(OffloadException.class, () -> Server.submitter().cancel(
            (String) Server.submitter().submit(Server.newTask("cancel"), null).get("id"))).code(), "FORBIDDEN", "a submit token cannot cancel");
        raises(IllegalArgumentException.class, () -> Server.submitter().get("1; DROP TABLE jobs"));
        raises(IllegalArgumentException.class, () -> new Client("ftp://example.com", null));
    }

    @Test
    public void anUnreachableServerIsServerUnreachable() throws Exception {
        ServerUnreachableException down = raises(ServerUnreachableException.class, () -> new Client("http://127.0.0.1:" + Server.freePort(), null).get("1"));
        equal(down.code(), "SERVER_UNREACHABLE");
        check(down.isTransient(), "worth retrying");
        check(String.valueOf(down.details().get("problem")).contains("ConnectException"), String.valueOf(down.details()));
    }

    @Test
    public void aJobSubmittedAfterAnotherWaitsAndItsHandlerReadsTheResultByName() throws Exception {
        String base = Server.newTask("base");
        String joined = Server.newTask("joined");
        Map<String, Object> first = Server.submitter().submit(base, 4);
        Map<String, Object> waiting = Server.submitter().submit(joined, Map.of("times", 10), null, Map.of("after", Map.of("base", first)));
        equal(List.of(waiting.get("state"), waiting.get("waitingFor")), List.of("waiting", 1L));
        Map<String, Object> seen = new java.util.concurrent.ConcurrentHashMap<>();
        Handler join = (input, ctx) -> {
            seen.put("dependencies", ctx.dependencies());
            seen.put("results", ctx.results());
            return ((Number) ctx.result("base")).longValue() * ((Number) ((Map<?, ?>) input).get("times")).longValue();
        };
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(base, (input, ctx) -> ((Number) input).longValue() + 1, joined, join), 1)) {
            Map<String, Object> done = Server.submitter().get((String) waiting.get("id"), WAIT);
            equal(List.of(done.get("state"), done.get("result")), List.of("succeeded", 50L));
        }
        Map<String, Object> dependency = new java.util.LinkedHashMap<>();
        dependency.put("id", first.get("id"));
        dependency.put("name", "base");
        dependency.put("task", base);
        dependency.put("state", "succeeded");
        dependency.put("result", 5L);
        dependency.put("error", null);
        dependency.put("policy", "cancel");
        equal(seen.get("dependencies"), List.of(dependency));
        equal(seen.get("results"), Map.of("base", 5L));
        OffloadException unknown = raises(OffloadException.class, () -> Server.submitter().submit(joined, null, null, Map.of("after", List.of("999999999"))));
        equal(List.of(unknown.code(), unknown.status()), List.of("UNKNOWN_DEPENDENCY", 404));
    }

    @Test
    public void aFlowWhoseSecondStepReadsTheFirstStepsResultIsReadBack() throws Exception {
        String fetch = Server.newTask("fetch");
        String parse = Server.newTask("parse");
        Handler parser = (input, ctx) -> Map.of("words", ((String) ctx.result("fetch")).split(" ").length, "from", ctx.dependency("fetch").get("id"));
        Map<String, Object> answer;
        try (Server.Running r = new Server.Running(Server.agent(), Map.of(fetch, (input, ctx) -> "hello flow from " + input, parse, parser), 2)) {
            Map<String, Map<String, Object>> steps = new java.util.LinkedHashMap<>();
            steps.put("fetch", Map.of("task", fetch, "input", "java", "maxAttempts", 2));
            steps.put("parse", Map.of("task", parse, "after", List.of("fetch")));
            answer = Server.submitter().flow(steps, WAIT, Map.of("title", "java flow"));
        }
        Map<?, ?> flow = (Map<?, ?>) answer.get("flow");
        equal(List.of(flow.get("kind"), flow.get("title"), flow.get("state"), flow.get("ok")), List.of("flow", "java flow", "finished", true));
        List<?> steps = (List<?>) answer.get("steps");
        Map<?, ?> fetchStep = (Map<?, ?>) steps.get(0);
        Map<?, ?> parseStep = (Map<?, ?>) steps.get(1);
        equal(List.of(fetchStep.get("step"), parseStep.get("step"), parseStep.get("after"), parseStep.get("state")), List.of("fetch", "parse", List.of("fetch"), "succeeded"));
        Map<?, ?> parseJob = (Map<?, ?>) ((List<?>) answer.get("jobs")).get(1);
        equal(parseJob.get("result"), Map.of("words", 4L, "from", fetchStep.get("id")));
        Map<String, Object> read = Server.submitter().getFlow((String) flow.get("id"));
        equal(((List<?>) read.get("steps")).stream().map(x -> ((Map<?, ?>) x).get("state")).collect(java.util.stream.Collectors.toList()), List.of("succeeded", "succeeded"));
        equal(read.get("failures"), List.of());
    }

    @Test
    public void aFlowCanBeWatchedAndCancelledAndACycleIsRefused() {
        String task = Server.newTask("flowcancel");
        Map<String, Map<String, Object>> steps = new java.util.LinkedHashMap<>();
        steps.put("a", Map.of("task", task));
        steps.put("b", Map.of("task", task, "after", List.of("a")));
        Map<String, Object> answer = Server.submitter().flow(steps);
        String id = (String) ((Map<?, ?>) answer.get("flow")).get("id");
        equal(((Map<?, ?>) Server.submitter().getFlow(id, Duration.ofMillis(200)).get("flow")).get("state"), "running", "no agent: the flow as it stands");
        equal(raises(OffloadException.class, () -> Server.submitter().cancelFlow(id)).code(), "FORBIDDEN", "a submit token cannot cancel");
        Map<String, Object> cancelled = Server.admin().cancelFlow(id);
        equal(List.of(cancelled.get("cancelled"), ((Map<?, ?>) cancelled.get("flow")).get("state")), List.of(2L, "finished"));
        Map<String, Map<String, Object>> cycle = Map.of("a", Map.of("task", task, "after", List.of("b")), "b", Map.of("task", task, "after", List.of("a")));
        OffloadException refused = raises(OffloadException.class, () -> Server.submitter().flow(cycle));
        equal(List.of(refused.code(), refused.status()), List.of("INVALID_FLOW", 400));
        equal(raises(OffloadException.class, () -> Server.submitter().getFlow("999999999")).code(), "FLOW_NOT_FOUND");
    }
}
