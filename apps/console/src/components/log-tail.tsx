import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api.js";
import { describe } from "./async.js";

interface LogEntry {
  invocationId: string;
  status: string;
  at: string;
  level: string;
  message: string;
}

/** Lines kept on screen; older ones scroll away. */
const keptLines = 500;

/** The function's logs as they are recorded (GET …/logs?follow=1), while "Follow" is on. */
export function LogTail({ api, tenant, fn }: { api: Api; tenant: string; fn: string }) {
  const [following, setFollowing] = useState(false);
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [note, setNote] = useState<string>();
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!following) return;
    const abort = new AbortController();
    setLines([]);
    setNote(undefined);
    api
      .followLogs(tenant, fn, abort.signal, ({ event, data }) => {
        if (event === "log") setLines((old) => [...old, JSON.parse(data) as LogEntry].slice(-keptLines));
        else if (event === "dropped") setNote(`some lines were dropped (${(JSON.parse(data) as { invocations: number }).invocations} invocations): the page read too slowly`);
      })
      .then(
        () => !abort.signal.aborted && setNote("the stream ended"),
        (err: unknown) => !abort.signal.aborted && setNote(describe(err)),
      );
    return () => abort.abort();
  }, [api, tenant, fn, following]);

  useEffect(() => {
    box.current?.scrollTo({ top: box.current.scrollHeight });
  }, [lines]);

  return (
    <section>
      <h2>
        Live logs{" "}
        <button type="button" onClick={() => setFollowing(!following)}>
          {following ? "Stop" : "Follow"}
        </button>
      </h2>
      {note ? <p class="hint">{note}</p> : null}
      {following ? (
        <div class="tail" ref={box} data-testid="log-tail">
          {lines.length === 0 ? <p class="hint">Waiting for lines…</p> : null}
          {lines.map((line, i) => (
            <div key={i} class={`level-${line.level}`}>
              <span class="at">{new Date(line.at).toLocaleTimeString()}</span> <code>{line.invocationId}</code> <span>{line.level}</span>{" "}
              <pre>{line.message}</pre>
            </div>
          ))}
        </div>
      ) : null}
    </section>
  );
}
