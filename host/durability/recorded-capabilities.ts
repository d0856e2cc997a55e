/**
 * The granted capabilities as a journaled component's modules see them: what a module reads
 * from the host (the interface table) and the results of what it asks the host to do (route
 * changes) go on the event's tape, so a replay sees the same values and changes no route again.
 * Settings come from the configuration, which is journaled itself.
 */
import type { CapabilityInterface, HostCapabilities } from '../abi/capability-imports.js';
import type { ObservationTape } from './journal/tape.js';

export function recordedCapabilities(granted: HostCapabilities, tape: ObservationTape): HostCapabilities {
  const routes = granted.routes;
  return {
    get interfaces() {
      const table = granted.interfaces;
      if (!table) return null;
      return {
        get size() {
          return tape.number(() => table.size);
        },
        at(index: number): CapabilityInterface | undefined {
          const text = tape.text(() => {
            const found = table.at(index);
            // Every field the imports read (interfaceFlags reads up and rip too): a field left
            // out here reads as its default in the event and in its replay alike.
            return found
              ? JSON.stringify({
                  name: found.name,
                  addr: found.addr,
                  prefixLen: found.prefixLen,
                  active: found.active,
                  ...(found.up !== undefined ? { up: found.up } : {}),
                  ...(found.rip !== undefined ? { rip: found.rip } : {}),
                })
              : undefined;
          });
          return text === undefined ? undefined : (JSON.parse(text) as CapabilityInterface);
        },
      };
    },
    routes: routes
      ? {
          install: (prefix, len, nextHop, dev) => tape.number(() => routes.install(prefix, len, nextHop, dev)),
          withdraw: (prefix, len) => tape.number(() => routes.withdraw(prefix, len)),
        }
      : null,
    settings: granted.settings,
    get stopping() {
      return granted.stopping;
    },
  };
}
