import assert from "node:assert/strict";
import { readOrCreateCookie } from "../../src/distribution/cookie.ts";
import { CookieFileError } from "../../src/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weft_cookie_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `text` to `path` with exactly `mode` (the umask may not narrow it). */
async function writeWithMode(path: string, text: string, mode: number): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
}

Deno.test("readOrCreateCookie() creates a missing file with a random cookie and mode 0600", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/.weft.cookie`;
    const cookie = await readOrCreateCookie(path);
    assert.match(cookie, /^[A-Z]{20}$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(path), cookie);
    assert.equal(await readOrCreateCookie(path), cookie, "the second node reads the same cookie");
    const other = await readOrCreateCookie(`${dir}/other.cookie`);
    assert.notEqual(other, cookie);
  });
});

Deno.test("readOrCreateCookie() reads an owner-only file, whitespace trimmed", async () => {
  await withDir(async (dir) => {
    for (const mode of [0o600, 0o400, 0o700]) {
      const path = `${dir}/c${mode.toString(8)}`;
      await writeWithMode(path, "  secret cookie\n", mode);
      assert.equal(await readOrCreateCookie(path), "secret cookie");
    }
  });
});

Deno.test("readOrCreateCookie() refuses a file its group or others may use, naming the fix", async () => {
  await withDir(async (dir) => {
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o666]) {
      const path = `${dir}/c${mode.toString(8)}`;
      await writeWithMode(path, "secret", mode);
      const shown = mode.toString(8).padStart(4, "0");
      await assert.rejects(() => readOrCreateCookie(path), (e: unknown) => {
        assert.ok(e instanceof CookieFileError);
        assert.equal(e.path, path);
        assert.equal(
          e.message,
          `Cannot use cookie file: ${path} is accessible by others than its owner ` +
            `(mode ${shown}): run chmod 600 ${path}`,
        );
        assert.ok(!e.message.includes("secret"), "the cookie never appears in the message");
        return true;
      });
      assert.equal(await Deno.readTextFile(path), "secret", "the file is left as it was");
    }
  });
});

Deno.test("readOrCreateCookie() refuses an empty file and a directory", async () => {
  await withDir(async (dir) => {
    const empty = `${dir}/empty`;
    await writeWithMode(empty, " \n", 0o600);
    await assert.rejects(() => readOrCreateCookie(empty), {
      name: "CookieFileError",
      message:
        `Cannot use cookie file: ${empty} is empty: write a cookie into it, or remove it to have one made`,
    });
    const sub = `${dir}/sub`;
    await Deno.mkdir(sub, { mode: 0o700 });
    await assert.rejects(() => readOrCreateCookie(sub), {
      name: "CookieFileError",
      message: `Cannot use cookie file: ${sub} is not a file`,
    });
  });
});

Deno.test("readOrCreateCookie() reports a file it may not create", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      () => readOrCreateCookie(`${dir}/missing/dir/cookie`),
      Deno.errors.NotFound,
    );
  });
});
