/**
 * How the demo acts talk to the person watching: bold step headers, dim notes (plain text when
 * the output is not a terminal), and waiting for what the daemon does with a deadline.
 */
export const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
export const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

export function step(n: number, text: string): void {
  console.log(`\n${bold(`[${n}]`)} ${text}`);
}

/** Polls `check` every 10 ms until it gives a truthy value; errors count as "not yet". */
export async function until<T>(check: () => Promise<T | undefined | false>, what: string, logFile: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what} (see ${logFile})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
