// Polling for state that changes after a response (a socket closed, a context disposed), where
// no event tells the test when it happened.

/** Polls until `condition` holds; gives up (failing the test) after a generous bound. */
export function waitFor(condition: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not reached'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}
