// An agent in Java: makes thumbnails for Offload until SIGTERM or Ctrl-C.
// OFFLOAD_URL is the server (what `offload start` prints); OFFLOAD_TOKEN a token of scope work.
import java.util.Map;
import offload.Agent;
import offload.Permanent;

public class ThumbnailAgent {
    public static void main(String[] args) throws Exception {
        Agent agent = new Agent(System.getenv().getOrDefault("OFFLOAD_URL", "http://127.0.0.1:7070"), System.getenv("OFFLOAD_TOKEN"));
        agent.run(Map.of("images.thumbnail", (input, ctx) -> {
            Map<?, ?> in = (Map<?, ?>) input;
            long width = ((Number) in.get("width")).longValue();
            if (width <= 0) throw new Permanent("width must be a positive number"); // fails now: no retry will fix it
            ctx.progress(1, 2, "resizing");
            return Map.of("thumbnail", String.valueOf(in.get("image")).replaceAll("\\.[^.]*$", "") + "-" + width + ".png");
        }), 4);
    }
}
