export async function simFlows(_options: { stateFile: string; network: string | undefined; output: 'text' | 'json' }): Promise<string> {
  throw new Error('not yet');
}
