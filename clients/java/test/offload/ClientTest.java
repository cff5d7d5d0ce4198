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
}
