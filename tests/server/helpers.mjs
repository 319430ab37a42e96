// Shared by the node tests: builds the test model (through whale_tests), starts `whale serve` on a free
// loopback port, and small HTTP helpers. Paths come from CTest: WHALE_BINARY, WHALE_TESTS, WHALE_TEST_OUT.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";

export const whaleBinary = required("WHALE_BINARY");
export const outDir = process.env.WHALE_TEST_OUT || path.join(path.dirname(whaleBinary), "test-output", "server");
export const modelName = "tiny-r1";
export const reasoningChat = "Hello";  // its greedy reply has reasoning, </think>, then content (tests/server_test_model.h)

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through CTest (ctest -R server_node)`);
  return value;
}

// The model directory is written by whale_tests (tests/server_test_model.cc), once per build tree.
export function testModelDir() {
  const dir = path.join(path.dirname(whaleBinary), "server_test_model");
  if (!existsSync(path.join(dir, "model.safetensors"))) {
    const r = spawnSync(required("WHALE_TESTS"), ["--gtest_filter=ServerTestModel.*"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`building the test model failed:\n${r.stdout}\n${r.stderr}`);
  }
  return dir;
}

// Starts `whale serve` on port 0 and resolves when it prints the address it bound.
export async function startServer(extraArgs = []) {
  const args = ["serve", "--model", testModelDir(), "--port", "0", "--served-model-name", modelName,
                "--threads", "2", ...extraArgs];
  const child = spawn(whaleBinary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`whale serve did not start:\n${output}`)), 30000);
    const onData = (data) => {
      output += data;
      const m = output.match(/on (http:\/\/[\d.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`whale serve exited with ${code}:\n${output}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export function ensureOutDir() {
  mkdirSync(outDir, { recursive: true });
  return outDir;
}

// Reads an SSE stream body into its parsed "data:" events (checking the framing and the final [DONE]).
export function parseSse(text) {
  const events = text.split("\n\n");
  if (events.pop() !== "") throw new Error("stream does not end with a blank line");
  const data = events.filter((e) => !e.startsWith(":"));
  for (const e of data) if (!e.startsWith("data: ")) throw new Error(`not an SSE data event: ${e}`);
  if (data.at(-1) !== "data: [DONE]") throw new Error("stream does not end with data: [DONE]");
  return data.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
}
