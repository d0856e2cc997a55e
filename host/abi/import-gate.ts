// The port through which the import object asks the component's quotas before a call copies anything.
/**
 * Admission of an import call before the host reads the module's memory for it: the import
 * quotas (host/component/quotas.ts). Asked with lengths only, so a refused call costs no copy.
 */
export interface ImportGate {
  /** A send or reply of `bytes` (route changes count as sends): false answers HostResult.quotaExceeded. */
  send(bytes: number): boolean;
  /** A log line of `bytes`: false drops it unread. */
  log(bytes: number): boolean;
  /** `bytes` more of hs.output: how many of them to keep. */
  output(bytes: number): number;
}
