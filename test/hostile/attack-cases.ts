/**
 * Attack cases (support/attack-run.ts) used by more than one quota-corpus test file: bus
 * amplification (attacked alone, and next to a healthy component) and the reply flood (to a UDP
 * and to a TCP peer).
 */
import * as assert from 'uvu/assert';
import { type AttackCase, sendAndWait } from '../support/attack-run.js';

export const busAmplify: AttackCase = {
  module: 'attack-bus-amplify',
  // Each callback sends two messages, under every per-callback quota. Once the bus share of the
  // queue is full, the bus refuses them (dropped at the receiver) and each refusal is a
  // `busBacklog` hit of the sender: past probation's limit the engine rolls it back by itself.
  rollback: 'engine',
  grows: ['quotaHits.busBacklog'],
  trigger: async ({ client }) => {
    assert.is(await client.request('ATTACK kv', (r) => r === 'ATTACKING'), 'ATTACKING');
  },
};

/** One violation per request (replies past the per-callback quota), repeated past probation's limit. */
export const replyFlood = (send: () => void): AttackCase => ({
  module: 'attack-reply-flood',
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.sends', 'quotaHits.sendBytes'],
  // The tally reply is over the quota too, so the request's end is read from status.
  trigger: (ctx) => sendAndWait(ctx, send),
});
