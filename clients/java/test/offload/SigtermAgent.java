package offload;

import java.util.Map;

/** For the SIGTERM test (test/clients/java.test.ts): a job is running when the signal comes. */
public final class SigtermAgent {
    private SigtermAgent() {}

    public static void main(String[] args) throws Exception {
        new Agent(args[0], args[1]).run(Map.of(args[2], (input, ctx) -> {
            System.out.println("RUNNING");
            System.out.flush();
            Thread.sleep(500); // work in progress when the signal comes
            return "finished after SIGTERM";
        }), 1);
    }
}
