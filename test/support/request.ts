// Sends one request line into a Component's FIFO queue (no sockets) and resolves with its reply:
// for tests that drive a component in process.
import type { Component } from '../../host/component/component.js';

export function requestThrough(component: Component, line: string): Promise<string> {
  return new Promise((resolve) => {
    component.enqueue({
      kind: 'message',
      channel: 0,
      peer: 'test',
      payload: Buffer.from(line),
      replyTo: {
        reply: (bytes) => {
          resolve(bytes.toString());
          return 0;
        },
      },
    });
  });
}
