// The application under test: every node runs it (weft --script singleton_app.ts).
// One Worker runs in the cluster under the global name "worker"; when the node running it
// goes down, the others race to start it again and global names let exactly one win.
import { GenServer, global, receive, rpc } from "../../src/mod.ts";

// Shell names, in scope in a --script file.
declare const Node: { self(): string };
declare function monitorNodes(): boolean;

class Worker extends GenServer<null> {
  override init() {
    return { ok: null };
  }
  override handleCall(_request: "where") {
    return { reply: Node.self(), state: null };
  }
}

async function ensureWorker(): Promise<void> {
  if (global.whereis("worker") !== undefined) return;
  // Another node may win the name: then this start fails, and that is fine.
  await GenServer.start(Worker, undefined, { name: { global: "worker" } }).catch(() => {});
}

// The client API, for rpc.call(node, "worker", "where") from anywhere (a test, say).
rpc.registerModule("worker", {
  where: () => GenServer.call<string>({ global: "worker" }, "where"),
});

monitorNodes();
await ensureWorker();
console.log("APP-READY");
for (;;) {
  const msg = await receive<{ type: string }>();
  if (msg.type === "nodedown") await ensureWorker();
}
