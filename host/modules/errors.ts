/** A module failed a check before it could run. Names the module, the version and what is wrong where. */
export class ModuleRejected extends Error {
  readonly module: string;
  readonly version: string;
  readonly problems: readonly string[];

  constructor(module: string, version: string, problems: readonly string[]) {
    super(`module ${module}@${version} rejected: ${problems.join('; ')}`);
    this.name = 'ModuleRejected';
    this.module = module;
    this.version = version;
    this.problems = problems;
  }
}
